"""Builder + check round trip on a small synthetic market; check rejects corrupted and misaligned data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from lasps.cli import ml_cmd
from lasps.data.panel import FLOW_FIELDS
from lasps.data.panel_loader import load_panel
from lasps.errors import ConfigError
from lasps.ml.builder import BuildConfig, build_dataset
from lasps.ml.check import check_dataset
from lasps.ml.dataset import ARRAYS, DatasetError, MLDataset
from lasps.ml.features import WINDOW, compute_features, gather_windows
from lasps.ml.labels import LabelSpec, classify, multi_step_returns

runner = CliRunner()


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(ml_cmd.app, name="ml")
    return app


def test_layout_and_manifest(ml_dataset: Path) -> None:
    ds = MLDataset(ml_dataset)
    n = ds.n
    assert n > 1000
    assert not ml_dataset.with_name(ml_dataset.name + ".tmp").exists()
    m = ds.manifest
    shapes = {k: tuple(v["shape"]) for k, v in m["arrays"].items()}
    assert shapes["windows"] == (n, 60, 28) and shapes["ohlcv"] == (n, 60, 5)
    assert shapes["returns_multi"] == (n, 5) and shapes["labels"] == (n,)
    for name, (dtype, _) in ARRAYS.items():
        a = ds.array(name)
        assert str(a.dtype) == dtype and a.shape[0] == n
    meta = ds.metadata
    assert list(meta.columns) == ["row", "code", "date", "sector_id", "split"]
    np.testing.assert_array_equal(meta["row"].to_numpy(), np.arange(n))
    assert m["splits"]["mode"] == "fraction"  # the 2-year synthetic market does not cover 2022/2023
    assert all(m["splits"]["counts"][s] > 0 for s in ("train", "val", "test"))
    for s in ("train", "val", "test"):
        d = m["distributions"][s]
        assert sum(d["labels"].values()) == d["n"] == m["splits"]["counts"][s]
        assert d["sector_max_min_ratio"] is not None and d["sector_max_min_ratio"] >= 1
    assert m["features"][0] == "open" and len(m["normalisation"]) == 28
    assert m["flows"]["available"] and m["flows"]["samples_with_flows"] == n
    f = m["funnel"]
    assert f["sessions_on_sampling_dates"] >= f["in_universe"] >= f["complete_window"] >= f["with_label"] \
        >= f["sector_mapped"] >= f["after_purge"] == n
    # ordered by date, then code; splits in date order
    dates = meta["date"].to_numpy().astype("datetime64[D]")
    assert (np.diff(dates.astype(np.int64)) >= 0).all()
    assert meta["split"].map({"train": 0, "val": 1, "test": 2}).is_monotonic_increasing
    np.testing.assert_array_equal(ds.array("labels"), classify(ds.array("returns")))
    np.testing.assert_array_equal(ds.array("returns"), ds.array("returns_multi")[:, -1])


def test_rows_match_a_recomputation(ml_home: Path, ml_dataset: Path) -> None:
    """Row i of every array is the (code, date) of metadata row i — recomputed independently."""
    ds = MLDataset(ml_dataset)
    panel = load_panel(["open", "high", "low", "close", "volume", *FLOW_FIELDS], home=ml_home)
    feats = compute_features(panel)
    cell = feats.cell_index()
    meta = ds.metadata
    rng = np.random.default_rng(0)
    for i in rng.choice(ds.n, size=25, replace=False):
        rec = meta.iloc[i]
        j = int(np.flatnonzero(panel.codes == rec["code"])[0])
        t = panel.date_index(np.datetime64(pd.Timestamp(rec["date"]).date(), "D"))
        win, raw, _ = gather_windows(feats, np.array([cell[t, j]]))
        np.testing.assert_array_equal(ds.array("windows")[i], win[0])
        np.testing.assert_array_equal(ds.array("ohlcv")[i], raw[0])
        r = multi_step_returns(panel.fields["open"], panel.fields["close"], np.array([t]), np.array([j]),
                               LabelSpec())
        np.testing.assert_allclose(ds.array("returns_multi")[i], r[0].astype(np.float32))
        assert int(ds.array("sector_ids")[i]) == int(panel.sector_ids[j]) == int(rec["sector_id"])
        assert panel.universe_mask[t, j] and panel.kinds[j] == "stock"


def test_no_label_crosses_a_split(ml_home: Path, ml_dataset: Path) -> None:
    ds = MLDataset(ml_dataset)
    panel = load_panel(["close"], home=ml_home)
    dates = ds.metadata["date"].to_numpy().astype("datetime64[D]")
    rows = np.searchsorted(panel.dates, dates)
    for s, boundary in ((0, ds.manifest["splits"]["train_end"]), (1, ds.manifest["splits"]["val_end"])):
        first_next = np.searchsorted(panel.dates, np.datetime64(boundary), side="right")
        assert (rows[ds.split_codes == s] + ds.lag < first_next).all()


def test_check_passes_and_saves_charts(ml_dataset: Path, tmp_path: Path) -> None:
    rep = check_dataset(ml_dataset, charts=8, save_charts=tmp_path / "grid.png")
    assert rep.ok and rep.charts_checked == 8 and (tmp_path / "grid.png").stat().st_size > 1000


def _copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(src, dst)
    return dst


def test_check_rejects_zeroed_array(ml_dataset: Path, tmp_path: Path) -> None:
    d = _copy(ml_dataset, tmp_path)
    m = np.load(d / "ohlcv.npy", mmap_mode="r+")
    m[:] = 0
    m.flush()
    del m
    with pytest.raises(DatasetError, match="all zeros"):
        check_dataset(d)
    res = runner.invoke(_cli(), ["ml", "dataset", "check", str(d)])
    assert res.exit_code == 2 and "all zeros" in res.output


def test_check_rejects_constant_and_modified_arrays(ml_dataset: Path, tmp_path: Path) -> None:
    d = _copy(ml_dataset, tmp_path)
    m = np.load(d / "returns.npy", mmap_mode="r+")
    m[:] = 0.5
    m.flush()
    del m
    with pytest.raises(DatasetError, match="constant") as exc:
        check_dataset(d)
    assert "sha256" in exc.value.what


def test_check_rejects_misaligned_metadata(ml_dataset: Path, tmp_path: Path) -> None:
    d = _copy(ml_dataset, tmp_path)
    meta = pd.read_parquet(d / "metadata.parquet")
    meta.iloc[:-1].to_parquet(d / "metadata.parquet")  # one row short
    with pytest.raises(DatasetError, match="misaligned"):
        check_dataset(d)
    shuffled = meta.sample(frac=1.0, random_state=0).reset_index(drop=True)
    shuffled.to_parquet(d / "metadata.parquet")  # right length, rows out of order
    with pytest.raises(DatasetError, match="row"):
        check_dataset(d)


def test_check_rejects_short_array_and_missing_dir(ml_dataset: Path, tmp_path: Path) -> None:
    d = _copy(ml_dataset, tmp_path)
    np.save(d / "labels.npy", np.load(d / "labels.npy")[:-3])
    with pytest.raises(DatasetError, match=r"labels\.npy"):
        check_dataset(d)
    with pytest.raises(DatasetError, match="does not exist"):
        check_dataset(tmp_path / "nope")
    (d / "manifest.json").unlink()
    res = runner.invoke(_cli(), ["ml", "dataset", "check", str(d)])
    assert res.exit_code == 2 and "manifest.json" in res.output


def test_resume_after_interruption_gives_identical_files(ml_home: Path, ml_dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    calls = {"n": 0}

    def boom(stage: str, done: int, total: int) -> None:
        if stage == "windows" and done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_dataset(out, BuildConfig(chunk_size=256), home=ml_home, progress=boom)
    tmp = out.with_name("ds.tmp")
    assert not out.exists() and json.loads((tmp / "progress.json").read_text())["chunks_done"] == [0, 1]

    def count(stage: str, done: int, total: int) -> None:
        if stage == "windows":
            calls["n"] += 1

    m = build_dataset(out, BuildConfig(chunk_size=256), home=ml_home, progress=count)
    assert out.exists() and not tmp.exists()
    ref = MLDataset(ml_dataset).manifest
    for name in ARRAYS:  # chunk size does not change the content
        assert m["arrays"][name]["sha256"] == ref["arrays"][name]["sha256"], name
    assert m["metadata"]["sha256"] == ref["metadata"]["sha256"]
    assert calls["n"] == 1 + (-(-m["n"] // 256)) - 2  # the two finished chunks were skipped
    check_dataset(out, charts=2)


def test_existing_output_and_options(ml_home: Path, ml_dataset: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="already exists"):
        build_dataset(ml_dataset, home=ml_home)
    res = runner.invoke(_cli(), ["ml", "dataset", "build", "--out", str(ml_dataset), "--home", str(ml_home)])
    assert res.exit_code == 2 and "already exists" in res.output
    out = tmp_path / "h3"
    res = runner.invoke(_cli(), ["ml", "dataset", "build", "--out", str(out), "--home", str(ml_home), "--horizon",
                                 "3", "--entry", "close", "--stride", "3", "--buy", "0.02", "--sell", "-0.02",
                                 "--start", "2025-09-01"])
    assert res.exit_code == 0, res.output
    ds = MLDataset(out)
    assert ds.array("returns_multi").shape[1] == 3 and ds.lag == 3
    assert pd.to_datetime(ds.metadata["date"]).min() >= pd.Timestamp("2025-09-01")
    np.testing.assert_array_equal(ds.array("labels"), classify(ds.array("returns"), LabelSpec(3, 0.02, -0.02)))
    res = runner.invoke(_cli(), ["ml", "dataset", "info", str(out)])
    assert res.exit_code == 0 and "samples" in res.output
    res = runner.invoke(_cli(), ["ml", "dataset", "build", "--out", str(tmp_path / "x"), "--home", str(ml_home),
                                 "--start", "2026-10-30"])
    assert res.exit_code == 2 and "no samples" in res.output
    # overwrite replaces atomically
    m = build_dataset(out, BuildConfig(start="2025-09-01"), home=ml_home, overwrite=True)
    assert MLDataset(out).horizon == 5 and m["n"] == MLDataset(out).n


def test_window_shape_is_the_contract() -> None:
    assert WINDOW == 60
