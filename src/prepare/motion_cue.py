"""The motion cue (the front-end's step 2): each frame's camera shift undone, what moves against the clip's
background, and the person masks built from it; its thresholds were chosen on the shifted validation clips
(docs/frontend.md)."""
from __future__ import annotations

import cv2
import numpy as np

from src.prepare.people import MIN_PERSON_AREA

# the motion cue (chosen on the shifted validation clips: docs/frontend.md)
MOTION_THRESHOLD = 15    # a pixel moves where it differs from the clip's background by more than this (0-255)
MAX_MOVING = 0.2         # more of the frame than this moving (median frame): the camera was not stabilised
NEAR = 0.08              # "near motion": within this share of the frame's long side of a moving blob
MOVING_SHARE = 0.3       # a segment this share of which lies near motion is kept whole


def stabilise(frames: list) -> list[tuple[float, float]]:
    """Each frame's shift (dx, dy) in pixels against the clip's middle frame: phase correlation on grey levels
    (OpenCV), which measures a camera's translation (the renderer's jitter, a tripod's sway) and nothing else."""
    grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).astype(np.float32) for f in frames]
    h, w = grey[0].shape
    window = cv2.createHanningWindow((w, h), cv2.CV_32F)
    ref = grey[len(grey) // 2]
    return [cv2.phaseCorrelate(ref, g, window)[0] for g in grey]


def motion_masks(frames: list) -> tuple[np.ndarray | None, float]:
    """T×H×W uint8: where each frame differs from the clip's background once the camera's shift is undone, and
    the median share of the frame that does. The background is the per-pixel median of the aligned frames (a
    dancer rarely stays on one pixel for half the clip); `(None, 1.0)` for clips too short to have one.

    Written here rather than with cv2.createBackgroundSubtractorMOG2 because a clip has 12 frames: MOG2 needs
    a warm-up history, where a median over the whole (stored, already decoded) clip needs none."""
    if len(frames) < 3:
        return None, 1.0
    h, w = frames[0].shape[:2]
    shifts = stabilise(frames)
    aligned = np.stack([cv2.warpAffine(f, np.float32([[1, 0, -dx], [0, 1, -dy]]), (w, h),
                                       borderMode=cv2.BORDER_REPLICATE) for f, (dx, dy) in zip(frames, shifts)])
    # the median is the mean of the middle two frames (of the middle one twice, for an odd count): twice it,
    # in integers, is compared with twice each frame (the pixels of numpy's float median, at a third of the cost)
    middle = np.partition(aligned, ((len(aligned) - 1) // 2, len(aligned) // 2), axis=0)
    twice = middle[(len(aligned) - 1) // 2].astype(np.int16) + middle[len(aligned) // 2]
    moving = (np.abs(2 * aligned.astype(np.int16) - twice).max(-1) > 2 * MOTION_THRESHOLD).astype(np.uint8)
    out = np.stack([cv2.morphologyEx(cv2.warpAffine(m, np.float32([[1, 0, dx], [0, 1, dy]]), (w, h),
                                                    flags=cv2.INTER_NEAREST), cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
                    for m, (dx, dy) in zip(moving, shifts)])
    return out, float(np.median(out.reshape(len(out), -1).mean(1)))


def _near(motion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(motion closed into blobs, the pixels within NEAR of it)."""
    g = max(1, int(round(NEAR * max(motion.shape))))
    blobs = cv2.morphologyEx(motion, cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8))
    return blobs > 0, cv2.dilate(blobs, np.ones((2 * g + 1, 2 * g + 1), np.uint8)) > 0


def moving_segments(seg: np.ndarray, motion: np.ndarray) -> np.ndarray:
    """The first cue: the segmenter's people that move. A segment at least MOVING_SHARE of which lies near
    motion is kept whole (a dancer's torso stands still while the limbs move); one that only touches motion is
    cut to its moving part (a far dancer merged with the photographed cat's ear); one that does not move is
    dropped (the motorcycle's tank, a bystander standing still). Where no segment moves, the moving blobs."""
    blobs, near = _near(motion)
    n, labels = cv2.connectedComponents(seg.astype(np.uint8), connectivity=8)
    keep = np.zeros_like(seg)
    for j in range(1, n):
        comp = labels == j
        moving = comp & near
        keep |= comp if moving.sum() >= MOVING_SHARE * comp.sum() else moving
    return keep if keep.mean() >= MIN_PERSON_AREA else blobs


def moving_region(seg: np.ndarray, motion: np.ndarray) -> np.ndarray:
    """The second cue, for clips where the segmenter missed the dancer: everything that moves (closed into
    blobs) and the segmented pixels near it."""
    blobs, near = _near(motion)
    return blobs | (seg & near)


def motion_cover(kps: np.ndarray, motion: np.ndarray) -> float:
    """Summed over the frames with a pose: the share of the frame's motion inside the pose's box (grown by 15%).
    The dancer is the clip's main mover, so a pose on it holds most of the motion, one on a bystander little."""
    T, h, w = motion.shape
    total = 0.0
    for t in np.nonzero(~np.isnan(kps[:, 0, 0]))[0]:
        (x0, y0), (x1, y1) = np.nanmin(kps[t, :, :2], 0), np.nanmax(kps[t, :, :2], 0)
        mx, my = 0.15 * (x1 - x0), 0.15 * (y1 - y0)
        c0, c1 = int(max(0, (x0 - mx) * w)), int(min(w, (x1 + mx) * w) + 1)
        r0, r1 = int(max(0, (y0 - my) * h)), int(min(h, (y1 + my) * h) + 1)
        moving = motion[t].sum()
        total += float(motion[t][r0:r1, c0:c1].sum() / moving) if moving else 1.0
    return total
