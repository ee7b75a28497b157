"""Alpha store format 3: per-column codecs, the value-layout choice, exact round trips, older formats."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lasps.alpha import store
from lasps.alpha.conventions import DEFAULT
from lasps.data.panel import Panel
from lasps.errors import StoreError

from .synthetic_panel import make_panel


@pytest.fixture
def panel() -> Panel:
    return make_panel(T=80, N=30, seed=7)


def value_chunk(path: Path) -> tuple[str, set[str]]:
    col = pq.ParquetFile(path).metadata.row_group(0).column(2)
    return col.compression, set(col.encodings)


def test_value_layout_follows_cardinality_and_compressibility() -> None:
    rng = np.random.default_rng(0)
    normal = rng.normal(size=200_000)
    assert store.value_layout(normal) == ("BYTE_STREAM_SPLIT", "none")  # ~10 % zstd saving: not worth it
    zeros = np.where(rng.random(200_000) < 0.5, 0.0, normal)  # like alpha 23: half the cells 0
    assert store.value_layout(zeros) == ("BYTE_STREAM_SPLIT", "zstd")
    counts = rng.integers(0, 1 << 30, 200_000).astype(np.float64)  # distinct, but low mantissa bytes 0
    assert store.value_layout(counts) == ("BYTE_STREAM_SPLIT", "zstd")
    ranks = np.floor(rng.random(200_000) * 50) / 50
    assert store.value_layout(ranks) == ("RLE_DICTIONARY", "lz4")
    assert store.value_layout(np.empty(0)) == ("RLE_DICTIONARY", "lz4")
    assert store.value_layout(np.array([1.5])) == ("BYTE_STREAM_SPLIT", "none")  # 1 of 1 distinct: raw


def special(panel: Panel, few: bool) -> np.ndarray:
    """Values with -0.0, +-inf, subnormals, extremes and NaN holes (warm-up rows, scattered cells)."""
    rng = np.random.default_rng(3)
    v = np.floor(rng.random(panel.shape) * 4) / 4 if few else rng.normal(size=panel.shape)
    v[:5] = np.nan
    v[rng.random(panel.shape) < 0.2] = np.nan
    v[10, :6] = [-0.0, np.inf, -np.inf, 5e-324, -np.finfo(float).max, np.finfo(float).tiny]
    v[11, 3] = -0.0
    return v


@pytest.mark.parametrize(("few", "layout"), [(True, ("LZ4", "RLE_DICTIONARY")),
                                             (False, ("UNCOMPRESSED", "BYTE_STREAM_SPLIT"))])
def test_both_value_encodings_round_trip_bit_for_bit(tmp_path: Path, panel: Panel, few: bool,
                                                     layout: tuple[str, str]) -> None:
    v = special(panel, few)
    path = store.write_alpha(tmp_path, "a", v, panel, {"name": "a"})
    compression, encodings = value_chunk(path)
    assert compression == layout[0] and layout[1] in encodings
    back = store.read_alpha(tmp_path, "a", panel)
    assert np.array_equal(back.view(np.int64), v.view(np.int64))  # -0.0 stays -0.0, NaN holes stay NaN
    table = pq.read_table(path)
    assert table.num_rows == int((~np.isnan(v)).sum())
    assert not any(table.schema.field(n).nullable for n in ("date", "code", "value"))


def test_compressible_continuous_values_are_zstd(tmp_path: Path, panel: Panel) -> None:
    rng = np.random.default_rng(5)
    v = np.where(rng.random(panel.shape) < 0.5, 0.0, rng.normal(size=panel.shape))  # too many distinct
    v[:2] = np.nan  # warm-up rows
    assert store.value_layout(v[~np.isnan(v)].ravel()) == ("BYTE_STREAM_SPLIT", "zstd")
    path = store.write_alpha(tmp_path, "z", v, panel, {"name": "z"})
    assert value_chunk(path)[0] == "ZSTD"
    np.testing.assert_array_equal(store.read_alpha(tmp_path, "z", panel), v)


def test_code_strings_follow_the_code_list() -> None:
    dates = np.array(["2024-01-02"], dtype="datetime64[D]")
    values = np.array([[1.0, 2.0]])
    a = store.long_table(values, dates, np.array(["000001", "000002"], dtype=object))
    b = store.long_table(values, dates, np.array(["000009", "000008"], dtype=object))  # new list: new strings
    assert a.column("code").to_pylist() == ["000001", "000002"]
    assert b.column("code").to_pylist() == ["000009", "000008"]
    assert a.schema == store.SCHEMA


def test_nullable_input_tables_are_written_required_and_nulls_refused(tmp_path: Path) -> None:
    table = pa.table({"date": pa.array([19000, 19001], type=pa.int32()).cast(pa.date32()),
                      "code": pa.array(["a", "b"]), "value": pa.array([1.0, -0.0])})
    path = store.write_table_atomic(table, tmp_path / "t.parquet")
    back = pq.read_table(path)
    assert back.column("value").to_pylist() == [1.0, -0.0] and not back.schema.field("code").nullable
    holes = table.set_column(2, "value", pa.array([1.0, None]))
    with pytest.raises(StoreError, match="null"):
        store.write_table_atomic(holes, tmp_path / "u.parquet")
    assert not (tmp_path / "u.parquet").exists()


def write_format2(path: Path, values: np.ndarray, panel: Panel, meta: dict) -> None:
    """A file as format 2 wrote it: OPTIONAL columns, zstd 1 everywhere, dictionary-encoded date."""
    table = store.long_table(values, panel.dates, panel.codes)
    table = table.cast(pa.schema([f.with_nullable(True) for f in table.schema]))
    path.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(path, table.schema, compression="zstd", compression_level=1,
                          use_dictionary=["date", "code"], column_encoding={"value": "BYTE_STREAM_SPLIT"},
                          write_statistics=["date"], store_schema=False) as writer:
        writer.write_table(table)
        writer.add_key_value_metadata({store.METADATA_KEY: json.dumps(meta, sort_keys=True).encode()})


def test_format2_files_are_read_exactly_but_never_current(tmp_path: Path, panel: Panel) -> None:
    v = special(panel, few=False)
    meta = store.expected_metadata("alpha_001", "rank(close)", DEFAULT, panel)
    write_format2(store.alpha_path(tmp_path, "alpha_001"), v, panel, dict(meta, format=2))
    assert pq.read_schema(store.alpha_path(tmp_path, "alpha_001")).field("value").nullable
    back = store.read_alpha(tmp_path, "alpha_001", panel)
    assert np.array_equal(back.view(np.int64), v.view(np.int64))
    day = store.read_alpha(tmp_path, "alpha_001", panel, date=panel.dates[40])
    np.testing.assert_array_equal(day[40], v[40])
    assert not store.is_current(tmp_path, "alpha_001", meta)  # --resume rewrites it in format 3
    store.write_alpha(tmp_path, "alpha_001", v, panel, meta)
    assert store.is_current(tmp_path, "alpha_001", meta)
