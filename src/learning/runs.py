"""One training run: which params it runs under and where it writes.

A comparison run is the main params with `model.name` replaced (and `model.weights`
cleared: local weights belong to the main model), so training and evaluation take
one argument, `params`, whichever run they serve. Kept apart from
src.learning.train so evaluation and comparison need not import Lightning.
"""
from __future__ import annotations

import dataclasses

from src.config import Params


def comparison_params(params: Params, name: str, seed: int | None = None) -> Params:
    """The params of the comparison run of model `name` under training seed `seed` (base.seed if None)."""
    model = dataclasses.replace(params.model, name=name, weights=None)
    base = params.base if seed is None else dataclasses.replace(params.base, seed=seed)
    return dataclasses.replace(params, model=model, base=base)


def run_name(name: str, seed: int) -> str:
    """A comparison run's folder name under models/, metrics/ and plots/ compare/: <model>/seed<seed>."""
    return f"{name}/seed{seed}"


class RunPaths:
    """Where one training run writes: the main model ("main"), or one (model, seed) run of the comparison.

    The checkpoint and the curves DVC hashes hold nothing that changes between identical reruns; the
    run's timings, MLflow run id and full figures go to reports/runs/{main, compare/<model>/seed<seed>}/
    (outputs, not metrics), and
    the main run's handful of curated figures to metrics/eval.json.
    """

    def __init__(self, params: Params, compare: bool = False):
        p = params.paths
        self.run = run_name(params.model.name, params.base.seed) if compare else "main"
        self.checkpoint = p.models / "compare" / f"{self.run}.pt" if compare else p.models / "model.pt"
        self.details = p.reports / "runs" / ("compare/" + self.run if compare else "main")
        self.train_json = self.details / "train.json"
        self.eval_json = self.details / "eval.json"
        self.predictions = self.details / "predictions.csv"
        self.metrics_json = None if compare else p.metrics / "eval.json"
        # the comparison's curves and confusion matrices side by side (one folder each, one file a run),
        # the main model's apart: `dvc plots show` draws each once
        flat = self.run.replace("/", "-")
        self.history = p.plots / "history" / f"{flat}.csv" if compare else p.plots / "main" / "history.csv"
        self.confusion_csv = (p.plots / "confusion" / f"{flat}.csv" if compare
                              else p.plots / "main" / "confusion.csv")


def resolve_init(params: Params, name: str) -> str:
    """The initialisation `model.init` means for model `name`: scratch, selfsup or kinetics."""
    from src.config import ParamError
    from src.models.registry import MODELS
    init, able = params.model.init, [m for m, e in MODELS.items() if e.selfsup]
    if init == "auto":
        return "selfsup" if name in params.pretrain.models else "scratch"
    if init == "selfsup" and name not in able:
        raise ParamError(f"params.yaml: model.init: got 'selfsup', but {name} has no self-supervised pretraining "
                         f"(models with one: {', '.join(able)}); allowed values for {name}: auto, scratch, kinetics")
    if init == "selfsup" and name not in params.pretrain.models:
        raise ParamError(f"params.yaml: model.init: got 'selfsup' for {name}, but pretrain.models "
                         f"({', '.join(params.pretrain.models) or 'empty'}) does not pretrain it: add it there")
    return init
