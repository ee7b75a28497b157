"""The executor contract without Ray: selection by name, errors, the local executor, batch plans.

The process-pool tests share one two-worker pool (spawn start method); arrays arrive in the workers as
copy-on-write views of a shared file and must give the same bits as the in-process path.
"""

from __future__ import annotations

import operator
import sys
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from lasps.alpha.engine import compile_alphas, compute, plan_batches, run_batches
from lasps.cli import alpha_cmd, eval_cmd
from lasps.config import Settings, get_settings
from lasps.errors import ConfigError
from lasps.research.evaluate import EvalConfig, evaluate, evaluate_alphas
from lasps.research.walkforward import grid_configs, grid_table, walk_forward_grid
from lasps.scale import Executor, LocalExecutor, executor_name, get_executor
from lasps.scale.base import balanced_chunks, windowed
from lasps.scale.local import load_shared, write_shared
from tests.alpha.synthetic_panel import make_panel
from tests.scale.compare import assert_same_alphas, assert_same_evaluation, assert_same_walk_forward, same_bits

# a handful of alphas covering the kernel families: ts_argmax/stddev/signedpower (1), ts_rank (4),
# sign/delta (12), covariance (13), correlation (44), indneutralize (48), elementwise (101), vwap (5)
ALPHAS = [1, 4, 5, 12, 13, 44, 48, 101]


@pytest.fixture(scope="module")
def panel():
    return make_panel(160, 24, seed=3)


@pytest.fixture(scope="module")
def pool():
    with LocalExecutor(2) as ex:
        yield ex


# --------------------------------------------------------------------------------- by name


def test_executor_name_from_argument_settings_and_environment(monkeypatch):
    assert executor_name(None) == "local"
    assert executor_name(" Ray ") == "ray"
    assert executor_name(None, Settings(executor="RAY")) == "ray"
    monkeypatch.setenv("LASPS_EXECUTOR", "ray")
    monkeypatch.setenv("LASPS_RAY_ADDRESS", "10.0.0.1:6379")
    s = get_settings()
    assert executor_name(None, s) == "ray" and s.ray_address == "10.0.0.1:6379"
    assert executor_name("local", s) == "local"  # the argument wins over the settings


@pytest.mark.parametrize("name", ["dask", "", "spark"])
def test_unknown_executor_is_a_config_error(name):
    with pytest.raises(ConfigError, match="unknown executor") as exc:
        get_executor(name)
    assert "local, ray" in exc.value.render()
    with pytest.raises(ConfigError, match="unknown executor"):
        get_executor(None, Settings(executor=name))


def test_ray_missing_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    with pytest.raises(ConfigError) as exc:
        get_executor("ray")
    text = exc.value.render()
    assert "not installed" in text and "pip install 'lasps[ray]'" in text
    with pytest.raises(ConfigError, match="not installed"):
        get_executor(None, Settings(executor="ray"))


def test_cli_rejects_unknown_or_missing_executor_before_loading_data(tmp_path, monkeypatch):
    root = typer.Typer()
    root.add_typer(alpha_cmd.app, name="alpha")
    root.add_typer(eval_cmd.app, name="eval")
    runner = CliRunner()
    env = {"LASPS_HOME": str(tmp_path / "empty"), "COLUMNS": "200"}
    res = runner.invoke(root, ["alpha", "compute", "--executor", "dask"], env=env)
    assert res.exit_code == 2 and "unknown executor 'dask'" in res.output
    monkeypatch.setitem(sys.modules, "ray", None)
    for args in (["alpha", "compute", "--executor", "ray"], ["eval", "walkforward", "--executor", "ray"]):
        res = runner.invoke(root, args, env=env)
        assert res.exit_code == 2, res.output
        assert "pip install 'lasps[ray]'" in res.output
    res = runner.invoke(root, ["alpha", "compute"], env={**env, "LASPS_EXECUTOR": "ray"})
    assert res.exit_code == 2 and "not installed" in res.output


# ------------------------------------------------------------------------------ the contract


def test_local_executor_is_an_executor_and_runs_in_process():
    with LocalExecutor() as ex:
        assert isinstance(ex, Executor) and ex.in_process and ex.workers == 1
        shared = np.arange(4.0)
        handle = ex.put(shared)
        out = list(ex.map(np.multiply, [1.0, 2.0], shared=handle))
        assert out[1] is not shared and same_bits(out[1], shared * 2)
        assert list(ex.map(operator.neg, [1, 2, 3])) == [-1, -2, -3]
        assert sorted(ex.imap_unordered(operator.neg, [1, 2])) == [(0, -1), (1, -2)]
        assert list(ex.map(operator.neg, [])) == []
        assert list(ex.map(lambda x: x + 1, [1])) == [2]  # closures are fine in-process
    with pytest.raises(RuntimeError, match="closed"):
        list(ex.map(operator.neg, [1]))
    with pytest.raises(ConfigError, match="workers"):
        LocalExecutor(-1)


