"""Pose stage: find the dancer, follow one person through the clip, and run MediaPipe Pose on them.

The front-end, per clip:

1. **People in every frame**: MediaPipe's selfie segmentation (landscape model, bundled in the wheel) gives a
   person mask; its connected components are the people. Why this detector: on rendered frames with the
   dancer's box known (benchmarks/bench_pose.py --detectors), it found the dancer in 100% of main and 91% of
   shifted frames at 2.5 ms a frame, where MediaPipe's own BlazePose detector (run directly, several people)
   found 70% and 17%, its full-range face detector 89% and 20%, and OpenCV's HOG people detector 30% and 41%:
   the detectors look for faces and people a few hundred pixels tall, the segmenter for a body of any size.
2. **One dancer per clip**: the people are linked into tracks from frame to frame (the largest overlap), and
   the clip's dancer is the track that is largest, most present, most central and moves most, judged over
   the whole clip, never frame by frame (`choose_track`).
3. **Pose on that person, isolated and enlarged**: in every frame everything but the tracked person's
   segment (grown by 3% of the frame) is painted in the frame's mean colour, so neither a bystander nor a
   busy background can draw the pose model away; MediaPipe Pose (tracking mode) then reads a square crop
   centred on the person, of one size for the whole clip, resized to POSE_INPUT pixels, so a dancer far away
   fills its input; the landmarks are mapped back to the frame. Where the segmenter finds nobody in the whole
   clip, Pose runs on the whole frame as before. (Painting over only the other people and keeping the
   background found the dancer in 48% of shifted frames instead of 90%; one crop fixed for the whole clip
   in 84%: benchmarks/bench_pose.py, the trials in docs/frontend.md.)

Per clip the store holds `keypoints` T×33×4 (x, y, z, visibility as fractions of the frame; NaN where no
pose was found) and `detected` (T,) bool, as mmaction2's skeleton layout does, plus `person` (T,), the index
of the tracked person among the people found in each frame (-1 where the track is absent), `people` (T,),
how many people were found, and `confidence` (T,), how sure the pipeline is of the frame: the pose's mean
landmark visibility times the share of the frames in which the track was present.
"""
from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from src.config import ParamError, Pose
from src.prepare.frame_store import ClipFrames
from src.prepare.runner import run_clips
from src.utils import atomic_path

NUM_JOINTS = 33
POSE_INPUT = 256        # side of the square crop around the dancer that Pose reads
MIN_PERSON_AREA = 0.004  # components smaller than this share of the frame are noise, not people
STILL_MOTION = 0.01      # a tracked person whose box moves less than this (track_motion) is not dancing
_ESTIMATOR = None  # one MediaPipe graph per worker process


def _quiet_mediapipe() -> None:
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


LANDMARK_MODELS = {0: "pose_landmark_lite.tflite", 1: "pose_landmark_full.tflite",
                   2: "pose_landmark_heavy.tflite"}


def check_model_available(model_complexity: int) -> None:
    """MediaPipe downloads lite/heavy models on first use; offline that aborts the process.

    Fail early with what to do instead (the 0.10.21 wheel bundles only the full model).
    """
    import mediapipe
    path = Path(mediapipe.__file__).parent / "modules" / "pose_landmark" / LANDMARK_MODELS[model_complexity]
    if not path.exists():
        raise ParamError(f"params.yaml: pose.model_complexity={model_complexity} needs {path.name}, which this "
                         f"mediapipe wheel does not ship; download it to {path} or use "
                         f"pose.model_complexity=1 (bundled)")


@dataclass
class ClipPose:
    keypoints: np.ndarray   # T×33×4
    detected: np.ndarray    # T bool
    person: np.ndarray      # T int: index of the tracked person among the frame's people, -1 if absent
    people: np.ndarray      # T int: people found in the frame
    confidence: np.ndarray  # T float in [0, 1]
    busy: float             # seconds inside MediaPipe
    note: str = ""          # why the clip is doubtful (nobody, somebody only at times, a crowd with no dancer)

    def arrays(self) -> dict:
        return dict(keypoints=self.keypoints.astype(np.float32), detected=self.detected.astype(bool),
                    person=self.person.astype(np.int16), people=self.people.astype(np.int16),
                    confidence=self.confidence.astype(np.float32))


def find_people(mask: np.ndarray, labels_out: list | None = None) -> list[tuple]:
    """Person boxes (x0, y0, x1, y1 as fractions of the frame, area share, component label) from a segmentation
    mask's connected components, largest first; labels_out receives the label image."""
    h, w = mask.shape
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if labels_out is not None:
        labels_out.append(labels)
    people = []
    for j in range(1, n):
        x, y, bw, bh, area = stats[j]
        if area / (h * w) >= MIN_PERSON_AREA:
            people.append((x / w, y / h, (x + bw) / w, (y + bh) / h, area / (h * w), j))
    return sorted(people, key=lambda p: -p[4])


