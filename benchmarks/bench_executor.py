"""The Ray executor's overhead against the local process pool, for trim, frames and pose on the same clips.

Starts a Ray head on 127.0.0.1 with this machine's cores (as `ray start --head` would on a cluster
node), then runs each stage's per-clip work on the same clips, once with `compute.executor: local`
and once with `ray`, into temporary folders, and prints seconds and the overhead. Needs the
prepared data (`dvc repro pose`).

    python -m benchmarks.bench_executor [--clips 256] [--repeat 2]
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from src.annotations import read_ok
from src.config import load_params
from src.prepare import frame_store, pose, trim


def run_stage(name: str, p, compute, src: dict, out: Path) -> float:
    """Seconds for one stage's per-clip work (the runner and its executor included)."""
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    if name == "trim":
        trim.trim_all(src["raw_rows"], p.paths.raw, out, p.trim, compute)
    elif name == "frames":
        frame_store.extract_all(src["clip_rows"], p.paths.clips, out, p.frames, compute)
    else:
        pose.extract_all(src["frame_rows"], p.paths.frames, out, p.pose, compute)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=2, help="runs per stage and executor; the best is kept")
    args = ap.parse_args()
    p = load_params()
    src = dict(raw_rows=read_ok(p.paths.raw).head(args.clips).to_dict("records"))
    ids = {r["clip_id"] for r in src["raw_rows"]}
    src["clip_rows"] = [r for r in read_ok(p.paths.clips).to_dict("records") if r["clip_id"] in ids]
    src["frame_rows"] = [r for r in read_ok(p.paths.frames).to_dict("records") if r["clip_id"] in ids]
    ray_bin = str(Path(sys.executable).parent / "ray")
    os.environ["RAY_AUTH_MODE"] = "disabled"  # a throwaway cluster on 127.0.0.1
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    subprocess.run([ray_bin, "start", "--head", "--num-cpus", str(os.cpu_count()), "--node-ip-address", "127.0.0.1",
                    "--port", "6391", "--include-dashboard", "false", "--disable-usage-stats"], check=True, env=env,
                   capture_output=True)
    try:
        from src.prepare.ray_executor import connect
        ray_compute = dataclasses.replace(p.compute, executor="ray", address="127.0.0.1:6391")
        t0 = time.perf_counter()
        connect(ray_compute)
        connect_s = time.perf_counter() - t0
        local = dataclasses.replace(p.compute, executor="local")
        print(f"{len(src['raw_rows'])} clips, {os.cpu_count()} cores; connecting to the cluster took {connect_s:.1f} s "
              f"(once per stage process)")
        print(f"{'stage':8} {'local s':>8} {'ray s':>8} {'overhead':>9}")
        with tempfile.TemporaryDirectory() as tmp:
            for stage in ("trim", "frames", "pose"):
                times = {name: min(run_stage(stage, p, compute, src, Path(tmp) / f"{stage}-{name}")
                                   for _ in range(args.repeat))
                         for name, compute in (("local", local), ("ray", ray_compute))}
                over = 100 * (times["ray"] / times["local"] - 1)
                print(f"{stage:8} {times['local']:8.1f} {times['ray']:8.1f} {over:+8.1f}%", flush=True)
    finally:
        import ray
        ray.shutdown()
        subprocess.run([ray_bin, "stop", "--force"], env=env, capture_output=True)


if __name__ == "__main__":
    main()