def test_pool_orders_results_shares_once_and_raises_task_errors(pool):
    assert pool.workers == 2 and not pool.in_process
    shared = np.arange(6.0).reshape(2, 3)
    handle = pool.put(shared)
    assert Path(handle.path).is_file() and handle.nbytes >= shared.nbytes
    assert all(same_bits(r, shared * k) for r, k in zip(pool.map(np.multiply, [1.0, 2.0, 3.0], shared=handle),
                                                         [1.0, 2.0, 3.0], strict=True))
    got = dict(pool.imap_unordered(operator.mul, range(7), shared=10))
    assert got == {i: 10 * i for i in range(7)}
    with pytest.raises(ZeroDivisionError):
        list(pool.map(operator.truediv, [1, 0, 2], shared=1.0))
    with pytest.raises(ConfigError, match="another executor"):
        list(pool.map(operator.neg, [1], shared=LocalExecutor().put(1)))


def test_shared_file_round_trip_is_zero_copy_and_copy_on_write(tmp_path, panel):
    handle = write_shared(panel, str(tmp_path))
    try:
        got = load_shared(handle)
        assert got is load_shared(handle)  # cached per process
        for name, arr in panel.fields.items():
            assert same_bits(got.fields[name], arr)
            assert got.fields[name].flags.writeable  # a private page on write, never the file
        assert got.fields["close"].ctypes.data % 64 == 0
        got.fields["close"][0, 0] = -1.0
        from lasps.scale import local

        local._CACHE.clear()  # a fresh mapping sees the file: the write above never reached it
        assert same_bits(load_shared(handle).fields["close"], panel.fields["close"])
    finally:
        handle.release()
    assert not Path(handle.path).exists()


def test_windowed_bounds_in_flight_and_cancels_on_early_stop():
    submitted: list[int] = []
    cancelled: list[int] = []
    gen = windowed(range(10), lambda x: (submitted.append(x), x)[1], lambda toks: toks[:1], lambda t: t * 2,
                   cancelled.append, max_in_flight=3, ordered=True)
    assert next(gen) == (0, 0)
    assert len(submitted) == 3
    gen.close()
    assert cancelled == [1, 2]


def test_balanced_chunks():
    assert balanced_chunks(list(range(7)), 3) == [[0, 1, 2], [3, 4], [5, 6]]
    assert balanced_chunks([1], 4) == [[1]]
    assert balanced_chunks([], 2) == []


# ----------------------------------------------------------------------------- batch plans


def test_plan_batches_covers_every_alpha_once_and_keeps_sharing(panel):
    program = compile_alphas(list(range(1, 102)), panel)
    one = plan_batches(program, 1)
    assert one.batches == [program.names] and one.recomputed == 0.0
    for n in (2, 5, 200):
        plan = plan_batches(program, n)
        flat = [a for b in plan.batches for a in b]
        assert sorted(flat) == sorted(program.names) and len(flat) == len(set(flat))
        assert len(plan.batches) == min(n, len(program.names))
        assert plan.recomputed >= 0.0 and plan.imbalance >= 1.0
        assert plan == plan_batches(program, n)  # deterministic
    two = plan_batches(program, 2)
    assert two.recomputed < 0.25 and two.imbalance < 1.2


# ------------------------------------------------------------------- identical results: pool


def test_compute_on_local_executors_is_bit_identical(panel, pool):
    want = compute(panel, ALPHAS)
    assert_same_alphas(compute(panel, ALPHAS, executor=LocalExecutor(), batches=3), want)
    assert_same_alphas(compute(panel, ALPHAS, executor=pool), want)
    assert_same_alphas(compute(panel, ALPHAS, executor=pool, batches=len(ALPHAS)), want)
    no_vwap = make_panel(80, 12, with_value=False)
    got = compute(no_vwap, [5, 101], executor=pool)
    assert list(got) == ["alpha_101"] and "vwap" in got.unavailable["alpha_005"]


def test_run_batches_with_a_sink_returns_what_the_sink_returns(panel, pool):
    program = compile_alphas([1, 101], panel)
    got = dict(run_batches(program, pool.put(panel), pool, sink=_nan_count))
    want = {name: int(np.isnan(arr).sum()) for name, arr in program.run(panel)}
    assert got == want


def _nan_count(name: str, values: np.ndarray, panel: object) -> int:
    return int(np.isnan(values).sum())


def test_evaluation_and_walk_forward_grid_on_the_pool_are_bit_identical(panel, pool):
    cfg = EvalConfig(horizon=5)
    want = evaluate(panel, compute(panel, ALPHAS), cfg)
    assert_same_evaluation(evaluate_alphas(panel, ALPHAS, cfg), want)
    assert_same_evaluation(evaluate_alphas(panel, ALPHAS, cfg, executor=pool), want)
    configs = grid_configs([1, 3], [30, 60])
    seq = walk_forward_grid(want, configs)
    assert [(r.config.lookback, r.config.top) for r in seq] == [(30, 1), (30, 3), (60, 1), (60, 3)]
    assert_same_walk_forward(walk_forward_grid(want, configs, executor=pool), seq)
    table = grid_table(seq)
    assert list(table[["lookback", "top"]].itertuples(index=False, name=None)) == [(30, 1), (30, 3), (60, 1), (60, 3)]
    assert np.isfinite(table["wf_ls_ann"]).all()
