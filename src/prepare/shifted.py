"""The shifted test split: clips of the same classes filmed in scenes training never sees.

For the synthetic source, `synthetic.shifted_clips_per_class` clips per class are rendered in the
"shifted" style (photographs disjoint from the training backgrounds, a camera farther away than any
training clip), then trimmed, stored and posed exactly as the main data, with the same `trim`,
`frames` and `pose` settings. Everything lands under `paths.shifted`, its own DVC output, so adding
or changing this split never re-renders the training data. Sources with no notion of a shifted
scene (kinetics, folder) get an empty split, and evaluation reports none.

This module says only where the split's stores live, so that training and evaluation, which read them, do not
import the front-end that builds them (stages/shifted.py builds them).
"""
from __future__ import annotations

import dataclasses

from src.config import Params


def shifted_params(params: Params) -> Params:
    """The params whose data paths point into paths.shifted (annotations, raw, clips, frames, pose)."""
    root = params.paths.shifted
    paths = dataclasses.replace(params.paths, annotations=root / "annotations", raw=root / "raw",
                                clips=root / "clips", frames=root / "frames", pose=root / "pose")
    return dataclasses.replace(params, paths=paths)
