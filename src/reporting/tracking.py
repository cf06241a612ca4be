"""MLflow: a local SQLite store under paths.mlruns of the repository root, unless MLFLOW_TRACKING_URI
says otherwise.

DVC runs `dvc exp run --temp` and queued experiments in a temporary copy of the repository and
tells the stages where the real root is (DVC_ROOT), so their runs land in the same store as the
workspace's instead of vanishing with the copy. Every run is tagged with the DVC experiment and
stage that made it and has a unique, readable name. The comparison is a parent run with the model
runs nested under it, and its winner is registered in the Model Registry under the alias `champion`
(src/reporting/champion.py).

Browse with: mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from src.utils import file_digest, repo_root

EXPERIMENT = "video-action-recognition"
REGISTERED_MODEL = "video-action-recognition"
CHAMPION = "champion"


def store(mlruns: Path) -> Path:
    return Path(mlruns) if Path(mlruns).is_absolute() else repo_root() / mlruns


def tracking_uri(mlruns: Path) -> str:
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    folder = store(mlruns)
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'mlflow.db'}"


def artifact_location(mlruns: Path) -> str:
    return (store(mlruns) / "artifacts").as_uri()


def dvc_experiment() -> str:
    """The DVC experiment this process runs in ('workspace' for a plain `dvc repro` or a direct call)."""
    return os.environ.get("DVC_EXP_NAME") or "workspace"


def run_tags(**tags) -> dict:
    return {"dvc_experiment": dvc_experiment(), "dvc_stage": os.environ.get("DVC_STAGE", ""),
            **{k: str(v) for k, v in tags.items()}}


def unique_run_name(what: str) -> str:
    """e.g. `c3d seed0 · workspace · 11-25 23:15:02`: readable, and never the same twice in a store."""
    return f"{what} · {dvc_experiment()} · {time.strftime('%m-%d %H:%M:%S')}"


def flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v if isinstance(v, (int, float, str, bool)) or v is None else str(v)
    return out


def quiet() -> None:
    import logging
    for name in ("mlflow", "alembic", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.WARNING)


def mlflow_logger(params, what: str, **tags):
    """Lightning's MLflow logger on this project's store and experiment, with a unique name and DVC tags."""
    from lightning.pytorch.loggers import MLFlowLogger
    return MLFlowLogger(experiment_name=EXPERIMENT, run_name=unique_run_name(what),
                        tracking_uri=tracking_uri(params.paths.mlruns),
                        artifact_location=artifact_location(params.paths.mlruns), tags=run_tags(**tags))


def client(params):
    from mlflow.tracking import MlflowClient
    return MlflowClient(tracking_uri(params.paths.mlruns))


def new_run(params, what: str, **tags):
    """(client, run id) of a new run in this project's experiment (created on first use), named and tagged as
    every run of the project is; the caller terminates it."""
    c = client(params)
    exp = c.get_experiment_by_name(EXPERIMENT) or c.get_experiment(
        c.create_experiment(EXPERIMENT, artifact_location=artifact_location(params.paths.mlruns)))
    return c, c.create_run(exp.experiment_id, run_name=unique_run_name(what), tags=run_tags(**tags)).info.run_id


def log_checkpoint_model(params, run_id: str, code_file: Path, checkpoint: Path, example=None, output=None,
                         name: str = "model", requirements: tuple = ()) -> str:
    """Log a run's checkpoint as an MLflow model "from code" (`code_file`: src/learning/mlflow_model.py, its
    signature and input example from `example` and `output`; or a file whose `predict` has type hints, which
    MLflow reads the signature from), so `mlflow.pyfunc.load_model` loads it and `mlflow models serve` serves
    it without anything being pickled; returns its URI (`models:/<model_id>`)."""
    import mlflow
    import mlflow.pyfunc
    import torch
    from mlflow.models import infer_signature
    mlflow.set_tracking_uri(tracking_uri(params.paths.mlruns))
    typed = {}
    if example is not None:
        x = {k: v.numpy() for k, v in example.items()} if isinstance(example, dict) else example.numpy()
        typed = dict(signature=infer_signature(x, output), input_example=x)
    requirements = [f"torch=={torch.__version__.split('+')[0]}", "torchvision", "transformers", "pytorchvideo",
                    "safetensors", "mlflow", *requirements]
    with mlflow.start_run(run_id=run_id):
        info = mlflow.pyfunc.log_model(name=name, python_model=str(code_file),
                                       artifacts={"checkpoint": str(checkpoint)}, pip_requirements=requirements,
                                       code_paths=[str(Path(__file__).resolve().parents[1])], **typed)
    return info.model_uri


def training_run(params, checkpoint: Path) -> dict:
    """The training run that wrote `checkpoint`, found by the checkpoint's MD5 (train tags its run with it):
    its MLflow run id and its speed figures; {} when the store has none.

    Why not read train.json: evaluate would then list it as a dependency, and its hash would be one more
    32-character column in `dvc exp show --only-changed` for every change of model.name. Identical
    retrains write identical checkpoints; the newest run with that MD5 is taken."""
    from mlflow.exceptions import MlflowException
    md5 = file_digest(checkpoint, "md5")
    try:
        c = client(params)
        exp = c.get_experiment_by_name(EXPERIMENT)
        runs = c.search_runs([exp.experiment_id], filter_string=f"tags.checkpoint_md5 = '{md5}'",
                             order_by=["attributes.start_time DESC"], max_results=1) if exp else []
    except MlflowException as exc:
        print(f"WARNING: could not search the MLflow store for the training run of {checkpoint}: {exc}")
        return {}
    if not runs:
        return {}
    m = runs[0].data.metrics
    return dict(mlflow_run_id=runs[0].info.run_id, train_seconds=m.get("train_seconds"),
                train_clips_per_s=m.get("train_clips_per_s"), loader_clips_per_s=m.get("loader_clips_per_s"))
