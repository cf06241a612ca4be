"""The fusion model of the comparison: one RGB and one pose model of compare.models, fused late.

Its parts are the comparison's own runs of those two models under the same training seed; nothing is
retrained. The one fusion weight is chosen on validation clips, the main and the shifted validation splits
together (both are held out, and the shifted one is what fusion is for), by accuracy and then by
log-likelihood; the test splits are never read to choose it. The fused model is then saved as a checkpoint
and evaluated exactly like every other compared model (src/learning/evaluate.py).
"""
from __future__ import annotations

import dataclasses
import numpy as np
import pandas as pd
import torch

from src.annotations import read_classes
from src.config import ParamError, Params
from src.learning.checkpoint import load_checkpoint, save_checkpoint
from src.learning.data import make_dataset
from src.learning.evaluate import evaluate_run, predict_dataset
from src.learning.runs import RunPaths, comparison_params, params_hash
from src.models.fusion import LateFusion
from src.models.registry import MODELS, InputSpec
from src.utils import file_digest, write_figures

WEIGHTS = np.linspace(0.0, 1.0, 21)  # the RGB part's share searched


def check_parts(params: Params) -> dict:
    """fusion.rgb and fusion.pose must name an RGB and a pose model that the comparison trains (stages/fusion.py
    skips the fusion before, saying why, when the comparison does not train them)."""
    parts = {"rgb": params.fusion.rgb, "pose": params.fusion.pose}
    for key, kind in (("rgb", "rgb"), ("pose", "pose")):
        allowed = [m for m in params.compare.models if MODELS[m].kind == kind]
        if parts[key] not in allowed:
            raise ParamError(f"params.yaml: fusion.{key}: got {parts[key]!r}; allowed values (the {kind} models of "
                             f"compare.models): {', '.join(allowed) or 'none'}")
    return parts


def fit_weight(model: LateFusion, datasets: list, batch_size: int) -> tuple[float, pd.DataFrame]:
    """The RGB share w maximising validation accuracy (ties: the lower negative log-likelihood)."""
    log_rgb, log_pose, y = [], [], []
    for ds in datasets:
        for part, part_ds, out in ((model.rgb, ds.rgb, log_rgb), (model.pose, ds.pose, log_pose)):
            scores, _ = predict_dataset(part, part_ds, batch_size)
            out.append(np.log(np.clip(scores, 1e-8, None)))
        y.append(np.array(ds.labels))
    log_rgb, log_pose, y = np.concatenate(log_rgb), np.concatenate(log_pose), np.concatenate(y)
    rows = []
    for w in WEIGHTS:
        fused = torch.log_softmax(torch.from_numpy(w * log_rgb + (1 - w) * log_pose), -1).numpy()
        rows.append(dict(weight=round(float(w), 3), val_acc=float((fused.argmax(1) == y).mean()),
                         val_nll=float(-fused[np.arange(len(y)), y].mean())))
    table = pd.DataFrame(rows)
    best = table.sort_values(["val_acc", "val_nll"], ascending=[False, True]).iloc[0]
    return float(best["weight"]), table


def fuse(params: Params, seed: int) -> dict:
    """Fit the fusion of the seed's runs of fusion.rgb and fusion.pose, save it, evaluate it; returns eval.json."""
    parts = check_parts(params)
    torch.set_num_threads(params.train.threads or torch.get_num_threads())
    classes = read_classes(params.paths.annotations)
    loaded = {k: load_checkpoint(RunPaths(comparison_params(params, name, seed), compare=True).checkpoint, classes)
              for k, name in parts.items()}
    model = LateFusion(loaded["rgb"][0], loaded["pose"][0]).eval()
    spec = InputSpec(kind="fusion", num_frames=0, parts=(loaded["rgb"][1].as_dict(), loaded["pose"][1].as_dict()))
    run = comparison_params(params, "fusion", seed)
    paths = RunPaths(run, compare=True)
    val = [ds for split in ("val", "shifted_val") if (ds := make_dataset(params, spec, classes, split, True))]
    weight, table = fit_weight(model, val, params.evaluate.batch_size)
    with torch.no_grad():
        model.logit.fill_(float(torch.logit(torch.tensor(min(max(weight, 1e-4), 1 - 1e-4)))))
    best = table[table["weight"] == weight].iloc[0]
    meta_parts = {k: dict(model=m["model"], size=m["size"], best_val_acc=m.get("best_val_acc"))
                  for k, (_, _, m) in loaded.items()}
    size = loaded["rgb"][2]["size"]
    save_checkpoint(paths.checkpoint, model, name="fusion", size=size, classes=classes, spec=spec,
                    params_hash=params_hash(run), family="fusion", init="parts", best_val_acc=float(best["val_acc"]),
                    config={"fusion": parts, "model": dataclasses.asdict(run.model),
                            **{k: loaded["rgb"][2]["config"][k] for k in ("trim", "frames", "pose", "train", "clip")
                               if k in loaded["rgb"][2]["config"]}},
                    parts=meta_parts, fusion_weight=weight, history=table.to_dict("records"))
    figures = dict(model="fusion", size=size, init="parts", family="fusion", input="fusion", parts=parts,
                   fusion_weight=weight, best_val_acc=float(best["val_acc"]), val_clips=int(sum(len(d) for d in val)),
                   weight_search=table.to_dict("records"), 
                   parameters=int(sum(p.numel() for p in model.parameters())), params_hash=params_hash(run))
    figures["mlflow_run_id"] = _log_run(run, paths, figures, seed, model, val[0])
    write_figures(paths.train_json, figures, params.paths.reports)
    print(f"[fusion] {parts['rgb']} + {parts['pose']} (seed {seed}): RGB weight {weight:.2f} chosen on "
          f"{figures['val_clips']} validation clips (validation accuracy {best['val_acc']:.3f})", flush=True)
    return evaluate_run(run, paths)


def _log_run(params: Params, paths: RunPaths, figures: dict, seed: int, model: LateFusion, val) -> str | None:
    """An MLflow run for the fusion like every training run's: tags, the weight search, the model (from code,
    with the first validation clip as its input example), tagged with the checkpoint's MD5 so evaluation
    finds it."""
    from pathlib import Path

    from src.reporting.tracking import flatten, log_checkpoint_model, new_run
    c, rid = new_run(params, f"fusion seed{seed}", model="fusion", size=figures["size"], seed=seed,
                     family="fusion", init="parts")
    for k, v in flatten({"fusion": figures["parts"]}).items():
        c.log_param(rid, k, v)
    for row in figures["weight_search"]:
        c.log_metric(rid, "val_acc_by_weight", row["val_acc"], step=int(round(row["weight"] * 100)))
    c.log_metric(rid, "fusion_weight", figures["fusion_weight"])
    c.log_metric(rid, "best_val_acc", figures["best_val_acc"])
    c.set_tag(rid, "checkpoint_md5", file_digest(paths.checkpoint, "md5"))
    (x_rgb, x_pose), _ = val[0]
    example = (x_rgb[:1], x_pose[:1])
    with torch.inference_mode():
        out = model(example).exp().numpy()
    log_checkpoint_model(params, rid, Path(__file__).with_name("mlflow_model.py"), paths.checkpoint,
                         {"rgb": example[0], "pose": example[1]}, out)
    c.set_terminated(rid)
    return rid

