"""C3D-style 3D CNN written here (Tran et al. 2015: 3x3x3 convolutions throughout,
no temporal pooling in the first stage), with batch norm so it trains from scratch."""
from __future__ import annotations

import torch
from torch import nn


class C3D(nn.Module):
    def __init__(self, num_classes: int, widths=(16, 32, 64, 128), convs=(1, 1, 2, 2), fc_dim: int = 256,
                 dropout: float = 0.3):
        super().__init__()
        layers, c_in = [], 3
        for i, (w, n) in enumerate(zip(widths, convs)):
            for _ in range(n):
                layers += [nn.Conv3d(c_in, w, 3, padding=1, bias=False), nn.BatchNorm3d(w), nn.ReLU(inplace=True)]
                c_in = w
            # keep time intact in the first stage so early motion is not averaged away
            if i < len(widths) - 1:
                layers.append(nn.MaxPool3d((1, 2, 2) if i == 0 else (2, 2, 2), ceil_mode=True))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(c_in, fc_dim), nn.ReLU(inplace=True),
                                  nn.Dropout(dropout), nn.Linear(fc_dim, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # B×C×T×H×W
        return self.head(self.pool(self.features(x)))
