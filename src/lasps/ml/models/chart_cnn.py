"""ChartCNN: the candlestick-chart branch (4 conv blocks 32-64-128-256 -> 128; needs torch).

Input ``(B, 3, H, W)`` charts — ``uint8`` 0..255 as :class:`~lasps.ml.torch_data.WindowDataset` yields
them (converted here, on the device, so host->device copies stay 4× smaller) or float 0..1. Each block is
``Conv2d 3×3 (pad 1, no bias) -> BatchNorm2d -> ReLU -> MaxPool 2×2``; a 224×224 chart becomes
``(B, 256, 14, 14)``, global average pooling gives ``(B, 256)``, a linear layer + ReLU gives ``(B, 128)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn


class ChartCNN(nn.Module):
    """``(B, 3, H, W)`` chart -> ``(B, out_dim)`` embedding."""

    def __init__(self, channels: Sequence[int] = (32, 64, 128, 256), out_dim: int = 128, in_channels: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = in_channels
        for c in channels:
            layers += [nn.Conv2d(c_in, c, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(c),
                       nn.ReLU(inplace=True), nn.MaxPool2d(2)]
            c_in = c
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c_in, out_dim)

    def forward(self, chart: Tensor) -> Tensor:
        x = chart.float().div(255.0) if chart.dtype == torch.uint8 else chart
        x = (x - 0.5) * 2.0  # 0..1 -> -1..1 (white background = 1)
        x = self.pool(self.features(x)).flatten(1)
        return torch.relu(self.fc(x))
