"""Try training recipes and size presets of one model on the prepared data, judged on validation only.

Each trial trains with the pipeline's own code (src.learning.train) on the stores of an existing
`dvc repro pose`, in a temporary folder, and prints one line: the recipe, best and last validation
accuracy, epochs run and seconds. The test split is never read.

    python -m benchmarks.recipe_search c3d --set lr=0.003 epochs=10 --preset widths=[16,32,64,128]
    python -m benchmarks.recipe_search videomae --set lr=0.001 --data /elsewhere/data
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

from src.config import params_from_dict
from src.learning.runs import RunPaths
from src.models import registry


def parse_values(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs or []:
        key, _, value = pair.partition("=")
        out[key] = yaml.safe_load(value)
    return out


def trial(model: str, train: dict, preset: dict, data: Path, params_file: Path, recipe: dict | None = None,
          init: str = "auto", pretrained: Path | None = None, quiet: bool = True) -> dict:
    raw = yaml.safe_load(params_file.read_text())
    raw["model"]["name"], raw["model"]["init"] = model, init
    raw["train"].update(train)
    entry = registry.MODELS[model]
    if recipe:
        registry.MODELS[model] = dataclasses.replace(entry, recipe=dataclasses.replace(entry.recipe, **recipe))
    if preset:
        sizes = {**entry.sizes, "small": {**entry.sizes["small"], **{k: tuple(v) if isinstance(v, list) else v
                                                                      for k, v in preset.items()}}}
        registry.MODELS[model] = dataclasses.replace(registry.MODELS[model], sizes=sizes)
    with tempfile.TemporaryDirectory() as tmp:
        for key in ("models", "metrics", "plots", "reports", "mlruns"):
            raw["paths"][key] = str(Path(tmp) / key)
        for key in ("annotations", "frames", "pose"):
            raw["paths"][key] = str(data / Path(raw["paths"][key]).name)
        if pretrained:  # a folder holding <model>/ as the pretrain stage writes it
            raw["paths"]["pretrain"] = str(pretrained)
        params = params_from_dict(raw)
        from src.learning.train import train_model
        t0 = time.perf_counter()
        out = io.StringIO()
        with contextlib.redirect_stderr(out) if quiet else contextlib.nullcontext():
            figures = train_model(params, RunPaths(params))
        hist = pd.read_csv(RunPaths(params).history)
        pair = val_pair_accuracy(params)
    registry.MODELS[model] = entry
    return dict(model=model, train=train, preset=preset, recipe=recipe, init=init, best_val=figures["best_val_acc"],
                last_val=float(hist["val_acc"].iloc[-1]), epochs=len(hist), seconds=time.perf_counter() - t0,
                train_clips_per_s=figures["train_clips_per_s"], val_pair=pair,
                curve=[round(v, 3) for v in hist["val_acc"]], train_curve=[round(v, 3) for v in hist["train_acc"]],
                train_loss=[round(v, 3) for v in hist["train_loss"]])


def val_pair_accuracy(params) -> float:
    """Accuracy of the best checkpoint on the validation clips of the order-only pair."""
    import numpy as np

    from src.annotations import read_classes
    from src.learning.checkpoint import load_checkpoint
    from src.learning.data import make_dataset
    from src.learning.evaluate import predict_dataset
    from src.sources.cartoon import ORDER_PAIR
    classes = read_classes(params.paths.annotations)
    model, spec, _ = load_checkpoint(RunPaths(params).checkpoint, classes)
    ds = make_dataset(params, spec, classes, "val")
    scores, _ = predict_dataset(model, ds, 16)
    y = np.array(ds.labels)
    mask = np.isin(y, [classes.index(c) for c in ORDER_PAIR])
    return float((scores.argmax(1)[mask] == y[mask]).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", choices=list(registry.MODELS))
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="train section overrides")
    ap.add_argument("--preset", nargs="*", default=[], metavar="KEY=VALUE", help="small-size preset overrides")
    ap.add_argument("--recipe", nargs="*", default=[], metavar="KEY=VALUE", help="registry recipe overrides")
    ap.add_argument("--init", default="auto", choices=("auto", "scratch", "selfsup"),
                    help="model.init of the trial (auto: as the pipeline starts the model)")
    ap.add_argument("--pretrained", type=Path, help="with --init selfsup: the pretrain stage's output folder")
    ap.add_argument("--data", type=Path, default=Path("data"), help="folder holding annotations/, frames/, pose/")
    ap.add_argument("--params", type=Path, default=Path("params.yaml"))
    ap.add_argument("--log", type=Path, help="append the result as one JSON line here")
    args = ap.parse_args()
    res = trial(args.model, parse_values(args.set), parse_values(args.preset), args.data, args.params,
                parse_values(args.recipe), args.init, args.pretrained)
    line = (f"{res['model']:13} best val {res['best_val']:.3f} last {res['last_val']:.3f} "
            f"pair {res['val_pair']:.2f} after {res['epochs']} "
            f"epochs, {res['seconds']:.0f} s ({res['train_clips_per_s']} clips/s)  set {res['train']} "
            f"preset {res['preset']} recipe {res['recipe']} init {res['init']}  curve {res['curve']}  "
            f"train acc {res['train_curve']}  train loss {res['train_loss']}")
    print(line, flush=True)
    if args.log:
        with open(args.log, "a") as fh:
            fh.write(json.dumps(res) + "\n")


if __name__ == "__main__":
    main()
