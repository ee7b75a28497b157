"""Prediction heads shared by every LASPS model: one common head and 13 sector heads (needs torch).

Phases (DESIGN §8, work log 2026-02-13 "방식 B")::

    phase 1   backbone + common head trained          forward uses the common head
    phase 2   sector heads := copies of the common head; only the sector heads train (backbone frozen,
              and in eval mode so BatchNorm statistics and dropout stay fixed)
    phase 3   backbone + sector heads fine-tuned at a low LR; the common head stays frozen

Sector routing is tensor code: the 13 heads' weights are stacked into ``(S, out, in)`` tensors, each
sample's head is gathered by its sector id and applied with one batched matrix multiply
(``torch.baddbmm``) — no per-sample Python loop (the work log's ``for i: sector_heads[sid](x[i:i+1])``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class MLPHead(nn.Module):
    """``in_dim -> hidden -> GELU -> dropout -> out_dim``.

    Input ``(B, in_dim)``, output ``(B, out_dim)``.
    """

    def __init__(self, in_dim: int, hidden: int, out_dim: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_dim, hidden)
        self.fc2 = nn.Linear(hidden, out_dim)
        self.dropout = float(dropout)

    def forward(self, x: Tensor) -> Tensor:
        h = F.dropout(F.gelu(self.fc1(x)), self.dropout, self.training)
        return self.fc2(h)


class SectorHeads(nn.Module):
    """``num_sectors`` independent :class:`MLPHead` s stored as stacked tensors.

    Parameters (``S`` sectors, ``H`` hidden, ``D`` in, ``O`` out)::

        w1 (S, H, D)   b1 (S, H)   w2 (S, O, H)   b2 (S, O)

    Head ``s`` computes ``fc2(dropout(gelu(fc1(x))))`` with ``fc1.weight = w1[s]`` etc., exactly like an
    :class:`MLPHead`. Initialised like ``nn.Linear`` (each sector independently).
    """

    def __init__(self, num_sectors: int, in_dim: int, hidden: int, out_dim: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.num_sectors = num_sectors
        self.w1 = nn.Parameter(torch.empty(num_sectors, hidden, in_dim))
        self.b1 = nn.Parameter(torch.empty(num_sectors, hidden))
        self.w2 = nn.Parameter(torch.empty(num_sectors, out_dim, hidden))
        self.b2 = nn.Parameter(torch.empty(num_sectors, out_dim))
        self.dropout = float(dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for w, b in ((self.w1, self.b1), (self.w2, self.b2)):
            bound = 1.0 / math.sqrt(w.shape[2])
            for s in range(self.num_sectors):
                nn.init.kaiming_uniform_(w.data[s], a=math.sqrt(5))
                nn.init.uniform_(b.data[s], -bound, bound)

    @torch.no_grad()
    def copy_from(self, head: MLPHead) -> None:
        """Set every sector head to a copy of ``head`` (phase 2 initialisation)."""
        self.w1.copy_(head.fc1.weight.unsqueeze(0).expand_as(self.w1))
        self.b1.copy_(head.fc1.bias.unsqueeze(0).expand_as(self.b1))
        self.w2.copy_(head.fc2.weight.unsqueeze(0).expand_as(self.w2))
        self.b2.copy_(head.fc2.bias.unsqueeze(0).expand_as(self.b2))

    def forward(self, x: Tensor, sector: Tensor) -> Tensor:
        """``x (B, D)``, ``sector (B,)`` int64 in ``[0, S)`` -> ``(B, O)``: each row through its sector's head."""
        on_cpu = sector.device.type == "cpu" and sector.numel() > 0  # (a check on CUDA would sync every batch)
        if on_cpu and (int(sector.min()) < 0 or int(sector.max()) >= self.num_sectors):
            raise IndexError(f"sector ids must be in [0, {self.num_sectors}), got "
                             f"{int(sector.min())}..{int(sector.max())}")
        h = torch.baddbmm(self.b1[sector].unsqueeze(2), self.w1[sector], x.unsqueeze(2)).squeeze(2)  # (B, H)
        h = F.dropout(F.gelu(h), self.dropout, self.training)
        return torch.baddbmm(self.b2[sector].unsqueeze(2), self.w2[sector], h.unsqueeze(2)).squeeze(2)


class SectorAwareModel(nn.Module):
    """Base of the LASPS models: a backbone (``encode``) feeding a common head and 13 sector heads.

    Subclasses implement :meth:`encode` (``ts (B, 60, 28)``, ``chart (B, 3, 224, 224)`` uint8 or float
    -> embedding ``(B, embed_dim)``) and :meth:`backbone_modules`.
    """

    def __init__(self, embed_dim: int, head_hidden: int, out_dim: int, num_sectors: int = 13,
                 head_dropout: float = 0.1) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.out_dim = out_dim
        self.num_sectors = num_sectors
        self.common_head = MLPHead(embed_dim, head_hidden, out_dim, head_dropout)
        self.sector_heads = SectorHeads(num_sectors, embed_dim, head_hidden, out_dim, head_dropout)
        self.uses_chart = False

    # -- to implement ------------------------------------------------------------------------------
    def encode(self, ts: Tensor, chart: Tensor | None = None) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def backbone_modules(self) -> list[nn.Module]:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- heads and phases --------------------------------------------------------------------------
    def head(self, emb: Tensor, sector: Tensor | None, phase: int) -> Tensor:
        """Phase 1 (or no sector given): the common head; phases 2/3: each sample's sector head."""
        if phase == 1 or sector is None:
            return self.common_head(emb)
        return self.sector_heads(emb, sector)

    def forward(self, ts: Tensor, chart: Tensor | None = None, sector: Tensor | None = None,
                phase: int = 1) -> Tensor:
        """``(B, out_dim)``: 3 logits (SELL/HOLD/BUY), 1 return, or ``h`` cumulative returns."""
        return self.head(self.encode(ts, chart), sector, phase)

    def forward_with_embedding(self, ts: Tensor, chart: Tensor | None = None, sector: Tensor | None = None,
                               phase: int = 1) -> tuple[Tensor, Tensor]:
        """``(output (B, out_dim), embedding (B, embed_dim))`` — the embedding feeds the collapse diagnostics."""
        emb = self.encode(ts, chart)
        return self.head(emb, sector, phase), emb

    def init_sector_heads_from_common(self) -> None:
        """Copy the common head into all sector heads (start of phase 2)."""
        self.sector_heads.copy_from(self.common_head)

    def configure_phase(self, phase: int) -> None:
        """Set ``requires_grad`` for ``phase`` (see module docstring)."""
        backbone = phase in (1, 3)
        for m in self.backbone_modules():
            m.requires_grad_(backbone)
        self.common_head.requires_grad_(phase == 1)
        self.sector_heads.requires_grad_(phase in (2, 3))

    def train_for_phase(self, phase: int) -> None:
        """``train()``, except that a frozen backbone (phase 2) stays in eval mode."""
        self.train()
        if phase == 2:
            for m in self.backbone_modules():
                m.eval()
