"""Models: shapes, parameter counts by hand formula, channel independence, sector routing, phases."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from lasps.ml.models import (  # noqa: E402
    ChartCNN,
    LASPSFusionModel,
    MLPHead,
    PatchTSTModel,
    SectorHeads,
    build_model,
)
from lasps.ml.models.patchtst import num_patches  # noqa: E402
from lasps.ml.train_config import FusionParams, ModelConfig, PatchTSTParams  # noqa: E402
from tests.ml.toy_data import one_thread  # noqa: E402, F401

pytestmark = pytest.mark.usefixtures("one_thread")


def n_params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def linear(i: int, o: int) -> int:
    return i * o + o


def encoder_layer(d: int, ff: int) -> int:
    """nn.TransformerEncoderLayer: in_proj 3d·d + 3d, out_proj d·d + d, FFN, two LayerNorms."""
    return (3 * d * d + 3 * d) + linear(d, d) + linear(d, ff) + linear(ff, d) + 2 * 2 * d


def head(e: int, h: int, o: int) -> int:
    return linear(e, h) + linear(h, o)


def chart_cnn(channels: tuple[int, ...], out: int) -> int:
    total, c_in = 0, 3
    for c in channels:
        total += c_in * c * 9 + 2 * c  # conv (no bias) + BatchNorm weight/bias
        c_in = c
    return total + linear(c_in, out)


def test_fusion_shapes_and_parameter_count() -> None:
    m = LASPSFusionModel().eval()
    B = 3
    ts = torch.randn(B, 60, 28)
    chart = torch.randint(0, 256, (B, 3, 224, 224), dtype=torch.uint8)
    sector = torch.tensor([0, 5, 12])
    with torch.no_grad():
        out, emb = m.forward_with_embedding(ts, chart, sector, phase=2)
        assert m(ts, chart, sector, phase=1).shape == (B, 3)
    assert out.shape == (B, 3) and emb.shape == (B, 128)
    assert m.ts_encoder(ts).shape == (B, 128)
    assert m.chart_cnn is not None and m.chart_cnn(chart).shape == (B, 128)

    d, ff, e, h = 128, 512, 128, 64
    ts_part = linear(28, d) + d + 4 * encoder_layer(d, ff) + 2 * d  # projection, CLS, 4 layers, final norm
    heads = head(e, h, 3) + 13 * head(e, h, 3)
    assert n_params(m.ts_encoder) == ts_part
    assert n_params(m.chart_cnn) == chart_cnn((32, 64, 128, 256), 128)
    assert n_params(m.fusion) == linear(256, 128)
    assert n_params(m.common_head) == linear(128, 64) + linear(64, 3) == 8451
    assert n_params(m.sector_heads) == 13 * 8451
    assert n_params(m) == ts_part + chart_cnn((32, 64, 128, 256), 128) + linear(256, 128) + heads


def test_fusion_without_chart() -> None:
    m = LASPSFusionModel(use_chart=False).eval()
    assert m.chart_cnn is None and n_params(m.fusion) == linear(128, 128)
    with torch.no_grad():
        assert m(torch.randn(2, 60, 28)).shape == (2, 3)
    with pytest.raises(ValueError, match="chart"):
        LASPSFusionModel(chart_channels=(2, 2, 2, 2))(torch.randn(1, 60, 28))


@pytest.mark.parametrize(("task", "out_dim"), [("classification", 3), ("regression", 1), ("multistep", 5)])
def test_patchtst_heads_and_parameter_count(task: str, out_dim: int) -> None:
    cfg = ModelConfig(kind="patchtst", task=task)
    m = build_model(cfg).eval()
    assert isinstance(m, PatchTSTModel) and m.chart_cnn is None and cfg.out_dim == out_dim
    ts = torch.randn(4, 60, 28)
    with torch.no_grad():
        assert m.encode_channels(ts).shape == (4, 28, 64)
        out, emb = m.forward_with_embedding(ts, None, torch.arange(4), phase=3)
    assert out.shape == (4, out_dim) and emb.shape == (4, 128)

    P = num_patches(60, 12, 6)
    assert P == 9
    d = 64
    enc = linear(12, d) + P * d + 3 * encoder_layer(d, 256) + 2 * d  # patch embed, positions, 3 layers, norm
    assert n_params(m.encoder.patch_embed) == 12 * 64 + 64
    assert m.encoder.pos.numel() == 9 * 64
    assert n_params(m.encoder) == enc
    assert n_params(m.aggregate) == linear(28 * 64, 128)
    assert n_params(m.common_head) == head(128, 64, out_dim)
    assert n_params(m) == enc + linear(28 * 64, 128) + 14 * head(128, 64, out_dim)


def test_patchtst_with_chart() -> None:
    m = PatchTSTModel(use_chart=True, chart_channels=(4, 4, 8, 8)).eval()
    assert m.fusion is not None and n_params(m.fusion) == linear(256, 128)
    chart = torch.randint(0, 256, (2, 3, 224, 224), dtype=torch.uint8)
    with torch.no_grad():
        assert m(torch.randn(2, 60, 28), chart).shape == (2, 3)


def test_channel_independence() -> None:
    """Perturbing channel c changes row c of the per-channel embeddings only."""
    torch.manual_seed(0)
    m = PatchTSTModel(d_model=16, layers=2, heads=2, d_ff=32).eval()
    ts = torch.randn(3, 60, 28)
    with torch.no_grad():
        base = m.encode_channels(ts)
        for c in (0, 7, 27):
            x = ts.clone()
            x[:, :, c] += torch.randn(3, 60)
            emb = m.encode_channels(x)
            changed = (emb - base).abs().amax(dim=(0, 2)) > 1e-6
            assert changed[c] and changed.sum() == 1, c
            torch.testing.assert_close(emb[:, [k for k in range(28) if k != c]],
                                       base[:, [k for k in range(28) if k != c]], rtol=0, atol=1e-6)
    # ... while the mixing fusion model's embedding of every channel is shared (a contrast check)
    f = LASPSFusionModel(use_chart=False, d_model=16, layers=1, heads=2, d_ff=32).eval()
    with torch.no_grad():
        x = ts.clone()
        x[:, :, 3] += 1.0
        assert not torch.allclose(f.encode(x), f.encode(ts))


def test_sector_routing_equals_a_per_sample_loop() -> None:
    torch.manual_seed(1)
    heads = SectorHeads(13, 32, 16, 3, dropout=0.0)
    x = torch.randn(50, 32)
    sector = torch.randint(0, 13, (50,))
    got = heads(x, sector)
    rows = []
    for i in range(50):  # the explicit loop: one nn.Linear pair per sample's sector
        s = int(sector[i])
        h = torch.nn.functional.gelu(x[i] @ heads.w1[s].T + heads.b1[s])
        rows.append(h @ heads.w2[s].T + heads.b2[s])
    torch.testing.assert_close(got, torch.stack(rows), rtol=1e-5, atol=1e-6)
    # gradients flow only into the sectors present in the batch
    got.sum().backward()
    assert heads.w1.grad is not None
    used = torch.zeros(13, dtype=torch.bool)
    used[sector] = True
    assert (heads.w1.grad.abs().sum(dim=(1, 2)) > 0).eq(used).all()
    with pytest.raises(IndexError, match="sector ids"):
        heads(x[:2], torch.tensor([0, -1]))


def test_model_routing_and_phase_init() -> None:
    torch.manual_seed(2)
    m = LASPSFusionModel(use_chart=False, d_model=16, layers=1, heads=2, d_ff=32, embed_dim=24, head_hidden=8).eval()
    ts = torch.randn(20, 60, 28)
    sector = torch.arange(20) % 13
    with torch.no_grad():
        common = m(ts, None, sector, phase=1)
        assert torch.equal(m(ts, None, None, phase=2), common)  # no sector -> common head
        assert not torch.allclose(m(ts, None, sector, phase=2), common)
        m.init_sector_heads_from_common()
        torch.testing.assert_close(m(ts, None, sector, phase=2), common, rtol=1e-5, atol=1e-6)
        emb = m.encode(ts)
        for i in range(20):  # sector routing in the full model == each sample through an MLPHead copy
            h = MLPHead(24, 8, 3, 0.0).eval()
            s = int(sector[i])
            h.fc1.weight.copy_(m.sector_heads.w1[s])
            h.fc1.bias.copy_(m.sector_heads.b1[s])
            h.fc2.weight.copy_(m.sector_heads.w2[s])
            h.fc2.bias.copy_(m.sector_heads.b2[s])
            torch.testing.assert_close(h(emb[i:i + 1])[0], m.sector_heads(emb, sector)[i], rtol=1e-5, atol=1e-6)


def test_configure_phase_freezes_the_right_parts() -> None:
    m = LASPSFusionModel(chart_channels=(2, 2, 2, 2), d_model=16, layers=1, heads=2, d_ff=32)

    def trainable(mod: torch.nn.Module) -> bool:
        flags = {p.requires_grad for p in mod.parameters()}
        assert len(flags) == 1
        return flags.pop()

    m.configure_phase(1)
    assert trainable(m.ts_encoder) and trainable(m.chart_cnn) and trainable(m.common_head)
    assert not trainable(m.sector_heads)
    m.configure_phase(2)
    assert not trainable(m.ts_encoder) and not trainable(m.fusion) and not trainable(m.common_head)
    assert trainable(m.sector_heads)
    m.train_for_phase(2)
    assert not m.ts_encoder.training and not m.chart_cnn.training and m.sector_heads.training
    m.configure_phase(3)
    assert trainable(m.ts_encoder) and trainable(m.sector_heads) and not trainable(m.common_head)
    m.train_for_phase(3)
    assert m.ts_encoder.training


def test_chart_cnn_accepts_uint8_and_float() -> None:
    cnn = ChartCNN((4, 4, 4, 4), 8).eval()
    img = torch.randint(0, 256, (2, 3, 224, 224), dtype=torch.uint8)
    with torch.no_grad():
        torch.testing.assert_close(cnn(img), cnn(img.float() / 255.0))
        assert cnn(img).shape == (2, 8)


def test_build_model_from_config() -> None:
    m = build_model(ModelConfig(kind="fusion", task="regression", use_chart=False,
                                fusion=FusionParams(d_model=16, layers=1, heads=2, d_ff=32)))
    assert isinstance(m, LASPSFusionModel) and m.out_dim == 1 and not m.uses_chart
    p = build_model(ModelConfig(kind="patchtst", use_chart=True, chart_channels=[2, 2, 2, 2],
                                patchtst=PatchTSTParams(d_model=8, layers=1, heads=2, d_ff=16)))
    assert isinstance(p, PatchTSTModel) and p.uses_chart
