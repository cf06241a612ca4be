"""Optimizers and learning-rate schedules, shared by training, pretraining and the learnability check."""
from __future__ import annotations

import math

import torch
from torch import nn


def decay_groups(module: nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on weights, none on biases and norm scales (the usual AdamW split)."""
    params = [p for p in module.parameters() if p.requires_grad]
    return [dict(params=[p for p in params if p.ndim > 1], weight_decay=weight_decay),
            dict(params=[p for p in params if p.ndim <= 1], weight_decay=0.0)]


def make_optimizer(module: nn.Module, optimizer: str, lr: float, weight_decay: float, momentum: float = 0.9,
                   betas: tuple = (0.9, 0.999)) -> torch.optim.Optimizer:
    """adamw | sgd (Nesterov) | asgd over `module`'s parameters, weight decay on weights only."""
    groups = decay_groups(module, weight_decay)
    if optimizer == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=momentum, nesterov=True)
    if optimizer == "asgd":
        return torch.optim.ASGD(groups, lr=lr)
    return torch.optim.AdamW(groups, lr=lr, betas=betas)


def warmup_cosine_factor(total: int, warm: int):
    """Linear warm-up over `warm` steps, then cosine decay to zero at `total`: the factor of step `step`."""
    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / (warm + 1)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, total - warm))))
    return factor


def warmup_cosine(opt, trainer, warmup_epochs: float, epochs: int) -> dict:
    """Warm-up then cosine, stepped every batch (a Lightning scheduler config)."""
    total = max(1, int(trainer.estimated_stepping_batches))
    warm = min(total - 1, int(round(warmup_epochs * total / epochs)))
    return dict(scheduler=torch.optim.lr_scheduler.LambdaLR(opt, warmup_cosine_factor(total, warm)), interval="step")
