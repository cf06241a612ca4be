"""Late fusion of one RGB model and one pose model (the `fusion` entry of the registry).

The clip's score is a weighted geometric mean of the two parts' class probabilities: log p = w log p_rgb +
(1 - w) log p_pose, renormalised, with one weight w in [0, 1]. The pipeline learns w on validation clips
(stages/fusion.py: the main and the shifted validation splits), after each part has been trained on its own:
both parts fit their training clips almost perfectly, so a weight learned on them would say nothing about
which part to trust on unseen clips, and fitting one number on held-out clips cannot overfit them the way
end-to-end training of both networks on 640 clips would. MMAction2 fuses its RGB and pose streams the same way
(a weighted sum of the streams' scores, weights chosen on validation).

Input: a pair (RGB clip B×C×T×H×W, keypoints B×T×33×4); `score` takes the evaluation views of both.
"""
from __future__ import annotations

import torch
from torch import nn


class LateFusion(nn.Module):
    def __init__(self, rgb: nn.Module, pose: nn.Module, weight: float = 0.5):
        super().__init__()
        self.rgb, self.pose = rgb, pose
        # the weight's logit: learnable (the learnability check trains it with the parts), set by the stage
        self.logit = nn.Parameter(torch.logit(torch.tensor(float(min(max(weight, 1e-4), 1 - 1e-4)))))

    @property
    def weight(self) -> float:
        return float(torch.sigmoid(self.logit))

    def fuse(self, log_rgb: torch.Tensor, log_pose: torch.Tensor) -> torch.Tensor:
        """Log-probabilities of the fused clip score from the parts' log-probabilities."""
        w = torch.sigmoid(self.logit)
        return torch.log_softmax(w * log_rgb + (1 - w) * log_pose, -1)

    def forward(self, x) -> torch.Tensor:
        x_rgb, x_pose = x
        return self.fuse(self.rgb(x_rgb).float().log_softmax(-1), self.pose(x_pose).float().log_softmax(-1))

    @torch.inference_mode()
    def score(self, views) -> torch.Tensor:
        """B×K probabilities of clips from their evaluation views (RGB B×V1×..., keypoints B×V2×...): each part
        averages its probabilities over its views, as a single model is evaluated, then the two are fused."""
        def part(model, v):
            b, n = v.shape[:2]
            return model(v.flatten(0, 1)).float().softmax(-1).view(b, n, -1).mean(1).clamp_min(1e-8).log()
        return self.fuse(part(self.rgb, views[0]), part(self.pose, views[1])).exp()
