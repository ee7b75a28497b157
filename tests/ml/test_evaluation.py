"""Evaluation report: metrics by hand, baselines, and the collapse flags (caught / not raised)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from lasps.ml import metrics

torch = pytest.importorskip("torch")

from lasps.cli import ml_cmd  # noqa: E402
from lasps.ml.checkpoint import load_file, save_model  # noqa: E402
from lasps.ml.evaluation import evaluate_checkpoint, render_markdown  # noqa: E402
from lasps.ml.models import build_model  # noqa: E402
from lasps.ml.train_config import TrainConfig  # noqa: E402
from lasps.ml.trainer import Trainer  # noqa: E402
from tests.ml.toy_data import make_toy_dataset, one_thread, tiny_config  # noqa: E402, F401

runner = CliRunner()


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(ml_cmd.app, name="ml")
    return app


# ------------------------------------------------------------------------------------------------
# metrics by hand
# ------------------------------------------------------------------------------------------------
def test_classification_metrics_by_hand() -> None:
    y = np.array([0, 0, 1, 1, 1, 2])
    p = np.array([0, 1, 1, 1, 2, 2])
    m = metrics.classification_metrics(y, p)
    assert m["confusion"] == [[1, 1, 0], [0, 2, 1], [0, 0, 1]]
    assert m["accuracy"] == pytest.approx(4 / 6)
    # F1: SELL 2·1/(1+2)=2/3, HOLD 2·2/(3+3)=2/3, BUY 2·1/(2+1)=2/3
    assert m["per_class_f1"] == pytest.approx({"SELL": 2 / 3, "HOLD": 2 / 3, "BUY": 2 / 3})
    assert m["macro_f1"] == pytest.approx(2 / 3)
    assert m["balanced_accuracy"] == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert m["predicted_share"] == pytest.approx({"SELL": 1 / 6, "HOLD": 3 / 6, "BUY": 2 / 6})


def test_losses_and_reference_values() -> None:
    y = np.array([0, 1, 1, 2])
    uniform = np.full((4, 3), 1 / 3)
    assert metrics.cross_entropy(uniform, y) == pytest.approx(math.log(3))
    ref = metrics.loss_reference(uniform, y, train_labels=np.array([1, 1, 1, 0, 2, 1]))
    assert ref["ln3"] == pytest.approx(1.0986, abs=1e-4)
    prior = np.array([1, 4, 1]) / 6
    assert ref["prior_entropy"] == pytest.approx(-(prior * np.log(prior)).sum())
    assert ref["prior_cross_entropy"] == pytest.approx(-np.mean(np.log(prior[y])))
    assert not ref["beats_ln3"]
    np.testing.assert_allclose(metrics.balanced_class_weights(np.array([0, 1, 1, 1])), [4 / 3, 4 / 9, 1.0])


def test_embedding_diagnostics() -> None:
    rng = np.random.default_rng(0)
    e = rng.normal(size=(200, 8))
    u = e / np.linalg.norm(e, axis=1, keepdims=True)
    sim = u @ u.T
    brute = (sim.sum() - np.trace(sim)) / (200 * 199)
    assert metrics.mean_pairwise_cosine(e) == pytest.approx(brute)
    same = np.tile(rng.normal(size=(1, 8)), (50, 1))
    assert metrics.mean_pairwise_cosine(same) == pytest.approx(1.0)
    assert metrics.effective_rank(same) == 0.0
    assert metrics.effective_rank(np.eye(8) * 5) == pytest.approx(7.0, rel=0.05)  # centred identity: rank 7
    line = np.outer(rng.normal(size=100), rng.normal(size=8))
    assert metrics.effective_rank(line) == pytest.approx(1.0, abs=1e-6)
    assert metrics.dims_for_variance(line) == 1


def test_rank_ic_and_deciles() -> None:
    dates = np.repeat(np.arange(5), 20)
    ret = np.random.default_rng(1).normal(size=100)
    ic = metrics.rank_ic(ret * 2 + 1, ret, dates)
    assert ic["mean"] == pytest.approx(1.0) and ic["n_dates"] == 5 and ic["pooled"] == pytest.approx(1.0)
    assert metrics.rank_ic(-ret, ret, dates)["mean"] == pytest.approx(-1.0)
    d = metrics.decile_returns(ret, ret, dates)
    assert d["count"] == [10] * 10 and d["monotonicity"] == pytest.approx(1.0) and d["top_minus_bottom"] > 0
    flat = metrics.rank_ic(np.zeros(100), ret, dates)  # a constant score has no IC on any date
    assert flat["n_dates"] == 0 and math.isnan(flat["mean"])


def test_collapse_check_reasons() -> None:
    ok, reasons = metrics.collapse_check({"SELL": 0.3, "HOLD": 0.4, "BUY": 0.3}, 0.5)
    assert not ok and not reasons
    bad, reasons = metrics.collapse_check({"SELL": 0.0, "HOLD": 1.0, "BUY": 0.0}, 0.5)
    assert bad and "HOLD" in reasons[0] and "51.7%" in reasons[0]
    bad, reasons = metrics.collapse_check({"SELL": 0.3, "HOLD": 0.4, "BUY": 0.3}, 0.97)
    assert bad and "cosine" in reasons[0]


# ------------------------------------------------------------------------------------------------
# models
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny fusion model trained on the learnable toy problem: (model.pt, dataset)."""
    root = tmp_path_factory.mktemp("evaltoy")
    ds = make_toy_dataset(root / "ds", n=600)
    cfg = tiny_config(root / "run", ds, phases=[(1, 4, 3e-3)], max_train_batches=0,
                      model={"fusion": {"d_model": 16, "layers": 1, "heads": 2, "d_ff": 32, "dropout": 0.0}})
    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        Trainer(TrainConfig.from_dict(cfg), progress=False).fit()
    finally:
        torch.set_num_threads(prev)
    return root / "run" / "model.pt", ds


