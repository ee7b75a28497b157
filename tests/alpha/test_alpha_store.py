"""Alpha Parquet store: round trip, layout, resume metadata, atomic writes."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lasps.alpha import store
from lasps.alpha.conventions import DEFAULT, Conventions
from lasps.data.panel import Panel
from lasps.errors import StoreError

from .synthetic_panel import make_panel


@pytest.fixture
def panel() -> Panel:
    return make_panel(T=40, N=7, seed=2)


def values_for(panel: Panel) -> np.ndarray:
    v = np.random.default_rng(0).normal(size=panel.shape)
    v[:5] = np.nan
    v[10, 3] = np.nan
    return v


def test_round_trip_and_layout(tmp_path: Path, panel: Panel) -> None:
    v = values_for(panel)
    meta = store.expected_metadata("alpha_001", "rank(close)", DEFAULT, panel)
    path = store.write_alpha(tmp_path, "alpha_001", v, panel, meta)
    assert path == tmp_path / "alphas" / "alpha_001.parquet"
    table = pq.read_table(path)
    assert table.schema.field("date").type == pa.date32()
    assert table.schema.field("code").type == pa.string()
    assert table.schema.field("value").type == pa.float64()
    assert table.num_rows == int(np.isfinite(v).sum())  # NaN cells are not written
    rg = pq.ParquetFile(path).metadata.row_group(0)
    assert [rg.column(i).compression for i in range(2)] == ["LZ4", "LZ4"]  # date, code: format 3
    assert not table.schema.field("value").nullable  # REQUIRED columns (format 3)
    frame = table.to_pandas()
    assert frame["code"].iloc[0] == panel.codes[0]
    assert list(frame.columns) == ["date", "code", "value"]
    assert (np.diff(frame["date"].map(lambda d: d.toordinal()).to_numpy()) >= 0).all()
    back = store.read_alpha(tmp_path, "alpha_001", panel)
    np.testing.assert_array_equal(back, v)
    assert store.read_metadata(path) == meta


def test_read_aligns_to_another_panel(tmp_path: Path, panel: Panel) -> None:
    v = values_for(panel)
    store.write_alpha(tmp_path, "x", v, panel, {"name": "x"})
    other = Panel(dates=panel.dates[8:20], codes=np.array([*panel.codes[::-1][:4], "999999"], dtype=object),
                  fields={})
    back = store.read_alpha(tmp_path, "x", other)
    np.testing.assert_array_equal(back[:, :4], v[8:20, ::-1][:, :4])
    assert np.isnan(back[:, 4]).all()
    day = store.read_alpha(tmp_path, "x", panel, date=panel.dates[12])
    np.testing.assert_array_equal(day[12], v[12])
    assert np.isnan(np.delete(day, 12, axis=0)).all()


def test_rows_restrict_the_written_dates(tmp_path: Path, panel: Panel) -> None:
    v = values_for(panel)
    rows = slice(20, None)
    meta = store.expected_metadata("a", "close", DEFAULT, panel, rows)
    assert meta["first_date"] == str(panel.dates[20]) and meta["n_dates"] == 20
    store.write_alpha(tmp_path, "a", v, panel, meta, rows)
    back = store.read_alpha(tmp_path, "a", panel)
    assert np.isnan(back[:20]).all()
    np.testing.assert_array_equal(back[20:], v[20:])


def test_resume_metadata_matches_only_the_same_request(tmp_path: Path, panel: Panel) -> None:
    fp = store.panel_fingerprint(panel)
    meta = store.expected_metadata("alpha_002", "rank(open)", DEFAULT, panel, fingerprint=fp)
    assert not store.is_current(tmp_path, "alpha_002", meta)  # nothing stored yet
    store.write_alpha(tmp_path, "alpha_002", values_for(panel), panel, meta)
    assert store.is_current(tmp_path, "alpha_002", meta)
    assert store.is_current(tmp_path, "alpha_002",
                            store.expected_metadata("alpha_002", "rank(open)", DEFAULT, panel, fingerprint=fp))
    changed = [
        store.expected_metadata("alpha_002", "rank(close)", DEFAULT, panel, fingerprint=fp),
        store.expected_metadata("alpha_002", "rank(open)", Conventions(window_rule="round"), panel, fingerprint=fp),
        store.expected_metadata("alpha_002", "rank(open)", DEFAULT, panel, slice(1, None), fingerprint=fp),
        store.expected_metadata("alpha_002", "rank(open)", DEFAULT, make_panel(T=41, N=7, seed=2), fingerprint=fp),
        store.expected_metadata("alpha_002", "rank(open)", DEFAULT, panel, fingerprint="other"),
    ]
    for m in changed:
        assert not store.is_current(tmp_path, "alpha_002", m)


def test_fingerprint_follows_the_data(panel: Panel) -> None:
    fp = store.panel_fingerprint(panel)
    assert fp == store.panel_fingerprint(make_panel(T=40, N=7, seed=2))
    fields = {k: v.copy() for k, v in panel.fields.items()}
    fields["close"][30, 2] *= 0.5  # e.g. a new split re-adjusted the history
    changed = Panel(dates=panel.dates, codes=panel.codes, fields=fields, industry=panel.industry, index=panel.index)
    assert store.panel_fingerprint(changed) != fp


def test_write_is_atomic(tmp_path: Path, panel: Panel, monkeypatch: pytest.MonkeyPatch) -> None:
    v = values_for(panel)
    path = store.write_alpha(tmp_path, "alpha_003", v, panel, {"name": "old"})
    before = path.read_bytes()

    def fail(src: str, dst: str) -> None:
        raise OSError("interrupted")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        store.write_alpha(tmp_path, "alpha_003", v * 2, panel, {"name": "new"})
    monkeypatch.undo()
    assert path.read_bytes() == before  # the old file is intact
    assert sorted(p.name for p in path.parent.iterdir()) == ["alpha_003.parquet"]  # no temp file left
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_all_nan_and_errors(tmp_path: Path, panel: Panel) -> None:
    store.write_alpha(tmp_path, "empty", np.full(panel.shape, np.nan), panel, {"name": "empty"})
    assert pq.read_table(store.alpha_path(tmp_path, "empty")).num_rows == 0
    assert np.isnan(store.read_alpha(tmp_path, "empty", panel)).all()
    with pytest.raises(StoreError, match="has not been computed"):
        store.read_alpha(tmp_path, "alpha_099", panel)
    with pytest.raises(StoreError):
        store.write_alpha(tmp_path, "bad", np.zeros((3, 3)), panel, {})
    with pytest.raises(StoreError):
        store.alpha_path(tmp_path, "../escape")
    broken = store.alpha_path(tmp_path, "broken")
    broken.write_bytes(b"not parquet")
    assert store.read_metadata(broken) is None
    with pytest.raises(StoreError, match="cannot read"):
        store.read_alpha(tmp_path, "broken", panel)


def test_register_views_exposes_parquet_to_duckdb(tmp_path):
    import duckdb
    import numpy as np

    from lasps.alpha import store as alpha_store
    from lasps.alpha.conventions import Conventions
    from lasps.data.panel import Panel

    dates = np.array(["2024-01-02", "2024-01-03"], dtype="datetime64[D]")
    codes = np.array(["005930", "000660"], dtype=object)
    panel = Panel(dates=dates, codes=codes, fields={"close": np.ones((2, 2))})
    values = np.array([[1.0, np.nan], [3.0, 4.0]])
    meta = alpha_store.expected_metadata("alpha_001", "rank(close)", Conventions(), panel)
    alpha_store.write_alpha(tmp_path, "alpha_001", values, panel, meta)
    assert alpha_store.register_views(tmp_path) == ["alpha_001"]
    assert alpha_store.register_views(tmp_path) == ["alpha_001"]  # idempotent
    con = duckdb.connect(str(tmp_path / "lasps.duckdb"), read_only=True)
    rows = con.execute("SELECT code, value FROM alpha_001 ORDER BY date, code").fetchall()
    # NaN cells are not stored; day 2 sorted by code puts 000660 first
    assert rows == [("005930", 1.0), ("000660", 4.0), ("005930", 3.0)]
