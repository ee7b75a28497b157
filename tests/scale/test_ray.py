"""The Ray executor gives the same bits as the local one: alphas, evaluations, walk-forward grids, CLI.

One local Ray instance (2 CPUs, no dashboard, loopback only) serves the whole module and is shut down
at the end. Skipped when Ray is not installed (it is the optional ``ray`` extra). The first run on a
machine also compiles numba's read-only-array variants of the kernels in the Ray workers (shared
objects arrive read-only from the object store); later runs load them from numba's cache.
"""

from __future__ import annotations

import logging
import operator
import shutil

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

ray = pytest.importorskip("ray", reason="ray is not installed: `pip install 'lasps[ray]'` (the optional "
                                        "extra) to run the Ray executor tests")

from lasps.alpha.engine import compile_alphas, compute, run_batches  # noqa: E402
from lasps.cli.main import app  # noqa: E402
from lasps.research.evaluate import EvalConfig, evaluate, evaluate_alphas  # noqa: E402
from lasps.research.walkforward import grid_configs, walk_forward_grid  # noqa: E402
from lasps.scale import LocalExecutor, get_executor  # noqa: E402
from lasps.scale.ray_executor import RayExecutor, RayShared  # noqa: E402
from tests.alpha.synthetic_panel import make_panel  # noqa: E402
from tests.research.conftest import market_bundle, noise_alpha, store_market  # noqa: E402
from tests.scale.compare import (  # noqa: E402
    assert_same_alphas,
    assert_same_evaluation,
    assert_same_walk_forward,
    same_bits,
)

ALPHAS = [1, 4, 12, 13, 44, 48, 101]


@pytest.fixture(scope="module")
def ray_ex():
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    ex = RayExecutor()
    yield ex
    ex.close()
    if started:
        ray.shutdown()


@pytest.fixture(scope="module")
def panel():
    return make_panel(160, 24, seed=5)


def test_get_executor_joins_the_running_instance_and_leaves_it_running(ray_ex):
    with get_executor("ray") as ex:
        assert isinstance(ex, RayExecutor) and ex.workers == 2
    assert ray.is_initialized()  # this executor did not start Ray, so it did not stop it


def test_ray_map_orders_results_shares_once_and_raises_task_errors(ray_ex):
    shared = np.arange(6.0)
    handle = ray_ex.put(shared)
    assert isinstance(handle, RayShared)
    got = list(ray_ex.map(np.multiply, [1.0, 2.0, 3.0], shared=handle))
    assert all(same_bits(g, shared * k) for g, k in zip(got, [1.0, 2.0, 3.0], strict=True))
    assert dict(ray_ex.imap_unordered(operator.neg, range(5))) == {i: -i for i in range(5)}
    with pytest.raises(ZeroDivisionError):
        list(ray_ex.map(operator.truediv, [1, 0], shared=1.0))


def test_compute_on_ray_is_bit_identical_to_local(ray_ex, panel):
    want = compute(panel, ALPHAS)
    assert_same_alphas(compute(panel, ALPHAS, executor=ray_ex), want)
    assert_same_alphas(compute(panel, ALPHAS, executor=ray_ex, batches=4), want)
    program = compile_alphas(ALPHAS, panel)
    handle = ray_ex.put(panel)
    streamed = dict(run_batches(program, handle, ray_ex, batches=3))
    assert set(streamed) == set(want) and all(same_bits(streamed[k], want[k]) for k in want)


def test_evaluation_and_walk_forward_on_ray_are_bit_identical_to_local(ray_ex, panel):
    cfg = EvalConfig(horizon=5)
    want = evaluate(panel, compute(panel, ALPHAS), cfg)
    ev = evaluate_alphas(panel, ALPHAS, cfg, executor=ray_ex)
    assert_same_evaluation(ev, want)
    assert all(z.flags.writeable for z in ev.zranks.values())  # not views pinning the object store
    configs = grid_configs([1, 3], [30, 60])
    local = walk_forward_grid(want, configs, executor=LocalExecutor())
    assert_same_walk_forward(walk_forward_grid(ev, configs, executor=ray_ex), local)


def test_cli_alpha_compute_and_walkforward_with_ray_match_local(ray_ex, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    store_market(home, market_bundle(n_stocks=16, n_days=320), {"alpha_002": lambda p: noise_alpha(p, seed=2)})
    runner = CliRunner()
    runs = {}
    for tag, extra in (("local", []), ("ray", ["--executor", "ray", "--batches", "2"])):
        res = runner.invoke(app, ["alpha", "compute", "--alphas", "1,12,101", *extra],
                            env={"LASPS_HOME": str(home), "COLUMNS": "200"})
        assert res.exit_code == 0, res.output
        runs[tag] = {p.name: pq.read_table(p) for p in sorted((home / "alphas").glob("alpha_*.parquet"))}
    assert "executor ray: 2 worker(s), 2 batch(es)" in res.output
    assert list(runs["ray"]) == list(runs["local"])
    assert all(runs["ray"][k].equals(runs["local"][k]) for k in runs["local"])

    grids = {}
    for tag, env in (("local", {}), ("ray", {"LASPS_EXECUTOR": "ray"})):
        res = runner.invoke(app, ["eval", "walkforward", "--top", "1", "--lookback", "40", "--grid-top", "1,2",
                                  "--grid-lookback", "30,40"],
                            env={"LASPS_HOME": str(home), "COLUMNS": "200", **env})
        assert res.exit_code == 0, res.output
        assert "walk-forward grid — 4 configurations tried" in res.output
        grids[tag] = pd.read_csv(home / "research" / "walkforward_grid_latest.csv")
        shutil.copy(home / "research" / "rank_latest.csv", tmp_path / f"rank_{tag}.csv")
    pd.testing.assert_frame_equal(grids["ray"], grids["local"], check_exact=True)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "rank_ray.csv"), pd.read_csv(tmp_path / "rank_local.csv"),
                                  check_exact=True)
