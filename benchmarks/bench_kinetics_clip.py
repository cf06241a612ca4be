"""Per-clip cost of trim, frames and pose on a Kinetics-like clip: 10 s of 640x360 video at 30 fps.

YouTube cannot be reached from the machines this was built on, so the input is a synthetic scene
of that size and rate (a cartoon dancer over a photograph, as the embedded data set draws it),
encoded by ffmpeg at a typical 360p bitrate. Each stage's own per-clip function runs on one core;
the figures are core-seconds per clip, the unit of docs/scale.md.

    python -m benchmarks.bench_kinetics_clip [--clips 8]
"""
from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from src.config import load_params
from src.media import ffmpeg_exe
from src.prepare.frame_store import extract_clip
from src.prepare.pose_estimator import PoseEstimator
from src.prepare.frame_store import ClipFrames
from src.prepare.trim import trim_clip
from src.sources.cartoon import render_frames


def kinetics_like(path: Path, seed: int, seconds: float = 10.0, fps: int = 30) -> Path:
    """A 640x360, 30 fps, H.264 clip at about 600 kbit/s (YouTube's 360p is 0.4-1 Mbit/s)."""
    frames = render_frames("dancing macarena", f"bench-{seed}", seed, seconds, 640, 360, fps)
    cmd = [ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", "640x360",
           "-r", str(fps), "-i", "-", "-c:v", "libx264", "-preset", "veryfast", "-b:v", "600k", "-pix_fmt",
           "yuv420p", str(path)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    for f in frames:
        proc.stdin.write(np.ascontiguousarray(f).tobytes())
    proc.stdin.close()
    proc.wait()
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=8)
    args = ap.parse_args()
    p = load_params()
    cv2.setNumThreads(1)
    est = PoseEstimator(p.pose)
    t = {"trim": 0.0, "frames": 0.0, "pose": 0.0}
    sizes = {"raw": 0, "clips": 0, "frames": 0}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for i in range(args.clips):
            raw = kinetics_like(tmp / f"raw{i}.mp4", i)
            t0 = time.perf_counter()
            trim_clip(raw, tmp / f"clip{i}.mp4", 0.0, 10.0, p.trim)
            t1 = time.perf_counter()
            extract_clip(tmp / f"clip{i}.mp4", tmp / f"frames{i}.mp4", p.frames)
            t2 = time.perf_counter()
            clip = ClipFrames(tmp / f"frames{i}.mp4")
            est.run(clip.frame(k) for k in range(len(clip)))
            t3 = time.perf_counter()
            t["trim"] += t1 - t0
            t["frames"] += t2 - t1
            t["pose"] += t3 - t2
            for key, f in (("raw", raw), ("clips", tmp / f"clip{i}.mp4"), ("frames", tmp / f"frames{i}.mp4")):
                sizes[key] += f.stat().st_size
    n = args.clips
    print(f"{n} clips of 10 s, 640x360, 30 fps; trim to {p.trim.fps} fps / {p.trim.short_side} px, "
          f"{p.frames.max_frames} stored frames, MediaPipe on each (one core)")
    for k, v in t.items():
        print(f"{k:7} {v / n:6.3f} core-s per clip")
    for k, v in sizes.items():
        print(f"{k:7} {v / n / 1e3:7.1f} kB per clip")


if __name__ == "__main__":
    main()
