"""One training run: which params it runs under and where it writes.

A comparison run is the main params with `model.name` replaced (and `model.weights`
cleared: local weights belong to the main model), so training and evaluation take
one argument, `params`, whichever run they serve. Kept apart from
src.learning.train so evaluation and comparison need not import Lightning.
"""
from __future__ import annotations

import dataclasses

from src.config import Params


def comparison_params(params: Params, name: str) -> Params:
    """The params of the comparison run of model `name`."""
    model = dataclasses.replace(params.model, name=name, weights=None)
    return dataclasses.replace(params, model=model)


class RunPaths:
    """Where one training run writes: the main model, or one model of the comparison."""

    def __init__(self, params: Params, compare: bool = False):
        p, name = params.paths, params.model.name
        if not compare:
            self.checkpoint = p.models / "model.pt"
            self.metrics, self.plots = p.metrics, p.plots
        else:
            self.checkpoint = p.models / "compare" / f"{name}.pt"
            self.metrics, self.plots = p.metrics / "compare" / name, p.plots / "compare" / name
        self.train_json = self.metrics / "train.json"
        self.eval_json = self.metrics / "eval.json"
        self.history = self.plots / "history.csv"
        self.confusion_csv = self.plots / "confusion.csv"
        self.confusion_png = self.plots / "confusion.png"
        self.predictions = self.plots / "predictions.csv"
