"""Evaluation: multi-view testing (num_clips x num_crops, softmax scores averaged), metrics,
confusion matrix for `dvc plots`, figures attached to the training run in MLflow."""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader

from src.annotations import read_classes, read_order_pairs
from src.config import Params
from src.learning.checkpoint import load_checkpoint
from src.learning.data import ClipDataset, make_dataset
from src.learning.runs import RunPaths
from src.reporting.metrics import classification_metrics, count_flops
from src.reporting.tracking import quiet, tracking_uri
from src.utils import atomic_path, write_csv, write_json


@torch.inference_mode()
def score_views(model, views: torch.Tensor) -> torch.Tensor:
    """B×V×(input) -> B×K class probabilities averaged over the V views of each clip."""
    b, v = views.shape[:2]
    return model(views.flatten(0, 1)).float().softmax(-1).view(b, v, -1).mean(1)


def predict_dataset(model, dataset: ClipDataset, batch_size: int, num_workers: int = 0) -> tuple[np.ndarray, float]:
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=num_workers)
    scores, t0 = [], time.perf_counter()
    for x, _ in loader:
        scores.append(score_views(model, x))
    return torch.cat(scores).numpy(), time.perf_counter() - t0


def save_confusion_png(path, cm: np.ndarray, classes: list[str], title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(1.0 + 0.8 * len(classes), 1.0 + 0.7 * len(classes)))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(classes)), classes, fontsize=8)
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center", color="white" if v > cm.max() / 2 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    ax.set_title(title)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def evaluate_run(params: Params, paths: RunPaths) -> dict:
    quiet()
    torch.set_num_threads(params.train.threads or torch.get_num_threads())
    classes = read_classes(params.paths.annotations)
    model, spec, meta = load_checkpoint(paths.checkpoint, classes)
    ds = make_dataset(params, spec, classes, "test")
    rows = ds.rows
    scores, seconds = predict_dataset(model, ds, params.evaluate.batch_size)
    y = np.array(ds.labels)
    figures, cm = classification_metrics(y, scores, classes, read_order_pairs(params.paths.annotations))
    views = ds.num_clips * ds.num_crops
    per_view = count_flops(model, ds[0][0][:1]) / 1e9
    train = meta.get("train_metrics", {})
    figures.update(model=meta["model"], size=meta["size"], family=train.get("family"), views=views,
                   inference_seconds=round(seconds, 2), inference_clips_per_s=round(len(y) / max(seconds, 1e-9), 2),
                   gflops_per_view=round(per_view, 4), gflops_per_clip=round(per_view * views, 4),
                   parameters=int(sum(p.numel() for p in model.parameters())),
                   train_seconds=train.get("train_seconds"), train_clips_per_s=train.get("train_clips_per_s"),
                   loader_clips_per_s=train.get("loader_clips_per_s"))
    write_json(paths.eval_json, figures)
    pred = scores.argmax(1)
    write_csv(paths.confusion_csv, pd.DataFrame({"actual": [classes[i] for i in y],
                                                 "predicted": [classes[i] for i in pred]}))
    probs = pd.DataFrame(scores, columns=[f"p_{c}" for c in classes])
    write_csv(paths.predictions, pd.concat([pd.DataFrame({"clip_id": rows["clip_id"], "label": rows["label"],
                                                          "predicted": [classes[i] for i in pred]}), probs], axis=1))
    save_confusion_png(paths.confusion_png, cm, classes, f"{meta['model']} ({meta['size']}): test top-1 "
                                                        f"{figures['top1']:.3f}")
    _log_to_mlflow(params, meta.get("mlflow_run_id"), figures, paths)
    print(f"[evaluate] {meta['model']}: top-1 {figures['top1']:.3f}, top-5 {figures['top5']:.3f}, macro F1 "
          f"{figures['macro_f1']:.3f} on {len(y)} test clips x {views} views, "
          f"{figures['inference_clips_per_s']} clips/s", flush=True)
    return figures


def _log_to_mlflow(params: Params, run_id: str | None, figures: dict, paths: RunPaths) -> None:
    """Attach test figures and the confusion matrix to the model's training run."""
    if not run_id:
        return
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient
    client = MlflowClient(tracking_uri(params.paths.mlruns))
    try:
        for k, v in figures.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                client.log_metric(run_id, f"test_{k}", float(v))
        for f in (paths.eval_json, paths.confusion_png):
            client.log_artifact(run_id, str(f))
    except MlflowException as exc:
        print(f"WARNING: could not log to MLflow run {run_id}: {exc}")
