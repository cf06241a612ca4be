"""Ground-truth keypoints of the synthetic clips: the joints the renderer drew, in MediaPipe's 33-landmark
layout, so the pose models can be trained and tested without the front-end (the oracle-pose ablation).

The renderer's figure has shoulders, elbows, hands, hips, knees, feet and a head; MediaPipe's landmarks
map onto them as follows (where the figure has no such part, the nearest drawn one stands in: the hand for
wrist, pinky, index and thumb; the foot for ankle, heel and toe; points of the drawn face for eyes, ears
and mouth). MediaPipe names sides as it sees them on screen; a mirrored clip therefore swaps left and right,
as the picture does. Only the synthetic source knows its joints: kinetics and folder clips have none.
"""
from __future__ import annotations

import numpy as np

from src.sources.cartoon import CHOREOGRAPHIES, draw_look, figure_box, figure_geometry, pose_at, scene
from src.splits import clip_seed

# MediaPipe Pose landmark indices (left, right) for the figure's parts, in the order of figure_geometry's limbs
# (shoulder, elbow, hand, hip, knee, foot); the hand stands in for wrist/pinky/index/thumb, the foot for
# ankle/heel/toe
LIMBS = {"shoulder": (11, 12), "elbow": (13, 14), "hand": ((15, 17, 19, 21), (16, 18, 20, 22)),
         "hip": (23, 24), "knee": (25, 26), "foot": ((27, 29, 31), (28, 30, 32))}
# the landmarks the classifiers lean on (what the ablation's error figure is measured on)
BODY = (11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
SWAP = np.array([0, 4, 5, 6, 1, 2, 3, 8, 7, 10, 9] + [j + d for j in range(11, 33, 2) for d in (1, 0)])


def figure_landmarks(pose: dict, look, w: int, h: int) -> np.ndarray:
    """33×2 pixel positions of one figure's landmarks as drawn (before camera jitter and mirroring); the
    figure's side "l" is drawn on the screen's right, which MediaPipe calls the person's left."""
    g = figure_geometry(pose, look, w, h)
    out = np.zeros((33, 2))
    for side, k in (("l", 0), ("r", 1)):
        for part, pt in zip(LIMBS, g["parts"][side]):
            idx = LIMBS[part][k]
            out[list(idx) if isinstance(idx, tuple) else idx] = pt
    (hx, hy), r, wk = g["head"], g["r"], g["widthk"]
    off = r * 0.38 * wk
    out[0] = (hx, hy + r * 0.4)                                   # nose tip
    for eye, s in ((range(1, 4), 1), (range(4, 7), -1)):          # left eye (screen right), right eye
        for j, dx in zip(eye, (0.6, 1.0, 1.4)):                   # inner, centre, outer
            out[j] = (hx + s * off * dx, hy + r * 0.05)
    out[7], out[8] = (hx + r * wk, hy), (hx - r * wk, hy)         # ears
    out[9], out[10] = (hx + r * 0.3, hy + r * 0.62), (hx - r * 0.3, hy + r * 0.62)  # mouth corners
    return out


def dancer_keypoints(label: str, clip_id: str, seed: int, seconds: float, width: int, height: int, fps: int,
                     style: str = "train") -> np.ndarray:
    """The labelled dancer's 33 landmarks in every rendered frame: N×33×4 (x, y as fractions of the frame,
    z = 0, visibility = 1), as MediaPipe's pose store holds them.

    The pose comes from the clip's choreography and look (drawn first from the clip's generator, as
    cartoon.scene draws them); the camera jitter of each frame is read back from the box scene() reports."""
    look = draw_look(np.random.default_rng(clip_seed(seed, clip_id)), CHOREOGRAPHIES[label].bpm, seconds, style,
                     label)
    out = []
    for i, (_, box) in enumerate(scene(label, clip_id, seed, seconds, width, height, fps, style, draw=False)):
        pose = pose_at(CHOREOGRAPHIES[label], look.phase + i / fps * look.tempo)
        pts = figure_landmarks(pose, look, width, height)
        x0, y0, x1, _ = figure_box(pose, look, width, height)
        jy = box[1] * height - y0
        if look.mirror:
            jx = width - box[0] * width - x1
            pts = np.stack([width - (pts[:, 0] + jx), pts[:, 1] + jy], 1)[SWAP]
        else:
            pts = pts + (box[0] * width - x0, jy)
        kp = np.zeros((33, 4), np.float32)
        kp[:, 0], kp[:, 1], kp[:, 3] = pts[:, 0] / width, pts[:, 1] / height, 1.0
        out.append(kp)
    return np.stack(out)


def stored_keypoints(params, annotation: dict, stored: int) -> np.ndarray:
    """The dancer's landmarks in each of a clip's `stored` frame-store frames (stored×33×4): frame j of the
    trimmed clip is the render's frame nearest time_start + j / trim.fps (as synthetic.stored_dancer_boxes)."""
    from src.media import uniform_indices
    from src.sources.synthetic import synthetic_layout
    yid, style, s = annotation["youtube_id"], annotation.get("style") or "train", params.synthetic
    _, _, total = synthetic_layout(params.data.seed, yid, s)
    kps = dancer_keypoints(annotation["label"], yid, params.data.seed, total, s.width, s.height, s.fps, style)
    n_trim = int(round((annotation["time_end"] - annotation["time_start"]) * params.trim.fps))
    ks = [min(len(kps) - 1, int(round((annotation["time_start"] + j / params.trim.fps) * s.fps)))
          for j in uniform_indices(n_trim, params.frames.max_frames)[:stored]]
    return kps[ks]


def landmark_error(truth: np.ndarray, found: np.ndarray, detected: np.ndarray, aspect: float) -> np.ndarray:
    """Per frame MediaPipe found the dancer: the median distance, as a fraction of the frame's width, between
    MediaPipe's and the renderer's BODY landmarks (aspect: the frame's height / width)."""
    scale = np.array([1.0, aspect])
    t, f = truth[detected][:, BODY, :2] * scale, found[detected][:, BODY, :2] * scale
    return np.median(np.linalg.norm(t - f, axis=-1), axis=1)