def _overlap(a, b) -> float:
    x0, y0, x1, y1 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def link_tracks(people: list[list[tuple]]) -> list[dict[int, int]]:
    """Tracks through the clip: each is {frame: index of its person in that frame}. A person joins the track
    whose latest box it overlaps most (IoU > 0.1), else starts a new one; one person per track and frame."""
    tracks: list[dict[int, int]] = []
    for t, frame in enumerate(people):
        taken = set()
        for i in sorted(range(len(frame)), key=lambda i: -frame[i][4]):
            best, best_iou = None, 0.1
            for k, tr in enumerate(tracks):
                if k in taken:
                    continue
                last = max(tr)
                if t - last > 3:  # a track lost for more than 3 frames is not resumed
                    continue
                iou = _overlap(frame[i], people[last][tr[last]])
                if iou > best_iou:
                    best, best_iou = k, iou
            if best is None:
                tracks.append({t: i})
                taken.add(len(tracks) - 1)
            else:
                tracks[best][t] = i
                taken.add(best)
    return tracks


def track_motion(people: list[list[tuple]], track: dict[int, int]) -> float:
    """How much a tracked person moves: the spread over the clip of its box's centre, width and height
    (fractions of the frame)."""
    if len(track) < 2:
        return 0.0
    b = np.array([people[t][i][:4] for t, i in sorted(track.items())])
    return float(np.std((b[:, 0] + b[:, 2]) / 2) + np.std((b[:, 1] + b[:, 3]) / 2) + np.std(b[:, 2] - b[:, 0])
                 + np.std(b[:, 3] - b[:, 1]))


def choose_track(people: list[list[tuple]], tracks: list[dict[int, int]]) -> int | None:
    """The clip's dancer: over the whole clip, the track that is present most, largest, most central and moves
    most; None when nobody was found."""
    if not tracks:
        return None

    def score(tr: dict[int, int]) -> float:
        boxes = np.array([people[t][i][:4] for t, i in tr.items()])
        area = np.mean([people[t][i][4] for t, i in tr.items()])
        central = 1.0 - min(1.0, abs(float(boxes[:, [0, 2]].mean()) - 0.5) * 1.5)
        return (len(tr) / len(people)) * np.sqrt(area) * (0.25 + central) * (1.0 + 10 * track_motion(people, tr))
    return int(np.argmax([score(tr) for tr in tracks]))


def track_crops(people: list[list[tuple]], track: dict[int, int], width: int, height: int,
                margin: float = 0.25) -> np.ndarray:
    """T×3 (left, top, side) in pixels: a square of one side for the whole clip (around the 10th to 90th
    percentile of the tracked boxes' edges, with a margin, so one bad segmentation does not change it), centred
    on the tracked box of each frame (the nearest frame's where the track is absent)."""
    b = np.array([people[t][i][:4] for t, i in sorted(track.items())]) * [width, height, width, height]
    side = max(np.percentile(b[:, 2], 90) - np.percentile(b[:, 0], 10),
               np.percentile(b[:, 3], 90) - np.percentile(b[:, 1], 10)) * (1 + 2 * margin)
    frames = np.array(sorted(track))
    out = np.zeros((len(people), 3), np.int64)
    for t in range(len(people)):
        x0, y0, x1, y1 = b[int(np.abs(frames - t).argmin())]
        out[t] = (round((x0 + x1 - side) / 2), round((y0 + y1 - side) / 2), max(8, round(side)))
    return out


def isolate(img: np.ndarray, labels: np.ndarray, person: tuple, grow: int) -> np.ndarray:
    """img with everything but the tracked person (its segmented pixels, grown by `grow`) painted in the frame's
    mean colour: the pose model then sees one person, on a plain ground."""
    keep = cv2.dilate((labels == person[5]).astype(np.uint8), np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
    fill = img.reshape(-1, 3).mean(0).astype(np.uint8)
    return np.where(keep[..., None] > 0, img, fill).astype(np.uint8)


def cut(img: np.ndarray, left: int, top: int, side: int, out: int) -> np.ndarray:
    """The square (left, top, side) of img, padded black where it leaves the frame, resized to out×out."""
    h, w = img.shape[:2]
    pad = max(0, -left, -top, left + side - w, top + side - h)
    if pad:
        img = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0))
        left, top = left + pad, top + pad
    return cv2.resize(img[top:top + side, left:left + side], (out, out), interpolation=cv2.INTER_LINEAR)


