"""compare_run: train one (model, seed) run of the comparison, then test it, in one process.

One stage, not a train stage and an evaluate stage: a second process paid the interpreter's start, torch's, the
models' and MLflow's imports and MLflow's set-up again (about 10 s a model; benchmarks/bench_overhead.py). It
saves no decoding: training reads the training and validation clips, the test reads the test and shifted ones,
as two stages would. DVC still caches each (model, seed) run on its own.
"""
import argparse

from src.config import Params, load_params
from src.errors import run_cli
from stages import evaluate, train


def main(params: Params, name: str, seed: int) -> dict:
    train.main(params, name, seed)
    return evaluate.main(params, name, seed)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True, help="a model of compare.models")
    parser.add_argument("--seed", type=int, required=True, help="its training seed (one of compare.seeds)")
    args = parser.parse_args()
    run_cli(lambda: main(load_params(), args.model, args.seed))
