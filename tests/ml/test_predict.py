"""End to end on CPU through the CLI: train (3 phases, interrupted + resumed) -> evaluate -> predict ->
DuckDB/Parquet -> the FastAPI router; predictions use exactly the dataset builder's windows."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

torch = pytest.importorskip("torch")

from fastapi import FastAPI  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from lasps.cli import ml_cmd  # noqa: E402
from lasps.data.store import MarketStore  # noqa: E402
from lasps.ml.api import create_router, get_home, router  # noqa: E402
from lasps.ml.checkpoint import load_model  # noqa: E402
from lasps.ml.dataset import MLDataset  # noqa: E402
from lasps.ml.predictor import build_windows, predict_date, run_model  # noqa: E402
from lasps.ml.train_config import TrainConfig  # noqa: E402
from tests.ml.toy_data import one_thread, tiny_config  # noqa: E402, F401

pytestmark = pytest.mark.usefixtures("one_thread")
runner = CliRunner()


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(ml_cmd.app, name="ml")
    return app


@pytest.fixture(scope="module")
def e2e(ml_dataset: Path, ml_home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Train a tiny chart fusion model on the synthetic-market dataset through the CLI (stop + resume)."""
    root = tmp_path_factory.mktemp("e2e")
    cfg = TrainConfig.from_dict(tiny_config(
        root / "run", ml_dataset, chart=True, batch_size=8, max_train_batches=2,
        phases=[(1, 1, 3e-3), (2, 1, 3e-3), (3, 1, 1e-3)], data={"max_eval_batches": 1, "eval_batch_size": 32}))
    cfg_path = root / "cfg.toml"
    cfg_path.write_text(cfg.to_toml(), encoding="utf-8")
    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        first = runner.invoke(_cli(), ["ml", "train", "--config", str(cfg_path), "--stop-after-epochs", "1"],
                              terminal_width=160)
        assert first.exit_code == 0, first.output
        assert "paused" in first.output and not (root / "run" / "model.pt").exists()
        again = runner.invoke(_cli(), ["ml", "train", "--config", str(cfg_path)], terminal_width=160)
        assert again.exit_code == 2 and "--resume" in again.output  # refuses to overwrite silently
        second = runner.invoke(_cli(), ["ml", "train", "--config", str(cfg_path), "--resume", "--no-progress"],
                               terminal_width=160)
        assert second.exit_code == 0, second.output
        assert "resuming" in second.output and "trained" in second.output
    finally:
        torch.set_num_threads(prev)
    home = root / "home"
    home.mkdir()
    shutil.copy(ml_home / "lasps.duckdb", home / "lasps.duckdb")  # predictions go into a private copy
    return {"model": root / "run" / "model.pt", "run": root / "run", "home": home, "data": ml_dataset}


def test_train_resume_and_evaluate_through_the_cli(e2e: dict[str, Path]) -> None:
    hist = TrainConfig.from_toml(e2e["run"] / "config.toml")
    assert hist.model.chart and [p.phase for p in hist.phases] == [1, 2, 3]
    res = runner.invoke(_cli(), ["ml", "evaluate", "--checkpoint", str(e2e["model"]), "--split", "test",
                                 "--max-samples", "48"], terminal_width=160)
    assert res.exit_code == 0, res.output
    assert "majority" in res.output and "per sector" in res.output
    js = e2e["run"] / "eval_test.json"
    md = e2e["run"] / "eval_test.md"
    assert js.is_file() and md.is_file()
    rep = pd.read_json(js, typ="series")
    assert rep["n"] == 48 and rep["head"] == "sector" and isinstance(rep["collapsed"], bool)
    bad = runner.invoke(_cli(), ["ml", "evaluate", "--checkpoint", str(e2e["run"] / "missing.pt")])
    assert bad.exit_code == 2 and "does not exist" in bad.output


