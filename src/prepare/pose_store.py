"""Pose store: per clip, one compressed .npz of what the front-end found (src/prepare/pose_estimator.py), written
atomically; the one place it is read and written, like the frame store (src/prepare/frame_store.py).

Per clip the store holds `keypoints` T×33×4 (x, y, z, visibility as fractions of the frame; NaN where no
pose was found) and `detected` (T,) bool, as mmaction2's skeleton layout does, plus `person` (T,), the index
of the tracked person among the people found in each frame (-1 where the track is absent), `people` (T,),
how many people were found, and `confidence` (T,), how sure the pipeline is of the frame: the pose's mean
landmark visibility times the share of the frames in which the track was present. The manifest records each
clip's `cue` (segmenter, moving segments, moving region, or segmenter because the camera was not stabilised).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from src.utils import atomic_path

NUM_JOINTS = 33


def save_pose(path: Path, arrays: dict) -> int:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    return path.stat().st_size


def load_pose(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(keypoints, detected) of one clip."""
    with np.load(path) as z:
        return z["keypoints"], z["detected"]


def load_track(path: str | Path) -> dict:
    """Everything the pose store holds for one clip (keypoints, detected, person, people, confidence)."""
    with np.load(path) as z:
        return {k: z[k] for k in z.files}
