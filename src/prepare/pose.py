"""The pose stage's work: the front-end (src/prepare/pose_estimator.py) over every clip of the frame store, in
spawned worker processes, into the pose store (src/prepare/pose_store.py), and the stage's summaries: detection
rates, and how often the tracked person is the dancer where the source knows."""
from __future__ import annotations

import functools
import os
import time
from pathlib import Path

from src.config import Pose
from src.errors import machine_error
from src.prepare.frame_store import ClipFrames
from src.prepare.people import in_boxes
from src.prepare.pose_estimator import PoseEstimator, check_model_available
from src.prepare.pose_store import load_pose, save_pose
from src.prepare.runner import run_clips

_ESTIMATOR = None  # one MediaPipe graph per worker process


def _init_worker(cfg: Pose) -> None:
    global _ESTIMATOR
    import multiprocessing
    if multiprocessing.parent_process() is not None:
        # MediaPipe's C++ side logs a warning line per graph run straight to fd 2,
        # drowning the progress bar; errors still come back as recorded reasons.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
    _ESTIMATOR = PoseEstimator(cfg)


def _pose_one(row: dict, frames_dir: Path, pose_dir: Path) -> dict:
    out = dict(clip_id=row["clip_id"], label=row["label"], split=row["split"], path=f"{row['clip_id']}.npz")
    t0 = time.perf_counter()
    try:
        clip = ClipFrames(frames_dir / row["path"])
        res = _ESTIMATOR.run(clip.frame(i) for i in range(len(clip)))
        nbytes = save_pose(pose_dir / out["path"], res.arrays())
        out.update(status="ok", reason=res.note, cue=res.cue, frames=len(res.detected),
                   detected=int(res.detected.sum()), tracked=int((res.person >= 0).sum()),
                   crowded=int((res.people > 1).sum()), whole_frame=res.filled, bytes=nbytes)
        return {**out, "mediapipe_s": res.busy, "worker_s": time.perf_counter() - t0}
    except (OSError, ValueError, RuntimeError) as exc:
        if machine_error(exc):  # a full disk ends the stage, never recorded as a failed clip
            raise
        return {**out, "status": "failed", "reason": str(exc)[:300], "cue": "", "frames": 0, "detected": 0,
                "tracked": 0, "crowded": 0, "whole_frame": 0, "bytes": 0, "mediapipe_s": 0.0, "worker_s": time.perf_counter() - t0}


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
                frames_from_whole_frame=int(ok["whole_frame"].sum()) if "whole_frame" in ok else None,
                clip_notes={k: int(v) for k, v in notes[notes != ""].value_counts().items()},
                clips_per_cue={k: int(v) for k, v in ok["cue"].value_counts().items()} if "cue" in ok else None,
                mediapipe_ms_per_frame=round(1000 * mp_s / max(1, frames), 2),
                worker_ms_per_frame=round(1000 * worker_s / max(1, frames), 2),
                overhead_pct=round(100 * (worker_s - mp_s) / mp_s, 2) if mp_s else 0.0,
                wall_overhead_pct=round(100 * (wall_s * workers - mp_s) / mp_s, 2) if mp_s and wall_s else None)


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
