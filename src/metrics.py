"""Classification metrics from clip scores, written out from the confusion matrix
(checked against scikit-learn in the tests)."""
from __future__ import annotations

import numpy as np


def confusion(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> np.ndarray:
    cm = np.zeros((k, k), np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def classification_metrics(y_true, scores, classes: list[str], pair: tuple | None = None) -> dict:
    """top-1/top-5, mean class accuracy, macro precision/recall/F1, per-class F1, and the accuracy on
    `pair` (the classes only temporal order separates) when both are present."""
    y_true = np.asarray(y_true)
    scores = np.asarray(scores)
    k = len(classes)
    y_pred = scores.argmax(1)
    cm = confusion(y_true, y_pred, k)
    support, predicted, tp = cm.sum(1), cm.sum(0), np.diag(cm)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(support > 0, tp / support, 0.0)
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    present = support > 0
    top_k = min(5, k)
    topk = np.argsort(-scores, axis=1)[:, :top_k]
    out = dict(
        top1=float((y_pred == y_true).mean()),
        top5=float((topk == y_true[:, None]).any(1).mean()),
        mean_class_accuracy=float(recall[present].mean()) if present.any() else 0.0,
        macro_precision=float(precision.mean()), macro_recall=float(recall.mean()), macro_f1=float(f1.mean()),
        per_class_f1={c: round(float(v), 4) for c, v in zip(classes, f1)},
        test_clips=int(len(y_true)),
    )
    if pair and all(c in classes for c in pair):
        idx = [classes.index(c) for c in pair]
        mask = np.isin(y_true, idx)
        if mask.any():
            out["order_pair"] = list(pair)
            out["order_pair_accuracy"] = float((y_pred[mask] == y_true[mask]).mean())
            out["order_pair_clips"] = int(mask.sum())
    return out, cm


def count_flops(model, x) -> float:
    """FLOPs of one forward pass: torch's counter (convolutions, matmuls) plus LSTMs, which it skips."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    extra = []

    def lstm_hook(mod, inp, out):
        b, t = inp[0].shape[:2] if mod.batch_first else inp[0].shape[1::-1]
        d = 2 if mod.bidirectional else 1
        flops, n_in = 0, mod.input_size
        for _ in range(mod.num_layers):
            flops += 2 * b * t * d * 4 * mod.hidden_size * (n_in + mod.hidden_size)
            n_in = mod.hidden_size * d
        extra.append(flops)

    hooks = [m.register_forward_hook(lstm_hook) for m in model.modules() if isinstance(m, torch.nn.LSTM)]
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as fc:
            model(x)
    finally:
        for h in hooks:
            h.remove()
    return float(fc.get_total_flops() + sum(extra))
