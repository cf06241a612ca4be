"""compare_run: train one (model, seed) run of the comparison, then test it, in one process.

One stage, not a train stage and an evaluate stage: the second process paid torch's, the models' and MLflow's
imports and the clips' decoding again (about 10 s a model; benchmarks/bench_overhead.py). DVC still caches
each (model, seed) run on its own.
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
