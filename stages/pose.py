"""pose: MediaPipe Pose keypoints for every stored clip, detection rates in metrics/pose.json."""
from src.annotations import StageError, read_ok
from src.config import Params, load_params
from src.prepare.pose import detection_summary, extract_all
from src.prepare.runner import finish_clip_stage
from src.utils import StageReport


def main(params: Params) -> None:
    report = StageReport("pose", params.paths.metrics, params.paths.reports / "stages")
    rows = read_ok(params.paths.frames).to_dict("records")
    manifest = extract_all(rows, params.paths.frames, params.paths.pose, params.pose, params.compute)
    summary = detection_summary(manifest, report.elapsed(), params.pose.workers)
    finish_clip_stage(report, params, manifest, metrics={"detection_rate": summary["detection_rate"]},
                      workers=params.pose.workers, **summary)
    if summary["detection_rate"] < params.pose.min_detection_rate:
        raise StageError(f"[pose] detection rate {summary['detection_rate']} is below "
                         f"pose.min_detection_rate={params.pose.min_detection_rate}")


if __name__ == "__main__":
    main(load_params())
