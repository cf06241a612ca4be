"""One training run: which params it runs under and where it writes.

A comparison run is the main params with `model.name` replaced (and `model.weights`
cleared: local weights belong to the main model), so training and evaluation take
one argument, `params`, whichever run they serve. Kept apart from
src.learning.train so evaluation and comparison need not import Lightning.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json

from src.config import Params


def params_hash(params: Params, sections=("data", "synthetic", "trim", "frames", "pose", "model", "train")) -> str:
    blob = json.dumps({s: dataclasses.asdict(getattr(params, s)) for s in sections}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


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
        self.checkpoint = p.models / "compare" / f"{self.run}.safetensors" if compare else p.models / "model.safetensors"
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
        if compare and params.model.name == "fusion":
            # the fusion stage's outputs are two folders per seed (stages/fusion.py), so that with fusion off
            # it can leave a marker instead of files it has no way to make
            self.checkpoint = self.fusion_dir(params) / "model.safetensors"
            self.confusion_csv = self.details / "confusion.csv"

    @staticmethod
    def fusion_dir(params: Params):
        return params.paths.models / "fusion" / f"seed{params.base.seed}"


# the main model's handful of figures `dvc metrics` compares (metrics/eval.json)
CURATED = ("top1", "macro_f1", "order_pair_accuracy", "shifted_top1")


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


def write_curated(paths: RunPaths, figures: dict) -> None:
    """The main run's handful of figures `dvc metrics` compares (nothing for a comparison run)."""
    if paths.metrics_json:
        from src.utils import write_json
        write_json(paths.metrics_json, {k: round(figures[k], 4) for k in CURATED if k in figures})


def _copy_files(pairs) -> None:
    """Copy (source, destination) pairs, each destination written atomically."""
    import shutil

    from src.utils import atomic_path
    for src, dest in pairs:
        with atomic_path(dest) as tmp:
            shutil.copyfile(src, tmp)


# --- the main model taken over from the comparison ------------------------------------------------------
# Here, not in src.learning.train/evaluate: deciding to reuse a run needs neither Lightning nor the models,
# and importing them costs about 10 s a stage.

def reuse_comparison_run(params: Params, paths: RunPaths) -> dict | None:
    """When the comparison already trained `model.name` under `base.seed` with these very settings, take its
    run instead of training the same model twice: copy its checkpoint, figures and curves. None when there
    is no such run."""
    from src.utils import read_figures, write_figures
    other = RunPaths(comparison_params(params, params.model.name, params.base.seed), compare=True)
    if params.model.weights or not all(p.exists() for p in (other.checkpoint, other.train_json, other.history)):
        return None
    figures = read_figures(other.train_json, params.paths.reports)
    if figures.get("params_hash") != params_hash(params):
        return None
    _copy_files(((other.checkpoint, paths.checkpoint), (other.history, paths.history)))
    write_figures(paths.train_json, figures, params.paths.reports)
    print(f"[train] {params.model.name}: the comparison trained it with the same data and settings; "
          f"reusing {other.checkpoint} (best val acc {figures['best_val_acc']:.3f})", flush=True)
    return figures


def reuse_comparison_evaluation(params: Params, paths: RunPaths) -> dict | None:
    """When the main checkpoint is the comparison's run of the same model and seed (reuse_comparison_run took
    it over), its test figures are already computed: copy them instead of evaluating the same model twice."""
    import filecmp

    from src.utils import read_figures, write_figures
    other = RunPaths(comparison_params(params, params.model.name, params.base.seed), compare=True)
    needed = (other.checkpoint, other.eval_json, other.predictions, other.confusion_csv)
    if not all(p.exists() for p in needed) or not filecmp.cmp(paths.checkpoint, other.checkpoint, shallow=False):
        return None
    _copy_files(((other.predictions, paths.predictions), (other.confusion_csv, paths.confusion_csv)))
    figures = read_figures(other.eval_json, params.paths.reports)
    write_figures(paths.eval_json, figures, params.paths.reports)
    write_curated(paths, figures)
    print(f"[evaluate] {params.model.name}: the same checkpoint as the comparison's run; reusing its test figures "
          f"(top-1 {figures['top1']:.3f})", flush=True)
    return figures
