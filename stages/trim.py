"""trim: exact cut to the annotated segment at trim.fps / trim.short_side, no audio."""
from src.annotations import read_ok
from src.config import Params, load_params
from src.errors import run_cli
from src.prepare.runner import finish_clip_stage
from src.prepare.trim import trim_all
from src.utils import StageReport


def main(params: Params) -> None:
    report = StageReport("trim", params.paths.metrics, params.paths.reports / "stages")
    rows = read_ok(params.paths.raw).to_dict("records")
    finish_clip_stage(report, params, trim_all(rows, params.paths.raw, params.paths.clips, params.trim, params.compute))


if __name__ == "__main__":
    run_cli(lambda: main(load_params()))
