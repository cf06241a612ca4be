"""train: fit `model.name` (or, with --compare NAME, that model of compare.models)."""
import argparse

from src.config import Params, load_params
from src.learning.runs import RunPaths, comparison_params
from src.learning.train import train_model


def main(params: Params, compare_name: str | None = None) -> dict:
    if compare_name:
        params = comparison_params(params, compare_name)
    return train_model(params, RunPaths(params, compare=bool(compare_name)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--compare", metavar="NAME", help="train this model of compare.models")
    main(load_params(), parser.parse_args().compare)