@pytest.mark.usefixtures("one_thread")
def test_healthy_model_is_not_flagged(trained: tuple[Path, Path]) -> None:
    model_pt, ds = trained
    r = evaluate_checkpoint(model_pt, ds, "test")
    assert not r["collapsed"] and r["collapse_reasons"] == []
    c, b = r["classification"], r["baselines"]
    assert c["accuracy"] > b["majority"]["accuracy"] + 0.2 and c["macro_f1"] > b["prior"]["macro_f1"] + 0.2
    assert r["loss"]["beats_ln3"] and r["loss"]["beats_prior"]
    assert b["logistic"]["available"] and b["logistic"]["accuracy"] > 0.6  # the signal is in the last day too
    assert r["scores"]["ic"]["mean"] > 0.5 and r["scores"]["deciles"]["top_minus_bottom"] > 0
    assert r["embedding"]["mean_cosine_similarity"] < 0.95 and r["embedding"]["effective_rank"] > 1
    assert max(c["predicted_share"].values()) < 0.6
    assert sum(row["n"] for row in r["sectors"]) == r["n"] == 120 and len(r["sectors"]) == 13
    saved = json.loads(Path(r["files"]["json"]).read_text())
    assert saved["collapsed"] is False and saved["split"] == "test"
    assert "COLLAPSED" not in Path(r["files"]["markdown"]).read_text()


@pytest.mark.usefixtures("one_thread")
def test_collapsed_model_is_caught_loudly(trained: tuple[Path, Path], tmp_path: Path) -> None:
    """Zeroed fusion weights: every input maps to the same embedding, so one class is predicted for all."""
    model_pt, ds = trained
    obj = load_file(model_pt, "lasps-ml-model")
    cfg = TrainConfig.from_dict(obj["config"])
    model = build_model(cfg.model)
    model.load_state_dict(obj["model"])
    with torch.no_grad():
        model.fusion[0].weight.zero_()
        model.fusion[0].bias.fill_(0.5)
    dead = tmp_path / "dead.pt"
    save_model(dead, model, obj["config"], obj["phase"], obj["meta"])
    res = runner.invoke(_cli(), ["ml", "evaluate", "--checkpoint", str(dead), "--data", str(ds),
                                 "--split", "test", "--fail-on-collapse"], terminal_width=160)
    assert res.exit_code == 3, res.output
    assert "COLLAPSED MODEL" in res.output
    saved = json.loads((tmp_path / "eval_test.json").read_text())
    assert saved["collapsed"] is True and len(saved["collapse_reasons"]) == 2
    assert max(saved["classification"]["predicted_share"].values()) == 1.0
    assert saved["embedding"]["mean_cosine_similarity"] == pytest.approx(1.0)
    assert "COLLAPSED MODEL" in (tmp_path / "eval_test.md").read_text()


@pytest.mark.usefixtures("one_thread")
def test_the_all_hold_regression_illusion(trained: tuple[Path, Path], tmp_path: Path) -> None:
    """A regression model predicting ~0 for everything scores 'accuracy = HOLD share' — and is flagged."""
    _, ds = trained
    cfg = TrainConfig.from_dict(tiny_config(tmp_path, ds, task="regression"))
    torch.manual_seed(0)
    model = build_model(cfg.model)
    with torch.no_grad():
        model.common_head.fc2.weight.mul_(1e-3)
        model.common_head.fc2.bias.fill_(0.003)
    path = tmp_path / "reg.pt"
    save_model(path, model, cfg.to_dict(), 1)
    r = evaluate_checkpoint(path, ds, "test")
    c = r["classification"]
    assert c["predicted_share"]["HOLD"] == 1.0
    assert c["accuracy"] == pytest.approx(c["true_share"]["HOLD"])  # the illusion, exactly
    assert r["collapsed"] and "HOLD" in r["collapse_reasons"][0]
    reg = r["regression"]
    assert reg["spread_ratio"] < metrics.MIN_SPREAD_RATIO and reg["target_std"] > 0.02
    assert any("prediction spread" in w for w in r["warnings"])
    assert "ridge" in r["baselines"] and r["baselines"]["ridge"]["ic"] > 0.5
    md = render_markdown(r)
    assert "## Regression" in md and "COLLAPSED" in md
