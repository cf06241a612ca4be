"""predict on long videos: seconds and peak resident memory of `python -m src.predict` (the whole command, its
ffmpeg children included) on a generated video of --hours hours (ffmpeg's testsrc, 64x48 at 1 fps, cached under
--cache), at several --num-clips, and on a 3-second clip at the --num-clips ceiling. The targets (issue: hostile
inputs): 10 hours at 64x48 in <= 60 s and <= 1.5 GB; the ceiling <= 2 GB.

    python -m benchmarks.bench_predict_long [--model models/model.safetensors] [--hours 10] [--clips 1 10]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from src.media import ffmpeg_exe, probe
from src.predict import MAX_CLIPS


def testsrc(path: Path, seconds: float, size: str, rate: int) -> Path:
    """ffmpeg's test pattern, made once (a 10-hour file takes about a minute)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(".tmp-" + path.name)
        subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                        f"testsrc=size={size}:rate={rate}:duration={seconds}", "-c:v", "libx264", "-preset",
                        "veryfast", "-pix_fmt", "yuv420p", str(tmp)], check=True)
        os.replace(tmp, path)
    return path


def measure(video: Path, model: str, num_clips: int) -> dict:
    """One predict command in a fresh process: wall seconds, peak RSS of its largest process, its answer."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "src.predict", str(video), "--model", model, "--num-clips",
                          str(num_clips), "--json"], capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if res.returncode != 0:
        raise SystemExit(f"predict failed: {res.stderr[-2000:]}")
    out = json.loads(res.stdout)
    return dict(video=video.name, num_clips=num_clips, seconds=round(seconds, 1),
                peak_mb=round(peak / 1024) if peak > before else "<= earlier run",
                windows=out.get("windows", 1), top1=out["top"][0]["label"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="models/model.safetensors")
    ap.add_argument("--hours", type=float, default=10.0)
    ap.add_argument("--clips", type=int, nargs="+", default=[1, 10])
    ap.add_argument("--cache", default="/tmp/bench_predict_long")
    args = ap.parse_args()
    cache = Path(args.cache)
    long = testsrc(cache / f"testsrc_{args.hours:g}h_64x48.mp4", args.hours * 3600, "64x48", 1)
    short = testsrc(cache / "testsrc_3s_160x120.mp4", 3, "160x120", 8)
    info = probe(long)
    print(f"{long}: {info.duration / 3600:.1f} h, {info.width}x{info.height}, {long.stat().st_size / 1e6:.1f} MB")
    rows = [measure(short, args.model, MAX_CLIPS)]  # first: ru_maxrss only grows, so the small ones go first
    rows += [measure(long, args.model, n) for n in sorted(args.clips)]
    for r in rows:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
