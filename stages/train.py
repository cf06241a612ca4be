"""train: fit `model.name` (or, with --compare NAME, that model of compare.models).

The main model is not trained twice: when the comparison trained it with the same settings, its run is
taken over.
"""
import argparse

from src.config import Params, load_params
from src.learning.runs import RunPaths, comparison_params
from src.learning.train import reuse_comparison_run, train_model


def main(params: Params, compare_name: str | None = None, seed: int | None = None) -> dict:
    if compare_name:
        params = comparison_params(params, compare_name, seed)
        return train_model(params, RunPaths(params, compare=True))
    paths = RunPaths(params)
    return reuse_comparison_run(params, paths) or train_model(params, paths)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--compare", metavar="NAME", help="train this model of compare.models")
    parser.add_argument("--seed", type=int, help="with --compare: the training seed of this run")
    args = parser.parse_args()
    main(load_params(), args.compare, args.seed)
