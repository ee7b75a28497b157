"""Alpha store format 2: encodings, format-1 files, the background writer, and kill -9 durability."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lasps.alpha import store
from lasps.alpha.conventions import DEFAULT
from lasps.data.panel import Panel

from .synthetic_panel import make_panel


@pytest.fixture
def panel() -> Panel:
    return make_panel(T=60, N=9, seed=4)


def continuous(panel: Panel, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=panel.shape)
    v[:3] = np.nan
    v[7, 2] = np.nan
    return v


def encodings(path: Path) -> dict[str, tuple[set[str], bool]]:
    """Column name -> (encodings of its first chunk, whether it has statistics)."""
    rg = pq.ParquetFile(path).metadata.row_group(0)
    out = {}
    for i in range(rg.num_columns):
        col = rg.column(i)
        out[col.path_in_schema] = (set(col.encodings), col.is_stats_set)
    return out


def test_codes_are_dictionary_encoded_and_values_follow_their_cardinality(tmp_path: Path, panel: Panel) -> None:
    cont = store.write_alpha(tmp_path, "cont", continuous(panel), panel, {"name": "cont"})
    ranks = np.floor(np.abs(continuous(panel, 1)) * 3) / 3  # four distinct values
    few = store.write_alpha(tmp_path, "few", ranks, panel, {"name": "few"})
    enc_cont, enc_few = encodings(cont), encodings(few)
    assert "RLE_DICTIONARY" in enc_cont["code"][0]
    assert "BYTE_STREAM_SPLIT" in enc_cont["value"][0] and "RLE_DICTIONARY" not in enc_cont["value"][0]
    assert "RLE_DICTIONARY" in enc_few["value"][0]
    # min/max statistics for date only (row-group pruning of one-date reads)
    assert enc_cont["date"][1] and not enc_cont["code"][1] and not enc_cont["value"][1]
    for path, value_codec in ((cont, "UNCOMPRESSED"), (few, "LZ4")):  # normal draws: zstd saves < 15 %
        rg = pq.ParquetFile(path).metadata.row_group(0)
        assert [rg.column(i).compression for i in range(3)] == ["LZ4", "LZ4", value_codec]
        assert "PLAIN" in rg.column(0).encodings and "RLE_DICTIONARY" not in rg.column(0).encodings
        schema = pq.read_schema(path)  # plain types for every reader (no Arrow dictionary type leaks out)
        assert [schema.field(n).type for n in ("date", "code", "value")] == [pa.date32(), pa.string(), pa.float64()]
    np.testing.assert_array_equal(store.read_alpha(tmp_path, "few", panel), ranks)


def test_long_table_rows_by_hand() -> None:
    dates = np.array(["2024-01-02", "2024-01-03"], dtype="datetime64[D]")
    codes = np.array(["005930", "000660", "035720"], dtype=object)
    values = np.array([[np.nan, 2.0, 3.0], [4.0, np.nan, -0.0]])
    table = store.long_table(values, dates, codes)
    assert table.column("code").to_pylist() == ["000660", "035720", "005930", "035720"]
    assert [str(d) for d in table.column("date").to_pylist()] == ["2024-01-02", "2024-01-02", "2024-01-03",
                                                                  "2024-01-03"]
    assert table.column("value").to_pylist() == [2.0, 3.0, 4.0, -0.0]


def test_many_row_groups_round_trip(tmp_path: Path, panel: Panel, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "ROW_GROUP_ROWS", 50)  # ~6 dates per group
    v = continuous(panel)
    path = store.write_alpha(tmp_path, "a", v, panel, {"name": "a"})
    assert pq.ParquetFile(path).num_row_groups > 5
    np.testing.assert_array_equal(store.read_alpha(tmp_path, "a", panel), v)
    day = store.read_alpha(tmp_path, "a", panel, date=panel.dates[33])
    np.testing.assert_array_equal(day[33], v[33])
    assert np.isnan(np.delete(day, 33, axis=0)).all()


def write_format1(path: Path, values: np.ndarray, panel: Panel, meta: dict) -> None:
    """A file as format 1 wrote it: plain string codes, default pyarrow encodings."""
    ti, ci = np.nonzero(~np.isnan(values))
    table = pa.table({
        "date": pa.array(panel.dates[ti].astype("datetime64[D]").astype(np.int32)).cast(pa.date32()),
        "code": pa.array([str(panel.codes[j]) for j in ci], type=pa.string()),
        "value": pa.array(values[ti, ci]),
    }).replace_schema_metadata({store.METADATA_KEY: json.dumps(meta).encode()})
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd")


def test_format1_files_are_read_but_never_current(tmp_path: Path, panel: Panel) -> None:
    v = continuous(panel)
    meta = store.expected_metadata("alpha_001", "rank(close)", DEFAULT, panel)
    old_meta = dict(meta, format=1)
    write_format1(store.alpha_path(tmp_path, "alpha_001"), v, panel, old_meta)
    np.testing.assert_array_equal(store.read_alpha(tmp_path, "alpha_001", panel), v)
    assert not store.is_current(tmp_path, "alpha_001", meta)  # --resume rewrites it in format 2
    store.write_alpha(tmp_path, "alpha_001", v, panel, meta)
    assert store.is_current(tmp_path, "alpha_001", meta)


def test_writer_writes_everything_in_the_background(tmp_path: Path, panel: Panel) -> None:
    arrays = {f"alpha_{k:03d}": continuous(panel, k) for k in range(1, 6)}
    with store.AlphaWriter(tmp_path, panel, slice(10, None), max_pending=1) as writer:
        for name, arr in arrays.items():
            writer.submit(name, arr.copy(), {"name": name})
    assert writer.written == list(arrays)
    for name, arr in arrays.items():
        back = store.read_alpha(tmp_path, name, panel)
        assert np.isnan(back[:10]).all()
        np.testing.assert_array_equal(back[10:], arr[10:])
        assert store.read_metadata(store.alpha_path(tmp_path, name)) == {"name": name}


def test_writer_error_reaches_the_caller(tmp_path: Path, panel: Panel, monkeypatch: pytest.MonkeyPatch) -> None:
    real = store.write_alpha

    def flaky(home, name, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name == "b":
            raise OSError("disk full")
        return real(home, name, *args, **kwargs)

    monkeypatch.setattr(store, "write_alpha", flaky)
    with pytest.raises(OSError, match="disk full"), store.AlphaWriter(tmp_path, panel) as writer:
        for name in ("a", "b", "c", "d", "e"):
            writer.submit(name, continuous(panel), {"name": name})
            time.sleep(0.05)
    assert store.alpha_path(tmp_path, "a").is_file()
    assert not store.alpha_path(tmp_path, "b").exists()
    assert sorted(p.name for p in store.alphas_dir(tmp_path).iterdir()) == ["a.parquet"]  # no temp files


def test_writer_abort_keeps_finished_files_only(tmp_path: Path, panel: Panel) -> None:
    with pytest.raises(KeyboardInterrupt), store.AlphaWriter(tmp_path, panel) as writer:
        writer.submit("a", continuous(panel), {"name": "a"})
        raise KeyboardInterrupt
    for p in store.alphas_dir(tmp_path).glob("*"):
        assert p.suffix == ".parquet" and store.read_metadata(p) == {"name": "a"}


_KILL_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    from lasps.alpha import store
    from lasps.data.panel import Panel

    home, T, N = sys.argv[1], 1500, 2000
    panel = Panel(dates=np.datetime64("2010-01-04") + np.arange(T),
                  codes=np.array([f"{i:06d}" for i in range(N)], dtype=object), fields={})
    with store.AlphaWriter(home, panel) as writer:
        for k in range(1, 1000):
            values = np.random.default_rng(k).normal(size=(T, N)) + k
            writer.submit(f"alpha_{k:03d}", values, {"name": f"alpha_{k:03d}", "k": k})
            print(k, flush=True)
""")


def test_kill_9_leaves_only_complete_files(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(store.__file__).parents[2]),
                                                       os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-c", _KILL_SCRIPT, str(home)], stdout=subprocess.PIPE, env=env)
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(list(store.alphas_dir(home).glob("*.parquet"))) < 3:
            time.sleep(0.02)
        time.sleep(0.13)  # most likely in the middle of encoding or writing the next file
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    files = sorted(store.alphas_dir(home).glob("*.parquet"))
    assert len(files) >= 3
    T, N = 1500, 2000
    panel = Panel(dates=np.datetime64("2010-01-04") + np.arange(T),
                  codes=np.array([f"{i:06d}" for i in range(N)], dtype=object), fields={})
    for f in files:  # every visible file is whole: metadata readable, every value as submitted
        meta = store.read_metadata(f)
        assert meta is not None and meta["name"] == f.stem
        expected = np.random.default_rng(meta["k"]).normal(size=(T, N)) + meta["k"]
        np.testing.assert_array_equal(store.read_alpha(home, f.stem, panel), expected)
    leftovers = [p.name for p in store.alphas_dir(home).iterdir() if p.suffix != ".parquet"]
    assert all(n.startswith(".alpha_") and n.endswith(".tmp") for n in leftovers)  # never a *.parquet name
