"""evaluate: test-split metrics of the trained model (or, with --compare NAME, of one compared model)."""
import argparse

from src.config import Params, load_params
from src.errors import run_cli
from src.learning.runs import RunPaths, comparison_params, reuse_comparison_evaluation


def main(params: Params, compare_name: str | None = None, seed: int | None = None) -> dict:
    if compare_name:
        params = comparison_params(params, compare_name, seed)
    paths = RunPaths(params, compare=bool(compare_name))
    if not compare_name and (figures := reuse_comparison_evaluation(params, paths)):
        return figures
    from src.learning.evaluate import evaluate_run  # torch and the models: only when there is work to do
    return evaluate_run(params, paths)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--compare", metavar="NAME", help="evaluate this model of compare.models")
    parser.add_argument("--seed", type=int, help="with --compare: the training seed of this run")
    args = parser.parse_args()
    run_cli(lambda: main(load_params(), args.compare, args.seed))
