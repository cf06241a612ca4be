"""The offline `synthetic` source: the clip list of the cartoon-dancer data set (fetch) and
each clip rendered to an mp4 (download). The renderer itself is src/sources/cartoon.py."""
from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pandas as pd

from src.annotations import COLUMNS, safe_name
from src.config import ParamError, Params
from src.sources.cartoon import CLASSES, ORDER_PAIR, render_clip
from src.splits import assign_splits, clip_seed


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


def shifted_annotations(params: Params) -> tuple[pd.DataFrame, list[str]]:
    """The shifted test split: `synthetic.shifted_clips_per_class` new clips per class, all test, rendered
    in the "shifted" style (photographs training never sees, a camera farther away)."""
    classes = synthetic_classes(params)
    rows = []
    for label in classes:
        for i in range(params.synthetic.shifted_clips_per_class):
            yid = f"shf-{safe_name(label).replace('_', '-')}-{i:03d}"
            start, end, _ = synthetic_layout(params.data.seed, yid, params.synthetic)
            rows.append(dict(label=label, youtube_id=yid, time_start=start, time_end=end, split="test",
                             style="shifted"))
    return pd.DataFrame(rows, columns=COLUMNS + ["style"]), classes


def synthetic_order_pairs(params: Params, classes: list[str]) -> list[tuple[str, str]]:
    """The renderer's own order-only pair (when both classes are chosen), then any the user names."""
    own = [ORDER_PAIR] if all(c in classes for c in ORDER_PAIR) else []
    return own + [tuple(p) for p in params.data.order_pairs if tuple(p) != ORDER_PAIR]


def synthetic_acquire(row: dict, params: Params, dest) -> dict:
    _, _, total = synthetic_layout(params.data.seed, row["youtube_id"], params.synthetic)
    s = params.synthetic
    render_clip(dest, row["label"], row["youtube_id"], params.data.seed, total, s.width, s.height, s.fps, s.crf,
                style=row.get("style") or "train")
    return {"raw_offset": 0.0}


def synthetic_fingerprint(row: dict, params: Params) -> str:
    return json.dumps([asdict(params.synthetic), params.data.seed], sort_keys=True)
