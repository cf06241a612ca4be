"""C3D-style 3D CNN written here (Tran et al. 2015: stacks of 3x3x3 convolutions, no temporal
pooling in the first stage), with batch norm so it trains from scratch.

The small size swaps C3D's first 3x3x3 stage for a strided (3,7,7) stem, as
ResNets do: at 64 px with few channels, the plain stem left the model unable
to fit even 48 training clips in 60 steps; with the stem it does.
"""
from __future__ import annotations

import torch
from torch import nn

from src.models.motion import check_motion, motion_input


HEADS = ("avg", "flatten_time")


def _conv(c_in: int, c_out: int, kernel=3, stride=1, padding=1) -> list:
    return [nn.Conv3d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False), nn.BatchNorm3d(c_out),
            nn.ReLU(inplace=True)]


class C3D(nn.Module):
    def __init__(self, num_classes: int, widths=(32, 64, 128, 256), convs=(1, 1, 2, 2), fc_dim: int = 256,
                 dropout: float = 0.3, stem: bool = True, motion: str = "none", head: str = "avg",
                 time_strides=None, num_frames: int = 16, size: int = 112):
        super().__init__()
        check_motion(motion)
        if head not in HEADS:
            raise ValueError(f"c3d head={head!r}; allowed values: {', '.join(HEADS)}")
        self.motion, self.head_kind = motion, head
        c_img = {"none": 3, "diff": 3, "rgb+diff": 6}[motion]
        if stem:
            layers = _conv(c_img, widths[0], (3, 7, 7), (1, 2, 2), (1, 3, 3)) + [nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1))]
        else:
            layers = []
        c_in = widths[0] if stem else c_img
        for i, (w, n) in enumerate(zip(widths, convs)):
            for j in range(n):
                if stem and i == 0 and j == 0:
                    continue  # the stem is this stage's first convolution
                layers += _conv(c_in, w)
                c_in = w
            # keep time intact in the first stage so early motion is not averaged away; time_strides: the
            # temporal stride of each pooling between stages (2 each by default)
            if i < len(widths) - 1:
                t = 1 if i == 0 and not stem else (time_strides[i] if time_strides else 2)
                layers.append(nn.MaxPool3d((t, 2, 2), ceil_mode=True))
        self.features = nn.Sequential(*layers)
        # avg: one global average (time and space); flatten_time: average over space only and keep the time
        # steps apart, as C3D's fc6 reads the flattened pool5 map: the head then sees in which order things
        # happened, which an average over time cannot tell
        self.pool = nn.AdaptiveAvgPool3d(1) if head == "avg" else nn.AdaptiveAvgPool3d((None, 1, 1))
        with torch.no_grad():
            steps = self.pool(self.features(self._motion(torch.zeros(1, 3, num_frames, size, size)))).shape[2]
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(c_in * (steps if head == "flatten_time" else 1), fc_dim),
                                  nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(fc_dim, num_classes))

    def _motion(self, x: torch.Tensor) -> torch.Tensor:
        return motion_input(x, self.motion)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # B×C×T×H×W
        return self.head(self.pool(self.features(self._motion(x))))
