"""download: put each annotated clip's video into data/raw (rendered, downloaded or copied, by data.source)."""
from src.annotations import read_classes
from src.config import Params, load_params
from src.errors import run_cli
from src.prepare.download import availability, check_success_ratio, download_all
from src.prepare.runner import finish_clip_stage
from src.utils import StageReport


def main(params: Params) -> None:
    report = StageReport("download", params.paths.metrics, params.paths.reports / "stages")
    manifest, reuse = download_all(params)
    classes = read_classes(params.paths.annotations)
    failed = manifest[manifest["status"] != "ok"]
    finish_clip_stage(report, params, manifest, source=params.data.source, **reuse,
                      failure_categories={str(k): int(v) for k, v in failed["category"].value_counts().items()},
                      availability=availability(manifest, classes),
                      extra_check=lambda: check_success_ratio(manifest, classes, params.download.min_success_ratio))


if __name__ == "__main__":
    run_cli(lambda: main(load_params()))
