"""The learnability check: can a model fit a handful of fixed training clips at all?

Diagnose before tuning: a model that cannot overfit a few clips has a broken preset (a token grid or a
pooling window collapsed to 1×1, a starved pathway) or a dead recipe, and no amount of epochs will fix it.
Here a model gets `clips` fixed inputs (one view each, no augmentation), its own recipe's optimizer,
learning rate (constant, no schedule), weight decay and precision, and full-batch steps until its training
accuracy (train mode, as training logs it) reaches `target`, for at most `max_steps`. It reports the step
it got there, or that it never did. tests/test_learnability.py runs it for every registered model on tiny
real clips; benchmarks/learnability.py prints the figure for every model on the prepared data.

Written here rather than with Lightning: a few dozen full-batch steps on tensors already in memory need
no loop, loaders or logging, and a test of 15 models must not pay Lightning's set-up 15 times.
"""
from __future__ import annotations

import time

import torch
from torch import nn

from src.learning.optim import make_optimizer
from src.models.registry import Recipe


def overfit(model: nn.Module, x, y: torch.Tensor, recipe: Recipe, max_steps: int = 60,
            target: float = 0.95, bf16: bool = False) -> dict:
    """Full-batch steps on (x, y) until training accuracy >= target; returns the figures of the attempt.
    x: the clips (a tensor, or a fusion model's pair of tensors)."""
    opt = make_optimizer(model, recipe.optimizer, recipe.lr, recipe.weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    if recipe.channels_last and isinstance(x, torch.Tensor) and x.ndim == 5:
        model = model.to(memory_format=torch.channels_last_3d)
        x = x.contiguous(memory_format=torch.channels_last_3d)
    model.train()
    t0, acc, loss, reached = time.perf_counter(), 0.0, float("nan"), None
    for step in range(1, max_steps + 1):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = model(x)
        out = loss_fn(logits.float(), y)
        opt.zero_grad(set_to_none=True)
        out.backward()
        opt.step()
        acc, loss = float((logits.argmax(1) == y).float().mean()), float(out)
        if acc >= target:
            reached = step
            break
    return dict(fits=reached is not None, steps=reached if reached is not None else max_steps, train_acc=acc,
                loss=loss, clips=len(y), seconds=time.perf_counter() - t0)