def test_predict_stores_rows_and_serves_them(e2e: dict[str, Path]) -> None:
    home = e2e["home"]
    with MarketStore(home, read_only=True) as store:
        last = store.last_price_date()
    assert last is not None
    # the tiny 2-batch model may be collapsed by its evaluation (test order): --force, and the answer says so
    res = runner.invoke(_cli(), ["ml", "predict", "--checkpoint", str(e2e["model"]), "--date", last.isoformat(),
                                 "--home", str(home), "--top", "5", "--force"], terminal_width=160)
    assert res.exit_code == 0, res.output
    assert "stored" in res.output
    parquet = home / "predictions" / "run" / f"{last.isoformat()}.parquet"
    frame = pd.read_parquet(parquet)
    n = len(frame)
    assert n > 30 and frame["code"].is_unique and list(frame["rank"]) == list(range(1, n + 1))
    np.testing.assert_allclose(frame[["p_sell", "p_hold", "p_buy"]].sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(frame["score"], frame["p_buy"] - frame["p_sell"])
    again = runner.invoke(_cli(), ["ml", "predict", "--checkpoint", str(e2e["model"]), "--date", last.isoformat(),
                                   "--home", str(home), "--top", "0", "--force"])
    assert again.exit_code == 0, again.output
    with MarketStore(home, read_only=True) as store:
        stored = store.query_df("SELECT * FROM predictions WHERE date = ?", [last])
    assert len(stored) == n  # re-running replaces the model's rows for that date

    app = FastAPI()
    app.include_router(router, prefix="/ml")
    app.dependency_overrides[get_home] = lambda: home
    client = TestClient(app)
    r = client.get("/ml/predict", params={"date": last.isoformat(), "limit": 3, "force": "true"})
    assert r.status_code == 200
    body = r.json()
    assert body["model"] == "run" and body["count"] == n and len(body["predictions"]) == 3
    assert [p["rank"] for p in body["predictions"]] == [1, 2, 3]
    assert body["predictions"][0]["code"] == frame["code"].iloc[0]
    assert client.get("/ml/predict", params={"force": "true"}).json()["date"] == last.isoformat()  # latest
    missing = client.get("/ml/predict", params={"date": "2001-01-02"})
    assert missing.status_code == 404 and "no predictions" in missing.json()["detail"]
    assert client.get("/ml/predict", params={"model": "nope"}).status_code == 404
    sec = client.get("/ml/sectors").json()
    assert sec["count"] == 13 and [s["id"] for s in sec["sectors"]] == list(range(13))
    assert sec["sectors"][0]["name"] == "전기전자" and sum(s["stocks"] for s in sec["sectors"]) > 0


def test_api_without_predictions(tmp_path: Path, e2e: dict[str, Path]) -> None:
    empty = FastAPI()
    empty.include_router(create_router(lambda: tmp_path / "nowhere"))
    c = TestClient(empty)
    r = c.get("/predict")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/json")
    s = c.get("/sectors").json()
    assert not s["store"] and len(s["sectors"]) == 13 and all(x["stocks"] == 0 for x in s["sectors"])
    fresh = FastAPI()
    fresh.include_router(create_router(lambda: e2e["data"].parent))  # a directory without a store
    assert TestClient(fresh).get("/predict", params={"date": "2026-01-02"}).status_code == 404


def test_prediction_inputs_equal_the_dataset_windows(e2e: dict[str, Path]) -> None:
    """Predicting a dataset date gives the dataset's windows and the same model outputs."""
    ds = MLDataset(e2e["data"])
    meta = ds.metadata
    day = pd.Timestamp(meta["date"].max()).date()
    rows = meta.index[pd.to_datetime(meta["date"]).dt.date == day].to_numpy()
    w = build_windows(day, e2e["home"])
    assert w.date == day
    pos = {c: k for k, c in enumerate(w.codes)}
    assert set(meta.loc[rows, "code"]) <= set(pos)
    k = np.array([pos[c] for c in meta.loc[rows, "code"]])
    np.testing.assert_allclose(w.windows[k], ds.array("windows")[rows], rtol=0, atol=1e-5)
    np.testing.assert_allclose(w.ohlcv[k], ds.array("ohlcv")[rows], rtol=1e-5)
    np.testing.assert_array_equal(w.sector_ids[k], ds.array("sector_ids")[rows])
    model, _, obj = load_model(e2e["model"])
    phase = int(obj["phase"])
    ours = run_model(model, phase, w.windows[k], w.sector_ids[k], w.ohlcv[k])
    theirs = run_model(model, phase, np.asarray(ds.array("windows")[rows]), np.asarray(ds.array("sector_ids")[rows]),
                       np.asarray(ds.array("ohlcv")[rows]))
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
    res = predict_date(e2e["model"], day, e2e["home"], write=False, force=True)  # tiny model: may be collapsed
    assert res.parquet is None and set(res.frame["code"]) == set(w.codes)
    with pytest.raises(Exception, match="not a stored trading session"):
        build_windows(dt.date(2026, 10, 31), e2e["home"])  # a Saturday


def test_a_collapsed_model_is_refused_unless_forced(e2e: dict[str, Path], tmp_path: Path) -> None:
    """Issue 15: `ml predict` and /api/predict refuse a checkpoint whose evaluation says collapsed."""
    import json

    from lasps.ml.health import checkpoint_health

    run = tmp_path / "collapsed"
    run.mkdir()
    shutil.copy(e2e["model"], run / "model.pt")
    for extra in ("config.toml",):
        if (e2e["run"] / extra).is_file():
            shutil.copy(e2e["run"] / extra, run / extra)
    assert checkpoint_health(run / "model.pt").collapsed is None  # never evaluated: stated, not refused
    (run / "eval_test.json").write_text(json.dumps({"collapsed": True,
                                                    "collapse_reasons": ["HOLD predicted for 99% of samples"]}))
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(e2e["home"] / "lasps.duckdb", home / "lasps.duckdb")
    with MarketStore(home, read_only=True) as store:
        last = store.last_price_date()
    args = ["ml", "predict", "--checkpoint", str(run / "model.pt"), "--date", last.isoformat(), "--home", str(home),
            "--top", "3"]
    refused = runner.invoke(_cli(), args, terminal_width=200)
    assert refused.exit_code == 2 and "collapsed" in refused.output and "--force" in refused.output
    forced = runner.invoke(_cli(), [*args, "--force"], terminal_width=200)
    assert forced.exit_code == 0, forced.output
    assert "COLLAPSED MODEL" in forced.output and "HOLD predicted for 99% of samples" in forced.output
    app = FastAPI()
    app.include_router(router, prefix="/ml")
    app.dependency_overrides[get_home] = lambda: home
    client = TestClient(app)
    r = client.get("/ml/predict", params={"model": "collapsed"})
    assert r.status_code == 409 and "collapsed" in r.json()["detail"] and "force=true" in r.json()["detail"]
    ok = client.get("/ml/predict", params={"model": "collapsed", "force": "true"})
    assert ok.status_code == 200 and ok.json()["collapsed"] is True and "COLLAPSED" in ok.json()["warning"]


def test_report_lists_the_model_picks_loudly_when_collapsed(e2e: dict[str, Path], tmp_path: Path) -> None:
    """Issue 15: with a checkpoint configured, the daily report lists its top-scored stocks; collapsed → loud."""
    import json
    from types import SimpleNamespace

    from lasps.pipeline.model_picks import model_picks
    from lasps.report.markdown import model_pick_lines

    assert model_picks(None, e2e["home"], dt.date(2026, 10, 30)) is None  # nothing configured: no section
    run = tmp_path / "collapsed"
    run.mkdir()
    shutil.copy(e2e["model"], run / "model.pt")
    (run / "eval_test.json").write_text(json.dumps({"collapsed": True, "collapse_reasons": ["one class"]}))
    with MarketStore(e2e["home"], read_only=True) as store:
        last = store.last_price_date()
    m = model_picks(run / "model.pt", e2e["home"], last, n=4)
    assert m is not None and m.error is None and m.collapsed is True
    assert [r["rank"] for r in m.rows] == [1, 2, 3, 4]
    md = "\n".join(model_pick_lines(SimpleNamespace(model_picks=m)))  # type: ignore[arg-type]
    assert "### Model picks" in md and "**⚠ COLLAPSED MODEL" in md and m.rows[0]["code"] in md
    broken = model_picks(tmp_path / "missing.pt", e2e["home"], last)
    assert broken is not None and broken.error and "No model predictions" in "\n".join(
        model_pick_lines(SimpleNamespace(model_picks=broken)))  # type: ignore[arg-type]
