"""The comparison's parent run in MLflow and its winner in the Model Registry, twice:

- `video-action-recognition@champion` takes a video and answers the top-k classes: src/serving.py, logged
  here from the winner's checkpoint, answers with the code `python -m src.predict` runs;
- `video-action-recognition-tensors@champion` is the winning run's own model, which takes the preprocessed
  input tensors (src/learning/mlflow_model.py), for batch users who prepare their clips themselves.

Both are registered from their logged model's `models:/<model_id>`: MLflow 3 logs models as LoggedModels,
and a version made from `runs:/<id>/model` does not load through `models:/name@alias`.

Apart from src/reporting/tracking.py, which every training stage imports, so that changing how the winner is
registered reruns only the compare stage.
"""
from __future__ import annotations

from pathlib import Path

from src.reporting.tracking import CHAMPION, REGISTERED_MODEL, flatten, log_checkpoint_model, new_run, run_tags, \
    tracking_uri

TENSOR_MODEL = f"{REGISTERED_MODEL}-tensors"
# what the video model runs beyond the tensor model's torch stack: decoding, the frame store and the pose
# front-end (mediapipe brings OpenCV; mp.solutions.pose needs 0.10.21, numpy<2 and protobuf<5: README)
VIDEO_REQUIREMENTS = ("av", "imageio-ffmpeg", "ffmpeg-python", "mediapipe==0.10.21", "numpy<2", "protobuf<5",
                      "pydantic")


def comparison_run(params, runs: dict[str, list[str]], best: str, figures: dict, checkpoint: Path | None = None,
                   video_code: Path | None = None) -> str:
    """One parent run for the comparison: the model runs nested under it, its figures logged, and the best
    model registered as TENSOR_MODEL@champion (its run's model) and, logged from its `checkpoint` with
    `video_code` (src/serving.py), as REGISTERED_MODEL@champion. runs: model -> MLflow run ids (one per seed)."""
    c, pid = new_run(params, "comparison", kind="comparison", best_model=best)
    for model, ids in runs.items():
        for rid in ids:
            if rid:
                c.set_tag(rid, "mlflow.parentRunId", pid)  # how MLflow nests a run under another
    for k, v in flatten(figures).items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            c.log_metric(pid, k, float(v))
    champion = runs[best][0]
    if champion:
        tensors = logged_model_uri(c, champion)
        if tensors:
            c.set_tag(pid, "champion_tensors_version", register(params, c, TENSOR_MODEL, tensors, best))
        if checkpoint is not None and video_code is not None:
            video = log_checkpoint_model(params, pid, video_code, checkpoint, name="video_model",
                                         requirements=VIDEO_REQUIREMENTS)
            c.set_tag(pid, "champion_version", register(params, c, REGISTERED_MODEL, video, best))
    c.set_terminated(pid)
    return pid


def logged_model_uri(c, run_id: str) -> str | None:
    """`models:/<model_id>` of the model a run logged (its newest), None when it logged none."""
    found = c.search_logged_models([c.get_run(run_id).info.experiment_id],
                                   filter_string=f"source_run_id = '{run_id}'",
                                   order_by=[{"field_name": "creation_time", "ascending": False}], max_results=1)
    return f"models:/{found[0].model_id}" if found else None


def register(params, c, name: str, model_uri: str, model: str) -> str:
    """A new version of registered model `name` made from `model_uri` (`models:/<model_id>`), with the alias
    `champion`; returns the version."""
    import mlflow
    mlflow.set_tracking_uri(tracking_uri(params.paths.mlruns))
    version = str(mlflow.register_model(model_uri, name, tags=run_tags(model=model)).version)
    c.set_registered_model_alias(name, CHAMPION, version)
    return version
