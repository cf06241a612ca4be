"""Where clips come from (`data.source`): each source builds the annotation
tables (fetch stage) and puts one clip's video into data/raw (download stage).

This module holds the seam and the offline `synthetic` source; `kinetics`
(src/kinetics.py) and `folder` (src/folder.py) plug into the same table.
A source says how to build the annotation tables, how to acquire one clip, and
a per-clip fingerprint of the settings its file depends on (a rerun of the
download stage keeps a file only while its fingerprint holds).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from src import folder, kinetics
from src.annotations import COLUMNS, SPLITS, StageError, safe_name
from src.config import ParamError, Params
from src.synthetic import CLASSES, clip_seed, render_clip


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


# --- synthetic ---------------------------------------------------------------
def synthetic_classes(params: Params) -> list[str]:
    classes = list(params.data.classes) or list(CLASSES)
    unknown = [c for c in classes if c not in CLASSES]
    if unknown:
        raise ParamError(f"params.yaml: data.classes: unknown synthetic class(es) {unknown}; "
                         f"allowed values: {', '.join(CLASSES)}")
    return classes


def synthetic_layout(seed: int, youtube_id: str, synth) -> tuple[float, float, float]:
    """(time_start, time_end, rendered seconds) of one synthetic clip."""
    rng = np.random.default_rng(clip_seed(seed, "layout:" + youtube_id))
    total = float(rng.uniform(synth.min_seconds, synth.max_seconds))
    start = float(rng.uniform(0.2, total - synth.segment_seconds - 0.2))
    return round(start, 2), round(start + synth.segment_seconds, 2), round(total, 2)


def synthetic_annotations(params: Params) -> tuple[pd.DataFrame, list[str], dict]:
    classes = synthetic_classes(params)
    ids = {c: [f"syn-{safe_name(c).replace('_', '-')}-{i:03d}" for i in range(params.data.clips_per_class)]
           for c in classes}
    splits = assign_splits(classes, ids, params.data.split_ratios, params.data.seed)
    rows = []
    for label in classes:
        for yid in ids[label]:
            start, end, _ = synthetic_layout(params.data.seed, yid, params.synthetic)
            rows.append(dict(label=label, youtube_id=yid, time_start=start, time_end=end, split=splits[yid]))
    return pd.DataFrame(rows, columns=COLUMNS), classes, {}


def synthetic_acquire(row: dict, params: Params, dest) -> dict:
    _, _, total = synthetic_layout(params.data.seed, row["youtube_id"], params.synthetic)
    s = params.synthetic
    render_clip(dest, row["label"], row["youtube_id"], params.data.seed, total, s.width, s.height, s.fps, s.crf)
    return {"raw_offset": 0.0}


def synthetic_fingerprint(row: dict, params: Params) -> str:
    return json.dumps([asdict(params.synthetic), params.data.seed], sort_keys=True)


# --- the seam ------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    annotations: Callable   # params -> (annotation table, classes, notes for metrics/fetch.json)
    acquire: Callable       # (row, params, dest path) -> extra manifest fields (raw_offset, ...)
    fingerprint: Callable   # (row, params) -> str; a kept file must match it
    suffix: Callable = lambda row: ".mp4"


SOURCES = {
    "synthetic": Source(synthetic_annotations, synthetic_acquire, synthetic_fingerprint),
    "kinetics": Source(kinetics.kinetics_annotations, kinetics.kinetics_acquire,
                        kinetics.kinetics_fingerprint),
    "folder": Source(folder.folder_annotations, folder.folder_acquire, folder.folder_fingerprint,
                     suffix=lambda row: Path(row["source"]).suffix.lower()),
}


def get_source(name: str) -> Source:
    if name not in SOURCES:
        raise ParamError(f"params.yaml: data.source: got {name!r}; allowed values: {', '.join(SOURCES)}")
    return SOURCES[name]


def fetch_annotations(params: Params) -> tuple[pd.DataFrame, list[str], dict]:
    df, classes, notes = get_source(params.data.source).annotations(params)
    if df.empty:
        raise StageError(f"data.source={params.data.source}: no annotation rows selected")
    return df, classes, notes
