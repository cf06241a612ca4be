"""shifted: the shifted test split (new scenes, farther camera), prepared like the main data."""
from src.config import Params, load_params
from src.errors import run_cli
from src.prepare.shifted import prepare_shifted
from src.utils import write_figures, write_json


def main(params: Params) -> dict:
    figures = prepare_shifted(params)
    write_figures(params.paths.reports / "stages" / "shifted.json", figures, params.paths.reports)
    # curated: the front-end's detection rate on the shifted split (the main split's is in metrics/pose.json)
    write_json(params.paths.metrics / "shifted.json",
               {"detection_rate": figures["detection_rate"]} if figures.get("clips") else {})
    return figures


if __name__ == "__main__":
    run_cli(lambda: main(load_params()))
