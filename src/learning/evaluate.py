"""Evaluation: multi-view testing (num_clips x num_crops, softmax scores averaged), metrics,
confusion matrix for `dvc plots`, figures attached to the training run in MLflow."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader

from src.annotations import read_classes, read_order_pairs
from src.config import Params
from src.learning.checkpoint import load_checkpoint
from src.learning.data import ClipDataset, first_view, make_dataset
from src.learning.runs import RunPaths, write_curated
from src.reporting.metrics import classification_metrics, count_flops
from src.reporting.tracking import quiet, tracking_uri, training_run
from src.utils import atomic_path, write_csv, write_figures


@torch.inference_mode()
def score_views(model, views) -> torch.Tensor:
    """B×V×(input) -> B×K class probabilities averaged over the V views of each clip (a fusion model's pair of
    views: its own `score`)."""
    if isinstance(views, (tuple, list)):
        return model.score(views)
    b, v = views.shape[:2]
    return model(views.flatten(0, 1)).float().softmax(-1).view(b, v, -1).mean(1)


def predict_dataset(model, dataset: ClipDataset, batch_size: int, num_workers: int = 0) -> tuple[np.ndarray, float]:
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=num_workers)
    scores, t0 = [], time.perf_counter()
    for x, _ in loader:
        scores.append(score_views(model, x))
    return torch.cat(scores).numpy(), time.perf_counter() - t0


def save_confusion_png(path, y, pred, classes: list[str], title: str) -> None:
    """scikit-learn's ConfusionMatrixDisplay, saved as a PNG (attached to the MLflow run)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay
    fig, ax = plt.subplots(figsize=(1.5 + 0.8 * len(classes), 1.0 + 0.75 * len(classes)))
    ConfusionMatrixDisplay.from_predictions(y, pred, labels=list(range(len(classes))), display_labels=classes, ax=ax,
                                            colorbar=False, cmap="Blues", xticks_rotation=45)
    ax.set_title(title)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def evaluate_run(params: Params, paths: RunPaths) -> dict:
    """Test metrics of one trained run on the test split and, where there is one, the shifted test split."""
    quiet()
    torch.set_num_threads(params.train.threads or torch.get_num_threads())
    classes = read_classes(params.paths.annotations)
    pairs = read_order_pairs(params.paths.annotations)
    model, spec, meta = load_checkpoint(paths.checkpoint, classes)
    results, predictions = {}, []
    for split in ("test", "shifted"):
        ds = make_dataset(params, spec, classes, split, missing_ok=split == "shifted")
        if ds is None:
            continue
        scores, seconds = predict_dataset(model, ds, params.evaluate.batch_size)
        y = np.array(ds.labels)
        figures, _ = classification_metrics(y, scores, classes, pairs)
        pred = scores.argmax(1)
        results[split] = dict(figures=figures, pred=pred, seconds=seconds, views=ds.num_clips * ds.num_crops, y=y,
                              example=first_view(ds[0][0]))
        predictions.append(pd.concat([pd.DataFrame({"split": split, "clip_id": ds.rows["clip_id"],
                                                    "label": ds.rows["label"],
                                                    "predicted": [classes[i] for i in pred]}),
                                      pd.DataFrame(scores, columns=[f"p_{c}" for c in classes])], axis=1))
        if split == "test":
            write_csv(paths.confusion_csv, pd.DataFrame({"actual": [classes[i] for i in y],
                                                         "predicted": [classes[i] for i in pred]}))
    test = results["test"]
    figures = dict(test["figures"])
    if "shifted" in results:
        shifted = results["shifted"]["figures"]
        figures.update(shifted_top1=shifted["top1"], shifted_macro_f1=shifted["macro_f1"],
                       shifted_test_clips=shifted["test_clips"], shifted=shifted)
    views, seconds, n = test["views"], test["seconds"], len(test["y"])
    per_view = count_flops(model, test["example"]) / 1e9
    train = training_run(params, paths.checkpoint)
    figures.update(model=meta["model"], size=meta["size"], family=meta.get("family"), views=views,
                   inference_seconds=round(seconds, 2), inference_clips_per_s=round(n / max(seconds, 1e-9), 2),
                   gflops_per_view=round(per_view, 4), gflops_per_clip=round(per_view * views, 4),
                   parameters=int(sum(p.numel() for p in model.parameters())),
                   # training compute, a cost a rerun reproduces (seconds do not): forward + backward ~ 3x forward
                   train_tflops=round(3 * per_view * meta.get("train_clips", 0) * len(meta.get("history") or [])
                                      / 1e3, 2) if meta.get("train_clips") else None,
                   train_seconds=train.get("train_seconds"), train_clips_per_s=train.get("train_clips_per_s"),
                   loader_clips_per_s=train.get("loader_clips_per_s"))
    write_figures(paths.eval_json, figures, params.paths.reports)
    write_curated(paths, figures)
    write_csv(paths.predictions, pd.concat(predictions, ignore_index=True))
    _log_to_mlflow(params, train.get("mlflow_run_id"), figures, paths, test,
                   f"{meta['model']} ({meta['size']}): test top-1 {figures['top1']:.3f}", classes)
    shifted_note = (f", shifted top-1 {figures['shifted_top1']:.3f} on {figures['shifted_test_clips']} clips"
                    if "shifted_top1" in figures else "")
    print(f"[evaluate] {meta['model']}: top-1 {figures['top1']:.3f}, top-5 {figures['top5']:.3f}, macro F1 "
          f"{figures['macro_f1']:.3f} on {n} test clips x {views} views{shifted_note}, "
          f"{figures['inference_clips_per_s']} clips/s", flush=True)
    return figures


def _log_to_mlflow(params: Params, run_id: str | None, figures: dict, paths: RunPaths, test: dict, title: str,
                   classes: list[str]) -> None:
    """Attach test figures, the full eval.json and the confusion matrix to the model's training run."""
    if not run_id:
        return
    import tempfile

    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient
    client = MlflowClient(tracking_uri(params.paths.mlruns))
    try:
        for k, v in figures.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                client.log_metric(run_id, f"test_{k}", float(v))
        client.log_artifact(run_id, str(paths.eval_json))
        with tempfile.TemporaryDirectory() as tmp:
            png = Path(tmp) / "confusion.png"
            save_confusion_png(png, test["y"], test["pred"], classes, title)
            client.log_artifact(run_id, str(png))
    except MlflowException as exc:
        print(f"WARNING: could not log to MLflow run {run_id}: {exc}")
