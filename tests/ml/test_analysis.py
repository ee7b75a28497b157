"""The work log's analyses produce their tables (and CSVs through the CLI)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer
from typer.testing import CliRunner

from lasps.cli import ml_cmd
from lasps.ml import analysis
from lasps.ml.dataset import MLDataset
from lasps.ml.features import FEATURE_NAMES

runner = CliRunner()


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(ml_cmd.app, name="ml")
    return app


def test_feature_discrimination_and_redundancy(ml_dataset: Path) -> None:
    ds = MLDataset(ml_dataset)
    disc = analysis.feature_discrimination(ds)
    assert len(disc) == 28 and set(disc["feature"]) == set(FEATURE_NAMES)
    assert {"mean_sell", "mean_hold", "mean_buy", "diff_buy_sell", "effect", "t_stat"} <= set(disc.columns)
    close = disc.set_index("feature").loc["close"]
    assert close["constant"] and close["mean_buy"] == 0.0  # close / last close - 1 = 0 on the sample date
    assert (disc["abs_diff"].diff().dropna() <= 1e-12).all()
    pairs = analysis.redundant_pairs(ds)
    key = {frozenset(p) for p in zip(pairs["feature_a"], pairs["feature_b"], strict=True)}
    assert frozenset({"ma20", "bb_middle"}) in key  # identical by definition (r = 1)
    assert (pairs["r"].abs() > 0.9).all()


def test_single_feature_accuracy(ml_dataset: Path) -> None:
    frame = analysis.single_feature_accuracy(MLDataset(ml_dataset))
    assert frame.loc[0, "feature"] == "random (1/3)"
    assert frame.loc[1, "feature"].startswith("majority class")
    assert abs(frame.loc[1, "val"] - 1 / 3) < 1e-12  # a constant guess has balanced accuracy 1/3
    rules = frame.iloc[2:]
    assert len(rules) >= 20 and (rules["train"] >= 1 / 3 - 1e-9).all()
    assert rules[["val", "test"]].notna().all().all()


def test_best_rule_finds_a_planted_threshold() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 3000)
    y = np.where(x < -0.3, 0, np.where(x > 0.4, 2, 1)).astype(np.int8)
    lo, hi, direction, score = analysis._best_rule(x, y, 19)
    assert direction == 1 and score > 0.95 and abs(lo + 0.3) < 0.12 and abs(hi - 0.4) < 0.12
    lo, hi, direction, score = analysis._best_rule(-x, y, 19)
    assert direction == -1 and score > 0.95


def test_patterns_by_hand() -> None:
    rng = np.random.default_rng(1)
    W = rng.normal(size=(4, 60, 28))
    P = analysis.pattern_matrix(W, FEATURE_NAMES)
    assert P.shape == (4, 36) and len(analysis.PATTERN_NAMES) == 36
    j = FEATURE_NAMES.index("rsi14")
    k = analysis.PATTERN_NAMES.index("rsi14_trend_60")
    x = W[1, :, j]
    np.testing.assert_allclose(P[1, k], np.polyfit(np.arange(60), x, 1)[0])
    np.testing.assert_allclose(P[1, k + 1], np.polyfit(np.arange(20), x[-20:], 1)[0])
    np.testing.assert_allclose(P[1, k + 2], x[-1] - x[-21])
    np.testing.assert_allclose(P[1, k + 3], x[-1] - x[-6])
    np.testing.assert_allclose(P[1, k + 4], x[-1])
    np.testing.assert_allclose(P[1, k + 5], x.std())


def test_ridge_matches_least_squares() -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(500, 6))
    y = X @ np.arange(6.0) + 3.0 + rng.normal(size=500)
    beta, b0 = analysis.ridge_fit(X, y, 0.0)
    ref = np.linalg.lstsq(np.c_[X, np.ones(500)], y, rcond=None)[0]
    np.testing.assert_allclose(np.r_[beta, b0], ref, atol=1e-8)
    shrunk, _ = analysis.ridge_fit(X, y, 1e4)
    assert np.abs(shrunk).sum() < np.abs(beta).sum()


def test_nonstationarity_and_ridge_tables(ml_dataset: Path) -> None:
    ds = MLDataset(ml_dataset)
    P = analysis.dataset_patterns(ds)
    ns = analysis.nonstationarity(ds, patterns=P)
    assert len(ns) == 28 + 36 and {"corr_train", "corr_val", "corr_test", "sign_flip"} <= set(ns.columns)
    assert ns["corr_train"].abs().max() < 1
    by_alpha, by_pattern = analysis.pattern_ridge(ds, patterns=P)
    assert list(by_alpha["alpha"]) == list(analysis.DEFAULT_ALPHAS)
    assert {"train", "cv_mean", "cv_std", "val", "test", "r2_test"} <= set(by_alpha.columns)
    assert by_alpha[["train", "cv_mean", "val", "test"]].notna().all().all()
    assert (by_alpha["train"] > 0).all()  # in sample, the fit always correlates
    assert len(by_pattern) == 36


def test_cli_writes_csv(ml_dataset: Path, tmp_path: Path) -> None:
    app = _cli()
    for cmd, files in (("features", ["features_discrimination_train.csv", "features_redundant_train.csv"]),
                       ("single", ["single_feature_accuracy.csv"]),
                       ("nonstationarity", ["nonstationarity.csv"]),
                       ("patterns", ["patterns_ridge.csv", "patterns_coefficients.csv"])):
        res = runner.invoke(app, ["ml", "analyze", cmd, str(ml_dataset), "--out", str(tmp_path)])
        assert res.exit_code == 0, res.output
        for f in files:
            assert (tmp_path / f).stat().st_size > 100, f
    res = runner.invoke(app, ["ml", "analyze", "patterns", str(ml_dataset), "--alphas", "x", "--out", str(tmp_path)])
    assert res.exit_code == 2


def test_ridge_from_moments_equals_direct_fit() -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 5))
    y = X @ rng.normal(size=5) + rng.normal(size=400)
    for alpha in (0.0, 10.0):
        direct = analysis.ridge_fit(X, y, alpha)
        moments = analysis._ridge_from_moments(400.0, X.sum(0), float(y.sum()), X.T @ X, X.T @ y, alpha)
        np.testing.assert_allclose(direct[0], moments[0], atol=1e-9)
        assert abs(direct[1] - moments[1]) < 1e-9
