"""train: fit `model.name` (or, with --compare NAME, one model of compare.models)."""
import argparse

from src.config import Params, load_params
from src.runs import RunPaths
from src.train import train_model


def main(params: Params, compare_name: str | None = None) -> dict:
    name = compare_name or params.model.name
    # a comparison run uses the shared settings only: model.weights belongs to model.name
    weights = None if compare_name else params.model.weights
    return train_model(params, name, RunPaths(params, compare_name), weights)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--compare", metavar="NAME", help="train this model of compare.models")
    main(load_params(), parser.parse_args().compare)
