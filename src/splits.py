"""Seeded, stratified splits shared by every source (and the seeds derived per clip).

Kept apart from the sources and the annotation tables so both can use them
without importing each other.
"""
from __future__ import annotations

import hashlib

import numpy as np

SPLITS = ("train", "val", "test")


def clip_seed(seed: int, key: str) -> int:
    """A stable 32-bit seed for one named thing (a clip, a class's split) under the global seed."""
    return int(hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()[:8], 16)


def split_counts(n: int, ratios) -> tuple[int, int, int]:
    """Clips per (train, val, test) for one class; val/test get at least one when asked for."""
    n_val = max(1, int(round(ratios[1] * n))) if ratios[1] > 0 and n >= 3 else int(round(ratios[1] * n))
    n_test = max(1, int(round(ratios[2] * n))) if ratios[2] > 0 and n >= 3 else int(round(ratios[2] * n))
    return n - n_val - n_test, n_val, n_test


def assign_splits(labels: list[str], per_label_ids: dict, ratios, seed: int) -> dict:
    """Deterministic stratified split: {item: split}."""
    out = {}
    for label in labels:
        ids = list(per_label_ids[label])
        rng = np.random.default_rng(clip_seed(seed, f"split:{label}"))
        rng.shuffle(ids)
        n_train, n_val, _ = split_counts(len(ids), ratios)
        for i, item in enumerate(ids):
            out[item] = SPLITS[0] if i < n_train else SPLITS[1] if i < n_train + n_val else SPLITS[2]
    return out
