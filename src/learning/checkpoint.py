"""Self-describing model checkpoints: loadable without params.yaml."""
from __future__ import annotations

from pathlib import Path

import torch

from src.models.build import build_model
from src.models.registry import MODELS, InputSpec
from src.utils import atomic_path

FORMAT = "video-action-recognition/checkpoint"
VERSION = 1


class CheckpointError(RuntimeError):
    """A checkpoint is missing, from an incompatible version, or does not fit the data/model."""


def save_checkpoint(path: str | Path, model, *, name: str, size: str, classes: list[str], spec: InputSpec,
                    params_hash: str, config: dict, **extra) -> None:
    payload = dict(format=FORMAT, version=VERSION, model=name, size=size, classes=list(classes),
                   input=spec.as_dict(), params_hash=params_hash, config=config,
                   state_dict=model.state_dict(), **extra)
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: str | Path, classes: list[str] | None = None):
    """Rebuild the model from a checkpoint alone; returns (model in eval mode, InputSpec, meta)."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} not found: train a model first (dvc repro train)")
    try:
        meta = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise CheckpointError(f"checkpoint {path} is unreadable: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a checkpoint of this pipeline")
    if meta.get("version") != VERSION:
        raise CheckpointError(f"{path} has checkpoint version {meta.get('version')}; this code reads version "
                              f"{VERSION}: retrain, or use the code version that wrote it")
    if meta["model"] not in MODELS:
        raise CheckpointError(f"{path} holds model {meta['model']!r}, which is not registered here; "
                              f"registered models: {', '.join(MODELS)}")
    if classes is not None and list(classes) != list(meta["classes"]):
        raise CheckpointError(f"{path} was trained on classes {meta['classes']} but the data has {list(classes)}: "
                              f"retrain on this class set")
    model = build_model(meta["model"], len(meta["classes"]), meta["size"])
    try:
        model.load_state_dict(meta["state_dict"])
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: weights do not fit {meta['model']} ({meta['size']}): "
                              f"{str(exc).splitlines()[0]}") from exc
    model.eval()
    return model, InputSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in meta["input"].items()}), meta
