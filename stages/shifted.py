"""shifted: the shifted test split (new scenes, farther camera), prepared like the main data."""
from src.config import Params, load_params
from src.prepare.shifted import prepare_shifted
from src.utils import write_json


def main(params: Params) -> dict:
    figures = prepare_shifted(params)
    write_json(params.paths.reports / "stages" / "shifted.json", figures)
    return figures


if __name__ == "__main__":
    main(load_params())
