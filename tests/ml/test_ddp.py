"""DDP through torchrun: two CPU processes on the gloo backend train the same model."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from lasps.ml.checkpoint import CHECKPOINT_FORMAT, load_file  # noqa: E402
from lasps.ml.train_config import TrainConfig  # noqa: E402
from tests.ml.toy_data import make_toy_dataset, tiny_config  # noqa: E402

WORKER = textwrap.dedent("""
    import os, sys
    import torch
    from lasps.ml.train_config import TrainConfig
    from lasps.ml.trainer import Trainer

    cfg = TrainConfig.from_toml(sys.argv[1])
    trainer = Trainer(cfg, progress=False)
    result = trainer.fit()
    rank = int(os.environ["RANK"])
    torch.save({"state": {k: v.detach().cpu() for k, v in trainer.model.state_dict().items()},
                "world_size": result.world_size, "completed": result.completed},
               os.path.join(sys.argv[2], f"rank{rank}.pt"))
""")


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch built without distributed")
def test_two_cpu_processes_on_gloo(tmp_path: Path) -> None:
    ds = make_toy_dataset(tmp_path / "ds", n=260)
    run = tmp_path / "run"
    cfg = TrainConfig.from_dict(tiny_config(run, ds, phases=[(1, 1, 3e-3), (2, 1, 3e-3), (3, 1, 1e-3)],
                                            max_train_batches=3))
    cfg_path = tmp_path / "cfg.toml"
    cfg_path.write_text(cfg.to_toml(), encoding="utf-8")
    worker = tmp_path / "worker.py"
    worker.write_text(WORKER, encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(worker),
         str(cfg_path), str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    assert all(r["completed"] and r["world_size"] == 2 for r in ranks)
    a, b = ranks[0]["state"], ranks[1]["state"]
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k  # gradients were averaged: both ranks hold the same weights
    assert (run / "model.pt").is_file() and (run / "checkpoint.pt").is_file()
    ck = load_file(run / "checkpoint.pt", CHECKPOINT_FORMAT)
    assert ck["world_size"] == 2 and len(ck["rng"]) == 2  # every rank's RNG state, for an exact resume
    assert ck["state"]["finished"]
    final = load_file(run / "model.pt", "lasps-ml-model")
    for k in a:
        assert torch.equal(final["model"][k], a[k]), k
    assert not list(run.glob("*.tmp-*"))
    # each rank trained on its own shard: 3 batches of 16 per rank -> 96 samples per epoch in total
    assert ck["state"]["history"][0]["samples"] == 96
