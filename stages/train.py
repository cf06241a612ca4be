"""train: fit `model.name` (or, with --compare NAME, that model of compare.models).

The main model is not trained twice: when the comparison trained it with the same settings, its run is
taken over.
"""
import argparse

from src.config import Params, load_params
from src.errors import run_cli
from src.learning.runs import RunPaths, comparison_params, reuse_comparison_run


def main(params: Params, compare_name: str | None = None, seed: int | None = None) -> dict:
    if compare_name:
        params = comparison_params(params, compare_name, seed)
    paths = RunPaths(params, compare=bool(compare_name))
    if not compare_name and (figures := reuse_comparison_run(params, paths)):
        return figures
    from src.learning.train import train_model  # Lightning: imported only when there is training to do
    return train_model(params, paths)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--compare", metavar="NAME", help="train this model of compare.models")
    parser.add_argument("--seed", type=int, help="with --compare: the training seed of this run")
    args = parser.parse_args()
    run_cli(lambda: main(load_params(), args.compare, args.seed))
