"""The offline `synthetic` source: the clip list of the cartoon-dancer data set (fetch) and
each clip rendered to an mp4 (download). The renderer itself is src/sources/cartoon.py."""
from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pandas as pd

from src.annotations import COLUMNS, safe_name
from src.config import ParamError, Params
from src.sources.cartoon import CLASSES, ORDER_PAIR, dancer_boxes, render_clip
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
    """The shifted split, rendered in the "shifted" style (photographs training never sees, a camera farther
    away): `synthetic.shifted_clips_per_class` test clips per class, and `synthetic.shifted_val_clips_per_class`
    other clips per class as its validation set, for choosing settings without reading the test clips."""
    classes = synthetic_classes(params)
    rows = []
    for label in classes:
        s = params.synthetic
        for split, prefix, n in (("test", "shf", s.shifted_clips_per_class), ("val", "shv", s.shifted_val_clips_per_class)):
            for i in range(n):
                yid = f"{prefix}-{safe_name(label).replace('_', '-')}-{i:03d}"
                start, end, _ = synthetic_layout(params.data.seed, yid, params.synthetic)
                rows.append(dict(label=label, youtube_id=yid, time_start=start, time_end=end, split=split,
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


def stored_dancer_boxes(params: Params, annotation: dict, stored: int) -> np.ndarray:
    """Where the labelled dancer is in each of a clip's `stored` frame-store frames: stored×4 fractions (x0, y0,
    x1, y1) of the frame, from the renderer (which draws it) rather than from any detector.

    A stored frame is frame j of the trimmed clip (the frames stage keeps `frames.max_frames` evenly), which is
    the render's frame at time_start + j / trim.fps; the box is the union over that rendered frame and its two
    neighbours, since trim's resampling may take either."""
    from src.media import uniform_indices
    yid, style = annotation["youtube_id"], annotation.get("style") or "train"
    _, _, total = synthetic_layout(params.data.seed, yid, params.synthetic)
    s = params.synthetic
    boxes = dancer_boxes(annotation["label"], yid, params.data.seed, total, s.width, s.height, s.fps, style)
    n_trim = int(round((annotation["time_end"] - annotation["time_start"]) * params.trim.fps))
    js = uniform_indices(n_trim, params.frames.max_frames)[:stored]
    out = []
    for j in js:
        k = int(round((annotation["time_start"] + j / params.trim.fps) * s.fps))
        near = boxes[max(0, k - 1):min(len(boxes), k + 2)]
        out.append([near[:, 0].min(), near[:, 1].min(), near[:, 2].max(), near[:, 3].max()])
    return np.array(out)
