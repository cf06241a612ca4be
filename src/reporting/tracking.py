"""MLflow set-up: a local SQLite store under paths.mlruns unless MLFLOW_TRACKING_URI says otherwise.

Browse with: mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db
"""
from __future__ import annotations

import os
from pathlib import Path

EXPERIMENT = "video-action-recognition"


def tracking_uri(mlruns: Path) -> str:
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    mlruns = Path(mlruns).resolve()
    mlruns.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{mlruns / 'mlflow.db'}"


def artifact_location(mlruns: Path) -> str:
    return (Path(mlruns).resolve() / "artifacts").as_uri()


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
