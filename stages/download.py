"""download: put each annotated clip's video into data/raw (rendered, for the synthetic source)."""
from src.config import Params, load_params
from src.download import download_all
from src.stage import finish_clip_stage
from src.utils import StageReport


def main(params: Params) -> None:
    report = StageReport("download", params.paths.metrics)
    finish_clip_stage(report, params, download_all(params), source=params.data.source)


if __name__ == "__main__":
    main(load_params())
