"""fetch: build the Kinetics-format annotation tables for the chosen data.source."""
from src.annotations import write_annotations
from src.config import Params, load_params
from src.errors import run_cli
from src.sources import fetch_annotations, order_pairs
from src.utils import StageReport


def main(params: Params) -> None:
    report = StageReport("fetch", params.paths.metrics, params.paths.reports / "stages")
    df, classes, notes = fetch_annotations(params)
    pairs = order_pairs(params, classes)
    write_annotations(params.paths.annotations, df, classes, pairs)
    report.finish(ok=len(df), failed=0, classes=len(classes),
                  clips_per_split={k: int(v) for k, v in df["split"].value_counts().items()},
                  clips_per_class={k: int(v) for k, v in df["label"].value_counts().sort_index().items()},
                  order_pairs=[list(p) for p in pairs], source=params.data.source, **notes)


if __name__ == "__main__":
    run_cli(lambda: main(load_params()))
