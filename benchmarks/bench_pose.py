"""Pose stage overhead against MediaPipe's own per-frame time on the same frames.

(a) bare MediaPipe: one Pose graph, frames already decoded in memory, reset between clips;
(b) the stage's code (read store, run, save .npz) with pose.workers processes, by wall clock.
Overhead = (wall x workers - bare time) / bare time. Needs `dvc repro frames` first.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from src.annotations import MANIFEST
from src.config import load_params
from src.prepare.frame_store import ClipFrames
from src.prepare.pose import PoseEstimator, extract_all


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clips", type=int, default=48)
    args = ap.parse_args()
    p = load_params()
    frames = pd.read_csv(p.paths.frames / MANIFEST)
    rows = frames[frames.status == "ok"].sample(n=args.clips, random_state=0).to_dict("records")
    decoded = [[c.frame(i) for i in range(len(c))] for c in (ClipFrames(p.paths.frames / r["path"]) for r in rows)]
    n_frames = sum(map(len, decoded))
    est = PoseEstimator(p.pose)
    est.run(decoded[0])  # warm-up
    t0 = time.perf_counter()
    for clip in decoded:
        est.pose.reset()
        for img in clip:
            est.pose.process(img)
    bare = time.perf_counter() - t0
    est.close()
    print(f"bare MediaPipe: {1000 * bare / n_frames:.2f} ms/frame over {n_frames} frames (one core)")
    for workers in sorted({1, p.pose.workers}):
        cfg = type(p.pose)(**{**p.pose.__dict__, "workers": workers})
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            extract_all(rows, p.paths.frames, Path(tmp), cfg)
            wall = time.perf_counter() - t0
        overhead = 100 * (wall * workers - bare) / bare
        print(f"pose stage, {workers} worker(s): {1000 * wall / n_frames:.2f} ms/frame wall, "
              f"{n_frames / wall:.1f} frames/s, overhead {overhead:+.1f}% vs bare x {workers} core(s) "
              f"(target within 15%); cores: {os.cpu_count()}")


if __name__ == "__main__":
    main()
