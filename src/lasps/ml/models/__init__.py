"""LASPS models (needs the ``ml`` extra: torch): the fusion model and PatchTST, both sector-aware.

``build_model(config.model)`` turns a :class:`~lasps.ml.train_config.ModelConfig` into a module.
"""

from __future__ import annotations

from lasps.ml.models.chart_cnn import ChartCNN
from lasps.ml.models.fusion import LASPSFusionModel, TimeSeriesTransformer
from lasps.ml.models.heads import MLPHead, SectorAwareModel, SectorHeads
from lasps.ml.models.patchtst import PatchTSTEncoder, PatchTSTModel
from lasps.ml.train_config import ModelConfig

__all__ = [
    "ChartCNN",
    "LASPSFusionModel",
    "MLPHead",
    "PatchTSTEncoder",
    "PatchTSTModel",
    "SectorAwareModel",
    "SectorHeads",
    "TimeSeriesTransformer",
    "build_model",
]


def build_model(cfg: ModelConfig) -> SectorAwareModel:
    """A freshly initialised model for ``cfg`` (uses the current torch RNG state)."""
    common = dict(num_features=cfg.num_features, window=cfg.window, use_chart=cfg.chart,
                  chart_channels=tuple(cfg.chart_channels), embed_dim=cfg.embed_dim, head_hidden=cfg.head_hidden,
                  out_dim=cfg.out_dim, num_sectors=cfg.num_sectors, head_dropout=cfg.head_dropout,
                  fusion_dropout=cfg.fusion_dropout)
    if cfg.kind == "fusion":
        f = cfg.fusion
        return LASPSFusionModel(d_model=f.d_model, layers=f.layers, heads=f.heads, d_ff=f.d_ff, dropout=f.dropout,
                                **common)
    if cfg.kind == "patchtst":
        p = cfg.patchtst
        return PatchTSTModel(patch_len=p.patch_len, stride=p.stride, d_model=p.d_model, layers=p.layers,
                             heads=p.heads, d_ff=p.d_ff, dropout=p.dropout, **common)
    raise ValueError(f"unknown model kind {cfg.kind!r}")