class PoseEstimator:
    """Segmenter + tracker + MediaPipe Pose; `run(frames)` returns a ClipPose for one clip's frames."""

    def __init__(self, cfg: Pose):
        _quiet_mediapipe()
        check_model_available(cfg.model_complexity)
        import mediapipe as mp
        self.cfg = cfg
        self.pose = mp.solutions.pose.Pose(
            static_image_mode=cfg.static_image_mode, model_complexity=cfg.model_complexity,
            min_detection_confidence=cfg.min_detection_confidence,
            min_tracking_confidence=cfg.min_tracking_confidence)
        self.segmenter = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=1)

    def _landmarks(self, img: np.ndarray):
        res = self.pose.process(img)
        if res.pose_landmarks is None:
            return None
        return np.array([(p.x, p.y, p.z, p.visibility) for p in res.pose_landmarks.landmark], np.float32)

    def run(self, frames) -> ClipPose:
        """frames: iterable of RGB uint8 images of one clip, in order."""
        frames = list(frames)
        t_total, busy = len(frames), 0.0
        h, w = frames[0].shape[:2]
        t0 = time.perf_counter()
        labels: list = []
        people = [find_people(self.segmenter.process(f).segmentation_mask > 0.5, labels) for f in frames]
        tracks = link_tracks(people)
        chosen = choose_track(people, tracks)
        kps = np.full((t_total, NUM_JOINTS, 4), np.nan, np.float32)
        person = np.full(t_total, -1, np.int16)
        if chosen is not None:
            track = tracks[chosen]
            for t, i in track.items():
                person[t] = i
            crops = track_crops(people, track, w, h)
            grow = max(2, int(round(0.03 * max(h, w))))
            for t, img in enumerate(frames):
                if t in track:  # only the tracked person stays; a frame without it is read as it is
                    img = isolate(img, labels[t], people[t][track[t]], grow)
                left, top, side = crops[t]
                lm = self._landmarks(cut(img, left, top, side, POSE_INPUT))
                if lm is not None:  # crop coordinates -> frame coordinates
                    lm[:, 0] = (left + lm[:, 0] * side) / w
                    lm[:, 1] = (top + lm[:, 1] * side) / h
                    lm[:, 2] = lm[:, 2] * side / w
                    kps[t] = lm
            presence = len(track) / t_total
        else:  # nobody segmented: the whole frame, as MediaPipe alone would
            for t, img in enumerate(frames):
                lm = self._landmarks(img)
                if lm is not None:
                    kps[t] = lm
            presence = 1.0
        self.pose.reset()  # tracking state must not leak from one clip into the next
        busy = time.perf_counter() - t0
        detected = ~np.isnan(kps[:, 0, 0])
        visibility = np.where(detected, np.nan_to_num(kps[:, :, 3]).mean(1), 0.0)
        counts = np.array([len(p) for p in people], np.int16)
        moving = chosen is not None and track_motion(people, tracks[chosen]) >= STILL_MOTION
        return ClipPose(kps, detected, person, counts, (visibility * presence).astype(np.float32), busy,
                        clip_note(t_total, int(detected.sum()), int((counts > 1).sum()), moving))

    def close(self) -> None:
        self.pose.close()
        self.segmenter.close()


def _init_worker(cfg: Pose) -> None:
    global _ESTIMATOR
    import multiprocessing
    if multiprocessing.parent_process() is not None:
        # MediaPipe's C++ side logs a warning line per graph run straight to fd 2,
        # drowning the progress bar; errors still come back as recorded reasons.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
    _ESTIMATOR = PoseEstimator(cfg)


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


def _pose_one(row: dict, frames_dir: Path, pose_dir: Path) -> dict:
    out = dict(clip_id=row["clip_id"], label=row["label"], split=row["split"], path=f"{row['clip_id']}.npz")
    t0 = time.perf_counter()
    try:
        clip = ClipFrames(frames_dir / row["path"])
        res = _ESTIMATOR.run(clip.frame(i) for i in range(len(clip)))
        nbytes = save_pose(pose_dir / out["path"], res.arrays())
        out.update(status="ok", reason=res.note, frames=len(res.detected), detected=int(res.detected.sum()),
                   tracked=int((res.person >= 0).sum()), crowded=int((res.people > 1).sum()), bytes=nbytes)
        return {**out, "mediapipe_s": res.busy, "worker_s": time.perf_counter() - t0}
    except (OSError, ValueError, RuntimeError) as exc:
        return {**out, "status": "failed", "reason": str(exc)[:300], "frames": 0, "detected": 0, "tracked": 0,
                "crowded": 0, "bytes": 0, "mediapipe_s": 0.0, "worker_s": time.perf_counter() - t0}


