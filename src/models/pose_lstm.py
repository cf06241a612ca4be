"""LSTM over MediaPipe keypoint sequences (B×T×33×4: x, y, z, visibility)."""
from __future__ import annotations

import torch
from torch import nn


class PoseLSTM(nn.Module):
    """Per frame: x, y and visibility of every joint (z from a single camera is too noisy to help), and with
    `velocity` their change from the previous frame too: the motion stream of two-stream skeleton models
    (2s-AGCN), which makes the direction of a movement as visible as the pose itself."""

    def __init__(self, num_classes: int, joints: int = 33, hidden: int = 128, layers: int = 2,
                 dropout: float = 0.2, velocity: bool = False):
        super().__init__()
        self.velocity = velocity
        self.embed = nn.Sequential(nn.Linear(joints * (5 if velocity else 3), hidden), nn.ReLU(inplace=True))
        self.lstm = nn.LSTM(hidden, hidden, num_layers=layers, batch_first=True, bidirectional=True,
                            dropout=dropout if layers > 1 else 0.0)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * hidden, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # B×T×33×4
        b, t = x.shape[:2]
        feats = x[..., [0, 1, 3]]
        if self.velocity:
            xy = x[..., :2]
            feats = torch.cat([feats, torch.cat([torch.zeros_like(xy[:, :1]), xy[:, 1:] - xy[:, :-1]], 1)], -1)
        out, _ = self.lstm(self.embed(feats.reshape(b, t, -1)))
        return self.head(out.mean(1))
