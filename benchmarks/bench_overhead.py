"""Per-process fixed cost of a compared model's run: what a (model, seed) run costs beyond its training and
test loops (interpreter start, imports, MLflow set-up, decoding the clips, exit), in the two layouts.

- before: two processes, `python -m stages.train --compare M` then `python -m stages.evaluate --compare M`
  (the compare_train and compare_evaluate stages up to this change);
- after: one process, `python -m stages.compare_run --model M` (the compare_run stage).

Each is timed from outside (wall clock, start to exit); the loops' own seconds come from the run's timings
(reports/timings/runs/compare/M/seed0/: train_seconds, inference_seconds); fixed cost = wall - loops. Needs
the prepared data of a `dvc repro` (data/); it rewrites that run's outputs with identical bytes (training is
deterministic on the CPU). Also prints the import time of the training and evaluation code alone.

    python -m benchmarks.bench_overhead [--models pose_lstm c3d] [--seed 0]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time

from src.config import load_params
from src.utils import read_json, timings_path


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")
    return time.perf_counter() - t0


def loops(params, model: str, seed: int) -> float:
    """Seconds the run spent in its training loop and its test inference (its timings files)."""
    run = params.paths.reports / "runs" / "compare" / model / f"seed{seed}"
    train = read_json(timings_path(run / "train.json", params.paths.reports))
    ev = read_json(timings_path(run / "eval.json", params.paths.reports))
    return train["train_seconds"] + ev["inference_seconds"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["pose_lstm", "c3d"])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    params = load_params()
    py = sys.executable
    imports = timed([py, "-c", "import src.learning.train, src.learning.evaluate"])
    print(f"importing the training and evaluation code: {imports:.1f} s (one process)")
    print(f"{'model':<14}{'layout':<26}{'wall s':>8}{'loops s':>9}{'fixed s':>9}{'per process':>13}")
    for m in args.models:
        s = str(args.seed)
        wall = timed([py, "-m", "stages.train", "--compare", m, "--seed", s]) + \
            timed([py, "-m", "stages.evaluate", "--compare", m, "--seed", s])
        work = loops(params, m, args.seed)
        print(f"{m:<14}{'before: train + evaluate':<26}{wall:8.1f}{work:9.1f}{wall - work:9.1f}{(wall - work) / 2:13.1f}")
        wall = timed([py, "-m", "stages.compare_run", "--model", m, "--seed", s])
        work = loops(params, m, args.seed)
        print(f"{m:<14}{'after: compare_run':<26}{wall:8.1f}{work:9.1f}{wall - work:9.1f}{wall - work:13.1f}")


if __name__ == "__main__":
    main()
