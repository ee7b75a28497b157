"""The LASPS fusion model: a time-series transformer + ChartCNN + sector-aware heads (needs torch).

Shapes (defaults of DESIGN §8)::

    ts (B, 60, 28) -> Linear 28->128 -> prepend CLS -> + sinusoidal positions (61 × 128) -> dropout
                   -> TransformerEncoder (4 layers, 4 heads, FFN 512, GELU, pre-norm) -> LayerNorm
                   -> CLS output (B, 128)
    chart (B, 3, 224, 224) -> ChartCNN -> (B, 128)
    concat (B, 256) -> fusion Linear 256->128 -> GELU -> dropout = embedding (B, 128)
    embedding -> common head 128->64->3 (phase 1) | sector head[sector] 128->64->3 (phases 2/3)

``use_chart=False`` drops the chart branch (the fusion layer is then 128->128). Regression and
multi-step tasks only change the heads' output size (1 or h).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from lasps.ml.models.chart_cnn import ChartCNN
from lasps.ml.models.heads import SectorAwareModel


def sinusoidal_table(length: int, dim: int) -> Tensor:
    """``(length, dim)`` float32 sinusoidal position table (Vaswani et al.)."""
    pos = torch.arange(length, dtype=torch.float32).unsqueeze(1)
    div = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    pe = torch.zeros(length, dim)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)[:, : dim // 2]
    return pe


def transformer_encoder(d_model: int, layers: int, heads: int, d_ff: int, dropout: float) -> nn.TransformerEncoder:
    """A pre-norm ``batch_first`` GELU transformer encoder with a final LayerNorm."""
    layer = nn.TransformerEncoderLayer(d_model, heads, d_ff, dropout, activation="gelu", batch_first=True,
                                       norm_first=True)
    return nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(d_model), enable_nested_tensor=False)


class TimeSeriesTransformer(nn.Module):
    """``(B, L, F)`` window -> ``(B, d_model)`` CLS embedding (channels mixed by the input projection)."""

    def __init__(self, num_features: int = 28, window: int = 60, d_model: int = 128, layers: int = 4,
                 heads: int = 4, d_ff: int = 512, dropout: float = 0.1) -> None:
        super().__init__()
        self.input_proj = nn.Linear(num_features, d_model)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d_model))
        nn.init.normal_(self.cls_token, std=0.02)
        self.register_buffer("pos", sinusoidal_table(window + 1, d_model), persistent=False)
        self.dropout = nn.Dropout(dropout)
        self.encoder = transformer_encoder(d_model, layers, heads, d_ff, dropout)

    def forward(self, ts: Tensor) -> Tensor:
        x = self.input_proj(ts)  # (B, L, d)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)  # (B, L + 1, d)
        x = self.dropout(x + self.pos[: x.shape[1]].to(x.dtype))
        return self.encoder(x)[:, 0]  # CLS


class LASPSFusionModel(SectorAwareModel):
    """Time-series transformer + ChartCNN -> fusion -> common / 13 sector heads (see module docstring)."""

    def __init__(self, num_features: int = 28, window: int = 60, d_model: int = 128, layers: int = 4,
                 heads: int = 4, d_ff: int = 512, dropout: float = 0.1, use_chart: bool = True,
                 chart_channels: Sequence[int] = (32, 64, 128, 256), embed_dim: int = 128, head_hidden: int = 64,
                 out_dim: int = 3, num_sectors: int = 13, head_dropout: float = 0.1,
                 fusion_dropout: float = 0.1) -> None:
        super().__init__(embed_dim, head_hidden, out_dim, num_sectors, head_dropout)
        self.ts_encoder = TimeSeriesTransformer(num_features, window, d_model, layers, heads, d_ff, dropout)
        self.chart_cnn = ChartCNN(chart_channels, embed_dim) if use_chart else None
        self.uses_chart = use_chart
        self.fusion = nn.Sequential(nn.Linear(d_model + (embed_dim if use_chart else 0), embed_dim), nn.GELU(),
                                    nn.Dropout(fusion_dropout))

    def backbone_modules(self) -> list[nn.Module]:
        mods: list[nn.Module] = [self.ts_encoder, self.fusion]
        if self.chart_cnn is not None:
            mods.append(self.chart_cnn)
        return mods

    def encode(self, ts: Tensor, chart: Tensor | None = None) -> Tensor:
        """``ts (B, L, F)``, ``chart (B, 3, H, W)`` -> embedding ``(B, embed_dim)``."""
        z = self.ts_encoder(ts)
        if self.chart_cnn is not None:
            if chart is None:
                raise ValueError("this model has a chart branch: pass chart (B, 3, H, W)")
            z = torch.cat([z, self.chart_cnn(chart).to(z.dtype)], dim=1)
        return self.fusion(z)
