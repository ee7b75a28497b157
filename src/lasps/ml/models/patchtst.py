"""PatchTST with channel independence + sector-aware heads (needs torch).

Shapes (defaults; Nie et al. 2023, work log 2026-02-13 "PatchTST 모델 구현")::

    ts (B, 60, 28) -> per channel: (B·28, 60) -> patches (B·28, 9, 12)   [patch 12, stride 6]
                   -> Linear 12->64 + learned positions (9 × 64) -> dropout
                   -> shared TransformerEncoder (3 layers, 4 heads, d_ff 256, dropout 0.2, pre-norm)
                   -> mean over patches -> channel embeddings (B, 28, 64)
                   -> flatten (B, 1792) -> Linear 28·64->128 -> GELU -> dropout = embedding (B, 128)
    optional chart: concat ChartCNN (B, 128) -> fusion Linear 256->128 -> GELU -> dropout
    heads: classification 128->64->3, regression 128->64->1, multi-step 128->64->h (h = 5)

Channel independence: every channel goes through the same patch embedding and transformer **alone**
(batch dimension ``B·C``; LayerNorm normalises each token by itself), so changing one channel changes
only its own row of :meth:`PatchTSTModel.encode_channels` — channels meet first in the aggregation
layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from lasps.ml.models.chart_cnn import ChartCNN
from lasps.ml.models.fusion import transformer_encoder
from lasps.ml.models.heads import SectorAwareModel


def num_patches(window: int, patch_len: int, stride: int) -> int:
    """Patches of length ``patch_len`` every ``stride`` rows that fit in ``window`` (no padding)."""
    return (window - patch_len) // stride + 1


class PatchTSTEncoder(nn.Module):
    """``(B, L, C)`` -> ``(B, C, d_model)``: each channel encoded independently by shared weights."""

    def __init__(self, window: int = 60, patch_len: int = 12, stride: int = 6, d_model: int = 64, layers: int = 3,
                 heads: int = 4, d_ff: int = 256, dropout: float = 0.2) -> None:
        super().__init__()
        self.patch_len, self.stride = patch_len, stride
        self.n_patches = num_patches(window, patch_len, stride)
        self.patch_embed = nn.Linear(patch_len, d_model)
        self.pos = nn.Parameter(torch.zeros(1, self.n_patches, d_model))
        nn.init.normal_(self.pos, std=0.02)
        self.dropout = nn.Dropout(dropout)
        self.encoder = transformer_encoder(d_model, layers, heads, d_ff, dropout)

    def forward(self, ts: Tensor) -> Tensor:
        B, _, C = ts.shape
        x = ts.transpose(1, 2).unfold(-1, self.patch_len, self.stride)  # (B, C, P, patch_len)
        x = x.reshape(B * C, self.n_patches, self.patch_len)
        x = self.dropout(self.patch_embed(x) + self.pos.to(x.dtype))  # (B·C, P, d)
        x = self.encoder(x).mean(dim=1)  # (B·C, d)
        return x.reshape(B, C, -1)


class PatchTSTModel(SectorAwareModel):
    """PatchTST backbone (+ optional ChartCNN) -> common / 13 sector heads (see module docstring)."""

    def __init__(self, num_features: int = 28, window: int = 60, patch_len: int = 12, stride: int = 6,
                 d_model: int = 64, layers: int = 3, heads: int = 4, d_ff: int = 256, dropout: float = 0.2,
                 use_chart: bool = False, chart_channels: Sequence[int] = (32, 64, 128, 256), embed_dim: int = 128,
                 head_hidden: int = 64, out_dim: int = 3, num_sectors: int = 13, head_dropout: float = 0.1,
                 fusion_dropout: float = 0.1) -> None:
        super().__init__(embed_dim, head_hidden, out_dim, num_sectors, head_dropout)
        self.encoder = PatchTSTEncoder(window, patch_len, stride, d_model, layers, heads, d_ff, dropout)
        self.aggregate = nn.Sequential(nn.Flatten(1), nn.Linear(num_features * d_model, embed_dim), nn.GELU(),
                                       nn.Dropout(fusion_dropout))
        self.chart_cnn = ChartCNN(chart_channels, embed_dim) if use_chart else None
        self.uses_chart = use_chart
        self.fusion = (nn.Sequential(nn.Linear(2 * embed_dim, embed_dim), nn.GELU(), nn.Dropout(fusion_dropout))
                       if use_chart else None)

    def backbone_modules(self) -> list[nn.Module]:
        mods: list[nn.Module] = [self.encoder, self.aggregate]
        if self.chart_cnn is not None and self.fusion is not None:
            mods += [self.chart_cnn, self.fusion]
        return mods

    def encode_channels(self, ts: Tensor) -> Tensor:
        """``(B, L, C)`` -> per-channel embeddings ``(B, C, d_model)`` before aggregation."""
        return self.encoder(ts)

    def encode(self, ts: Tensor, chart: Tensor | None = None) -> Tensor:
        """``ts (B, L, C)`` (+ ``chart``) -> embedding ``(B, embed_dim)``."""
        z = self.aggregate(self.encoder(ts))
        if self.chart_cnn is not None and self.fusion is not None:
            if chart is None:
                raise ValueError("this model has a chart branch: pass chart (B, 3, H, W)")
            z = self.fusion(torch.cat([z, self.chart_cnn(chart).to(z.dtype)], dim=1))
        return z
