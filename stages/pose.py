"""pose: MediaPipe Pose keypoints for every stored clip, detection rates in metrics/pose.json."""
from src.annotations import StageError, read_ok
from src.config import Params, load_params
from src.errors import run_cli
from src.prepare.pose import dancer_check, detection_summary, extract_all
from src.prepare.runner import finish_clip_stage
from src.utils import StageReport


def main(params: Params) -> None:
    report = StageReport("pose", params.paths.metrics, params.paths.reports / "stages")
    rows = read_ok(params.paths.frames).to_dict("records")
    manifest = extract_all(rows, params.paths.frames, params.paths.pose, params.pose, params.compute)
    summary = detection_summary(manifest, report.elapsed(), params.pose.workers)
    truth = dancer_check(params, manifest)
    finish_clip_stage(report, params, manifest, metrics={"detection_rate": summary["detection_rate"]},
                      workers=params.pose.workers, tracked_person_is_dancer=truth, **summary)
    if summary["frames_from_whole_frame"]:
        print(f"[pose] {summary['frames_from_whole_frame']} of {summary['frames_detected']} poses are MediaPipe alone's "
              f"on the whole frame, where the front-end's cues found nobody")
    if truth:
        print("[pose] tracked person is the labelled dancer in " + ", ".join(
            f"{v['on_dancer_rate']:.1%} of {split} frames" for split, v in truth.items() if v["on_dancer_rate"] is not None))
    if summary["detection_rate"] < params.pose.min_detection_rate:
        raise StageError(f"[pose] detection rate {summary['detection_rate']} is below "
                         f"pose.min_detection_rate={params.pose.min_detection_rate}")


if __name__ == "__main__":
    run_cli(lambda: main(load_params()))
