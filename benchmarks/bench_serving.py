"""The served champion's speed: `mlflow models serve` on `models:/video-action-recognition@champion` of this
repository's store, its cold start (process start to the first answered /ping) and the seconds it takes to
answer one clip sent as base64 bytes (median of --repeat requests, after a first one that loads MediaPipe).
Needs the store of a `dvc repro` (mlruns/).

    python -m benchmarks.bench_serving [--video data/raw/<clip>.mp4] [--repeat 5]
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from src.config import load_params
from src.reporting.tracking import tracking_uri

CHAMPION = "models:/video-action-recognition@champion"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--video", help="the clip to send (default: the first of data/raw)")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    params = load_params()
    video = Path(args.video) if args.video else sorted(params.paths.raw.glob("*.mp4"))[0]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, MLFLOW_TRACKING_URI=tracking_uri(params.paths.mlruns),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "mlflow", "models", "serve", "-m", CHAMPION, "--env-manager",
                             "local", "-h", "127.0.0.1", "-p", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        while True:
            if proc.poll() is not None:
                sys.exit("the server exited before answering /ping")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        cold = time.perf_counter() - t0
        body = json.dumps({"inputs": [{"video": base64.b64encode(video.read_bytes()).decode()}]}).encode()
        seconds = []
        for _ in range(args.repeat + 1):
            req = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=body,
                                         headers={"Content-Type": "application/json"})
            t = time.perf_counter()
            with urllib.request.urlopen(req, timeout=120) as res:
                answer = json.loads(res.read())["predictions"][0]
            seconds.append(time.perf_counter() - t)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    from src.media import probe
    info = probe(video)
    print(f"champion: {answer['top'][0]['label']} {answer['top'][0]['probability']:.3f} for {video.name} "
          f"({info.duration:.1f} s, {info.width}x{info.height}, {video.stat().st_size / 1e3:.0f} kB)")
    print(f"cold start (process start to /ping answered): {cold:.1f} s")
    print(f"first request: {seconds[0]:.2f} s; then median {statistics.median(seconds[1:]):.2f} s "
          f"(min {min(seconds[1:]):.2f}, max {max(seconds[1:]):.2f}) over {args.repeat}")


if __name__ == "__main__":
    main()
