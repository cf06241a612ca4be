import numpy as np
import pytest
from sklearn import metrics as skm

from src.reporting.metrics import classification_metrics, count_flops


def test_metrics_match_scikit_learn():
    rng = np.random.default_rng(0)
    classes = [f"c{i}" for i in range(7)]
    y = rng.integers(0, 6, 200)            # class c6 never occurs: macro averages must still agree
    scores = rng.random((200, 7)) + np.eye(7)[y] * rng.random((200, 1)) * 1.5
    m, cm = classification_metrics(y, scores, classes, pairs=[("c0", "c1")])
    pred = scores.argmax(1)
    labels = list(range(7))
    assert m["top1"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["top5"] == pytest.approx(skm.top_k_accuracy_score(y, scores, k=5, labels=labels))
    p, r, f, _ = skm.precision_recall_fscore_support(y, pred, labels=labels, average="macro", zero_division=0)
    assert (m["macro_precision"], m["macro_recall"], m["macro_f1"]) == pytest.approx((p, r, f))
    per_f1 = skm.f1_score(y, pred, labels=labels, average=None, zero_division=0)
    assert [m["per_class_f1"][c] for c in classes] == pytest.approx(per_f1, abs=1e-4)
    assert m["mean_class_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert (cm == skm.confusion_matrix(y, pred, labels=labels)).all()
    mask = np.isin(y, [0, 1])
    assert m["order_pair_accuracy"] == pytest.approx((pred[mask] == y[mask]).mean())


def test_lstm_flops_are_counted():
    import torch
    lstm = torch.nn.LSTM(10, 20, batch_first=True)
    flops = count_flops(lstm, torch.zeros(1, 5, 10))
    assert flops == 2 * 5 * 4 * 20 * (10 + 20)
