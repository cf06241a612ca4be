"""LSTM over MediaPipe keypoint sequences (B×T×33×4: x, y, z, visibility)."""
from __future__ import annotations

import torch
from torch import nn


class PoseLSTM(nn.Module):
    def __init__(self, num_classes: int, joints: int = 33, hidden: int = 128, layers: int = 2,
                 dropout: float = 0.2):
        super().__init__()
        # x, y, visibility per joint (z from a single camera is too noisy to help)
        self.embed = nn.Sequential(nn.Linear(joints * 3, hidden), nn.ReLU(inplace=True))
        self.lstm = nn.LSTM(hidden, hidden, num_layers=layers, batch_first=True, bidirectional=True,
                            dropout=dropout if layers > 1 else 0.0)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * hidden, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # B×T×33×4
        b, t = x.shape[:2]
        feats = self.embed(x[..., [0, 1, 3]].reshape(b, t, -1))
        out, _ = self.lstm(feats)
        return self.head(out.mean(1))
