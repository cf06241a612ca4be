"""Pose stage: MediaPipe Pose (legacy `solutions` API, bundled model) on the stored frames.

Per clip: `keypoints` T×33×4 (x, y, z, visibility; NaN where nothing was found)
and `detected` (T,) bool, so a missing detection is explicit, never a silent zero
(mmaction2's skeleton layout idea).
"""
from __future__ import annotations

import functools
import os
import time
from pathlib import Path

import numpy as np

from src.config import ParamError, Pose
from src.prepare.frame_store import ClipFrames
from src.prepare.runner import run_clips
from src.utils import atomic_path

NUM_JOINTS = 33
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


class PoseEstimator:
    """Wraps mp.solutions.pose.Pose; `run(frames)` returns (keypoints, detected, seconds in MediaPipe)."""

    def __init__(self, cfg: Pose):
        _quiet_mediapipe()
        check_model_available(cfg.model_complexity)
        import mediapipe as mp
        self.cfg = cfg
        self.pose = mp.solutions.pose.Pose(
            static_image_mode=cfg.static_image_mode, model_complexity=cfg.model_complexity,
            min_detection_confidence=cfg.min_detection_confidence,
            min_tracking_confidence=cfg.min_tracking_confidence)

    def run(self, frames) -> tuple[np.ndarray, np.ndarray, float]:
        """frames: iterable of RGB uint8 images of one clip, in order."""
        kps, det, busy = [], [], 0.0
        for img in frames:
            t0 = time.perf_counter()
            res = self.pose.process(img)
            busy += time.perf_counter() - t0
            if res.pose_landmarks is None:
                kps.append(np.full((NUM_JOINTS, 4), np.nan, np.float32))
                det.append(False)
            else:
                kps.append(np.array([(p.x, p.y, p.z, p.visibility) for p in res.pose_landmarks.landmark],
                                    np.float32))
                det.append(True)
        # tracking state must not leak from one clip into the next
        t0 = time.perf_counter()
        self.pose.reset()
        busy += time.perf_counter() - t0
        return np.stack(kps), np.array(det, bool), busy

    def close(self) -> None:
        self.pose.close()


def _init_worker(cfg: Pose) -> None:
    global _ESTIMATOR
    import multiprocessing
    if multiprocessing.parent_process() is not None:
        # MediaPipe's C++ side logs a warning line per graph run straight to fd 2,
        # drowning the progress bar; errors still come back as recorded reasons.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
    _ESTIMATOR = PoseEstimator(cfg)


def save_pose(path: Path, keypoints: np.ndarray, detected: np.ndarray) -> int:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, keypoints=keypoints.astype(np.float32), detected=detected.astype(bool))
    return path.stat().st_size


def load_pose(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path) as z:
        return z["keypoints"], z["detected"]


def _pose_one(row: dict, frames_dir: Path, pose_dir: Path) -> dict:
    out = dict(clip_id=row["clip_id"], label=row["label"], split=row["split"], path=f"{row['clip_id']}.npz")
    t0 = time.perf_counter()
    try:
        clip = ClipFrames(frames_dir / row["path"])
        kps, det, busy = _ESTIMATOR.run(clip.frame(i) for i in range(len(clip)))
        nbytes = save_pose(pose_dir / out["path"], kps, det)
        return {**out, "status": "ok", "reason": "", "frames": len(det), "detected": int(det.sum()),
                "bytes": nbytes, "mediapipe_s": busy, "worker_s": time.perf_counter() - t0}
    except (OSError, ValueError, RuntimeError) as exc:
        return {**out, "status": "failed", "reason": str(exc)[:300], "frames": 0, "detected": 0, "bytes": 0,
                "mediapipe_s": 0.0, "worker_s": time.perf_counter() - t0}


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
    return dict(frames=frames, frames_detected=detected,
                detection_rate=round(detected / frames, 4) if frames else 0.0,
                detection_rate_per_class=per_class,
                mediapipe_ms_per_frame=round(1000 * mp_s / max(1, frames), 2),
                worker_ms_per_frame=round(1000 * worker_s / max(1, frames), 2),
                overhead_pct=round(100 * (worker_s - mp_s) / mp_s, 2) if mp_s else 0.0,
                wall_overhead_pct=round(100 * (wall_s * workers - mp_s) / mp_s, 2) if mp_s and wall_s else None)