def clip_note(frames: int, found: int, crowded: int, moving: bool) -> str:
    """The clip's recorded reason when the front-end doubts it (empty when it does not): nobody in any frame,
    a person in some frames only, or several people of whom none moves (a crowd with no dancer)."""
    if found == 0:
        return "no person found in any frame"
    if crowded and not moving:
        return f"several people in {crowded} of {frames} frames and none of them moves: no dancer to follow"
    if found < frames:
        return f"person found in {found} of {frames} frames"
    return ""


def extract_all(rows: list[dict], frames_dir: Path, pose_dir: Path, cfg: Pose, compute=None):
    check_model_available(cfg.model_complexity)  # in the parent, before any worker starts
    fn = functools.partial(_pose_one, frames_dir=frames_dir, pose_dir=pose_dir)
    # spawn: a MediaPipe graph alive in the parent (predict, benchmarks) does not survive a fork
    return run_clips(fn, rows, pose_dir, cfg.workers, "pose", timing=("mediapipe_s", "worker_s"),
                     initializer=_init_worker, initargs=(cfg,), start_method="spawn", compute=compute)


def detection_summary(manifest, wall_s: float | None = None, workers: int = 1) -> dict:
    """Detection rate overall and per class, plus MediaPipe's share of the time.

    overhead_pct compares the workers' time with the time spent inside MediaPipe;
    wall_overhead_pct compares wall time x workers with it, so idle cores count too.
    """
    ok = manifest[manifest["status"] == "ok"]
    frames, detected = int(ok["frames"].sum()), int(ok["detected"].sum())
    per_class = {label: round(float(g["detected"].sum() / max(1, g["frames"].sum())), 4)
                 for label, g in ok.groupby("label")}
    mp_s, worker_s = float(ok["mediapipe_s"].sum()), float(ok["worker_s"].sum())
    notes = ok["reason"].fillna("").str.replace(r"\d+", "N", regex=True)
    return dict(frames=frames, frames_detected=detected,
                detection_rate=round(detected / frames, 4) if frames else 0.0,
                detection_rate_per_class=per_class,
                detection_rate_per_split={split: round(float(g["detected"].sum() / max(1, g["frames"].sum())), 4)
                                          for split, g in ok.groupby("split")},
                frames_tracked=int(ok["tracked"].sum()) if "tracked" in ok else None,
                frames_with_several_people=int(ok["crowded"].sum()) if "crowded" in ok else None,
                clip_notes={k: int(v) for k, v in notes[notes != ""].value_counts().items()},
                mediapipe_ms_per_frame=round(1000 * mp_s / max(1, frames), 2),
                worker_ms_per_frame=round(1000 * worker_s / max(1, frames), 2),
                overhead_pct=round(100 * (worker_s - mp_s) / mp_s, 2) if mp_s else 0.0,
                wall_overhead_pct=round(100 * (wall_s * workers - mp_s) / mp_s, 2) if mp_s and wall_s else None)


def in_boxes(points, boxes, pad: float = 0.02) -> np.ndarray:
    """Whether each point (N×2, x and y as fractions of the frame) lies in its box (N×4: x0, y0, x1, y1), with
    a margin of `pad`: how the pose stage and benchmarks/bench_pose.py judge that a pose is on the dancer."""
    p, b = np.asarray(points, float).reshape(-1, 2), np.asarray(boxes, float).reshape(-1, 4)
    return ((p[:, 0] >= b[:, 0] - pad) & (p[:, 0] <= b[:, 2] + pad) &
            (p[:, 1] >= b[:, 1] - pad) & (p[:, 1] <= b[:, 3] + pad))


def dancer_check(params, manifest) -> dict:
    """How often the tracked person is the labelled dancer, per split, where the source knows where its dancer
    is (the synthetic renderer draws it): a frame counts when the pose's hip centre lies in the dancer's box.
    {} for sources that cannot tell."""
    if params.data.source != "synthetic":
        return {}
    from src.annotations import read_annotations
    from src.sources.synthetic import stored_dancer_boxes
    annotations = read_annotations(params.paths.annotations).set_index("clip_id").to_dict("index")
    out = {}
    for split, rows in manifest[manifest["status"] == "ok"].groupby("split"):
        found = on = 0
        for row in rows.to_dict("records"):
            kps, det = load_pose(params.paths.pose / row["path"])
            if not det.any():
                continue
            boxes = stored_dancer_boxes(params, {**annotations[row["clip_id"]], "label": row["label"]}, len(det))
            hips = kps[det][:, [23, 24], :2].mean(1)
            found, on = found + len(hips), on + int(in_boxes(hips, boxes[det]).sum())
        out[split] = dict(frames_with_pose=found, on_dancer=on, on_dancer_rate=round(on / found, 4) if found else None)
    return out
