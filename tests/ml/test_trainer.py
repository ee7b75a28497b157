"""Trainer: three phases, exact resume (bit for bit), early stopping, checkpoints, configs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lasps.errors import ConfigError  # noqa: E402
from lasps.ml.checkpoint import CHECKPOINT_FORMAT, MODEL_FORMAT, load_file, load_model  # noqa: E402
from lasps.ml.train_config import TrainConfig  # noqa: E402
from lasps.ml.trainer import Trainer, epoch_indices  # noqa: E402
from tests.ml.toy_data import make_toy_dataset, one_thread, tiny_config  # noqa: E402, F401

pytestmark = pytest.mark.usefixtures("one_thread")

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_toy_dataset(tmp_path_factory.mktemp("toy") / "ds", n=390)


def fit(cfg: dict, **kw: object) -> object:
    return Trainer(TrainConfig.from_dict(cfg), progress=False).fit(**kw)  # type: ignore[arg-type]


def state_of(run: Path, name: str = "model.pt") -> dict[str, torch.Tensor]:
    fmt = MODEL_FORMAT if name != "checkpoint.pt" else CHECKPOINT_FORMAT
    return load_file(run / name, fmt)["model"]


def assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def losses(run: Path) -> list[tuple[float, float]]:
    import json

    return [(h["train_loss"], h["val"]["loss"]) for h in json.loads((run / "history.json").read_text())]


def test_resume_after_two_epochs_is_bit_exact(toy: Path, tmp_path: Path) -> None:
    """2 epochs + resume for 2 more == 4 uninterrupted epochs (phase 1 ×2, phase 2, phase 3)."""
    full = tmp_path / "full"
    res = fit(tiny_config(full, toy))
    assert res.completed and len(res.history) == 4
    parts = tmp_path / "parts"
    first = fit(tiny_config(parts, toy), stop_after_epochs=2)
    assert not first.completed and first.state.phase_index == 1 and first.state.epoch == 0
    assert not (parts / "model.pt").exists()
    second = fit(tiny_config(parts, toy), resume=True)
    assert second.completed and second.resumed
    assert_same(state_of(full), state_of(parts))
    assert_same(state_of(full, "checkpoint.pt"), state_of(parts, "checkpoint.pt"))
    assert losses(full) == losses(parts)


def test_resume_inside_an_epoch_with_accumulation(toy: Path, tmp_path: Path) -> None:
    """Stopped after 3 optimizer steps (mid-epoch, 2 batches per step) and resumed: still bit-exact."""
    kw = dict(phases=[(1, 2, 3e-3), (3, 1, 1e-3)], accumulation=2, max_train_batches=5)
    full = tmp_path / "full"
    fit(tiny_config(full, toy, **kw))
    parts = tmp_path / "parts"
    first = fit(tiny_config(parts, toy, **kw), stop_after_steps=2)
    assert first.state.batch_in_epoch == 4 and first.state.global_step == 2 and first.state.epoch == 0
    ck = load_file(parts / "checkpoint.pt", CHECKPOINT_FORMAT)
    assert ck["optimizer"] is not None and ck["state"]["batch_in_epoch"] == 4
    fit(tiny_config(parts, toy, **kw), resume=True, stop_after_steps=3)
    fit(tiny_config(parts, toy, **kw), resume=True)
    assert_same(state_of(full), state_of(parts))
    assert losses(full) == losses(parts)


def test_phases_freeze_and_route(toy: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    cfg = tiny_config(run, toy, phases=[(1, 1, 3e-3), (2, 1, 3e-2), (3, 1, 1e-2)],
                      early_stopping={"restore_best": False})
    fit(cfg, stop_after_epochs=1)
    s1 = state_of(run, "checkpoint.pt")
    fit(cfg, resume=True, stop_after_epochs=1)
    s2 = state_of(run, "checkpoint.pt")
    fit(cfg, resume=True)
    s3 = state_of(run)

    def part(s: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
        return {k: v for k, v in s.items() if k.startswith(prefix)}

    backbone = ("ts_encoder.", "fusion.")
    # phase 2: backbone and common head frozen, sector heads trained from copies of the common head
    for p in (*backbone, "common_head."):
        assert_same(part(s1, p), part(s2, p))
    w1 = s2["sector_heads.w1"]
    assert not torch.allclose(w1, s1["common_head.fc1.weight"].expand_as(w1))
    assert not all(torch.equal(w1[0], w1[k]) for k in range(1, 13))  # each sector head moved on its own
    # phase 3: common head still frozen, backbone and sector heads fine-tuned
    assert_same(part(s1, "common_head."), part(s3, "common_head."))
    assert not torch.equal(s2["ts_encoder.input_proj.weight"], s3["ts_encoder.input_proj.weight"])
    assert not torch.equal(s2["sector_heads.w2"], s3["sector_heads.w2"])
    model, _, obj = load_model(run / "model.pt")
    assert obj["phase"] == 3 and not model.training
    assert obj["meta"]["train_prior"] and len(obj["meta"]["class_weights"]) == 3


def test_early_stopping_restores_the_best_epoch(toy: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    res = fit(tiny_config(run, toy, phases=[(1, 6, 3e-3)], early_stopping={"patience": 1, "min_delta": 10.0}))
    assert res.completed and len(res.history) == 2  # epoch 2 cannot improve by 10 -> phase ends
    assert res.history[0]["improved"] and not res.history[1]["improved"]
    assert_same(state_of(run, "phase1_best.pt"), state_of(run))  # the best (first) epoch's weights


def test_run_directory_guards(toy: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    cfg = tiny_config(run, toy, phases=[(1, 1, 1e-3)])
    fit(cfg)
    with pytest.raises(ConfigError, match="already holds"):
        fit(cfg)
    other = tiny_config(run, toy, phases=[(1, 1, 1e-3)], optim={"weight_decay": 0.5})
    with pytest.raises(ConfigError, match=r"optim\.weight_decay"):
        fit(other, resume=True)
    moved = make_toy_dataset(tmp_path / "other_ds", n=390, seed=9)
    with pytest.raises(ConfigError, match="not the dataset"):
        fit(tiny_config(run, moved, phases=[(1, 1, 1e-3)]), resume=True)
    res = fit(other, overwrite=True)
    assert res.completed and not res.resumed
    assert not list(run.glob("*.tmp-*"))  # atomic writes leave no temp files
    assert TrainConfig.from_toml(run / "config.toml").optim.weight_decay == 0.5


def test_save_every_steps_checkpoints_inside_the_epoch(toy: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    saved: list[tuple[int, int]] = []
    orig = Trainer._save_checkpoint

    def spy(self: Trainer, state: object, with_optimizer: bool) -> None:
        saved.append((state.epoch, state.batch_in_epoch))  # type: ignore[attr-defined]
        orig(self, state, with_optimizer)  # type: ignore[arg-type]

    monkeypatch.setattr(Trainer, "_save_checkpoint", spy)
    fit(tiny_config(tmp_path / "r", toy, phases=[(1, 1, 1e-3)], max_train_batches=5, run={"save_every_steps": 2}))
    assert saved == [(0, 2), (0, 4), (0, 0)]  # after steps 2 and 4, then at the phase's end


def test_class_weights_schedule_and_cpu_amp(toy: Path, tmp_path: Path) -> None:
    cfg = TrainConfig.from_dict(tiny_config(tmp_path / "r", toy, phases=[(1, 2, 1e-2)], data={"balanced": True}))
    tr = Trainer(cfg, progress=False)
    res = tr.fit()
    labels = np.load(toy / "labels.npy")[:234]
    counts = np.bincount(labels, minlength=3)
    np.testing.assert_allclose(tr.class_weights.numpy(), len(labels) / (3 * counts), rtol=1e-6)
    assert not tr.amp and not tr.scaler.is_enabled()  # AMP only on CUDA
    lrs = [h["lr"] for h in res.history]
    assert lrs[-1] == pytest.approx(1e-2 * 0.01)  # cosine decays to min_lr_ratio · lr
    assert res.history[0]["val"]["n"] == 78 and math.isfinite(res.history[0]["val"]["loss"])


@pytest.mark.parametrize("task", ["regression", "multistep"])
def test_regression_tasks_train(toy: Path, tmp_path: Path, task: str) -> None:
    res = fit(tiny_config(tmp_path / "r", toy, kind="patchtst", task=task, phases=[(1, 1, 1e-3), (2, 1, 1e-3)]))
    v = res.history[-1]["val"]
    assert res.completed and "spread_ratio" in v and sum(v["predicted_share"].values()) == pytest.approx(1.0)


def test_epoch_indices_are_a_pure_function_and_shard_cleanly() -> None:
    a = epoch_indices(101, seed=5, epoch_key=3)
    assert a == epoch_indices(101, seed=5, epoch_key=3) and a != epoch_indices(101, seed=5, epoch_key=4)
    assert sorted(a) == list(range(101))
    shards = [epoch_indices(101, seed=5, epoch_key=3, rank=r, world_size=2) for r in range(2)]
    assert len(shards[0]) == len(shards[1]) == 51
    assert set(shards[0]) | set(shards[1]) == set(range(101))
    w = np.r_[np.ones(50), np.full(51, 100.0)]
    drawn = epoch_indices(101, seed=1, epoch_key=0, weights=w)
    assert np.mean(np.asarray(drawn) >= 50) > 0.9


def test_example_configs_parse_and_round_trip() -> None:
    for name in ("train_fusion.toml", "train_patchtst.toml"):
        cfg = TrainConfig.from_toml(EXAMPLES / name)
        again = TrainConfig.from_dict(__import__("tomllib").loads(cfg.to_toml()))
        assert again == cfg and not cfg.diff(again)
    f = TrainConfig.from_toml(EXAMPLES / "train_fusion.toml")
    assert f.model.kind == "fusion" and f.model.chart and [p.phase for p in f.phases] == [1, 2, 3]
    p = TrainConfig.from_toml(EXAMPLES / "train_patchtst.toml")
    assert p.model.kind == "patchtst" and not p.model.chart and p.model.out_dim == 1


@pytest.mark.parametrize(("patch", "match"), [
    ({"model": {"kind": "lstm"}}, "model.kind"),
    ({"model": {"colour": 1}}, "unknown key model.colour"),
    ({"data": {"batch_size": "big"}}, "data.batch_size must be an integer"),
    ({"optim": {"class_weights": [1, 2]}}, "optim.class_weights"),
    ({"phases": [{"phase": 2, "epochs": 1, "lr": 1e-3}]}, "starts with phase 1"),
    ({"model": {"fusion": {"d_model": 30, "heads": 4}}}, "not divisible"),
])
def test_config_errors_name_the_key(patch: dict, match: str, tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path, tmp_path)
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(cfg.get(k), dict):
            for kk, vv in v.items():
                if isinstance(vv, dict):
                    cfg[k][kk] = {**cfg[k].get(kk, {}), **vv}
                else:
                    cfg[k][kk] = vv
        else:
            cfg[k] = v
    with pytest.raises(ConfigError, match=match):
        TrainConfig.from_dict(cfg)
