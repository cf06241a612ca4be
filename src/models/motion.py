"""Frame differences as a video model's input: TSN's RGB difference (Wang et al. 2016).

Why: trained from scratch on a few hundred clips, the RGB 3D CNNs here spent their first hundred or more steps
at chance, learning to tell the dancer from photographed backgrounds, while the same networks on frame
differences (what moved between two frames; a still background drops out) learned from the first epoch
(docs/recipes.md). The difference of two frames also changes sign when time runs backwards, which the order
pair needs.
"""
from __future__ import annotations

import torch
from torch import nn

MOTION = ("none", "diff", "rgb+diff")


def check_motion(motion: str, allowed: tuple = MOTION) -> None:
    if motion not in allowed:
        raise ValueError(f"motion={motion!r}; allowed values: {', '.join(allowed)}")


def motion_input(x: torch.Tensor, motion: str) -> torch.Tensor:
    """B×C×T×H×W frames -> the input `motion` names: the frames ("none"), their T-1 differences ("diff"), or
    differences and frames stacked as channels ("rgb+diff", 2C channels, T-1 steps)."""
    if motion == "none":
        return x
    d = x[:, :, 1:] - x[:, :, :-1]
    return d if motion == "diff" else torch.cat([d, x[:, :, 1:]], 1)


class FrameDifferences(nn.Module):
    """A video model reading the T differences of its T+1 input frames (the model is built for T frames)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(motion_input(x, "diff"))
