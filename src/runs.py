"""Where one training run writes: the main model, or one model of the comparison.

Kept apart from src.train so evaluation and comparison need not import Lightning (4 s a stage).
"""
from __future__ import annotations

from src.config import Params


class RunPaths:
    """Where one training run writes: the main model, or one model of the comparison."""

    def __init__(self, params: Params, compare_name: str | None = None):
        p = params.paths
        if compare_name is None:
            self.checkpoint = p.models / "model.pt"
            self.metrics, self.plots = p.metrics, p.plots
        else:
            self.checkpoint = p.models / "compare" / f"{compare_name}.pt"
            self.metrics, self.plots = p.metrics / "compare" / compare_name, p.plots / "compare" / compare_name
        self.train_json = self.metrics / "train.json"
        self.eval_json = self.metrics / "eval.json"
        self.history = self.plots / "history.csv"
        self.confusion_csv = self.plots / "confusion.csv"
        self.confusion_png = self.plots / "confusion.png"
        self.predictions = self.plots / "predictions.csv"
