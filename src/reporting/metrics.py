"""Classification metrics from clip scores, computed by scikit-learn, plus FLOP counting."""
from __future__ import annotations

import warnings

import numpy as np


def classification_metrics(y_true, scores, classes: list[str], pairs=()) -> tuple[dict, np.ndarray]:
    """top-1/top-5, mean class accuracy, macro precision/recall/F1, per-class figures, and the accuracy on
    the known-answer `pairs` (classes only temporal order separates; one pair or a list) when present."""
    from sklearn import metrics as skm
    y_true, scores = np.asarray(y_true), np.asarray(scores)
    labels = list(range(len(classes)))
    y_pred = scores.argmax(1)
    report = skm.classification_report(y_true, y_pred, labels=labels, target_names=list(classes),
                                       output_dict=True, zero_division=0)
    macro = report["macro avg"]
    top5 = (skm.top_k_accuracy_score(y_true, scores, k=min(5, len(classes)), labels=labels)
            if len(classes) > 2 else 1.0)  # with 2 classes every clip is in the top 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a class with no test clips is left out of the mean, as intended
        balanced = skm.balanced_accuracy_score(y_true, y_pred)
    out = dict(
        top1=float(skm.accuracy_score(y_true, y_pred)), top5=float(top5), mean_class_accuracy=float(balanced),
        macro_precision=float(macro["precision"]), macro_recall=float(macro["recall"]),
        macro_f1=float(macro["f1-score"]),
        per_class_f1={c: round(float(report[c]["f1-score"]), 4) for c in classes},
        per_class={c: {k: round(float(report[c][k]), 4) for k in ("precision", "recall", "f1-score")}
                   | {"support": int(report[c]["support"])} for c in classes},
        test_clips=int(len(y_true)),
    )
    pairs = [tuple(pairs)] if pairs and isinstance(pairs[0], str) else [tuple(p) for p in pairs]
    pairs = [p for p in pairs if all(c in classes for c in p)]
    if pairs:
        idx = [classes.index(c) for p in pairs for c in p]
        mask = np.isin(y_true, idx)
        if mask.any():
            out["order_pair"] = list(pairs[0])
            out["order_pairs"] = [list(p) for p in pairs]
            out["order_pair_accuracy"] = float((y_pred[mask] == y_true[mask]).mean())
            out["order_pair_clips"] = int(mask.sum())
    return out, skm.confusion_matrix(y_true, y_pred, labels=labels)


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
