"""Self-describing model checkpoints: one safetensors file, loadable without params.yaml.

The weights are the file's tensors; classes, input spec, config, history and format version are one
JSON document in the file's header (safetensors metadata). Why this format:

- reading it never unpickles, so a crafted file cannot run code (a `torch.save` checkpoint is a pickle);
- the same weights and metadata give the same bytes (torch.save writes a random serialization id), so DVC
  sees a new checkpoint only when training produced other weights;
- one file per run is one DVC output and one MLflow artifact.

Checkpoints of earlier versions (torch.save pickles) are refused with the command that converts them:
`python -m src.learning.checkpoint convert OLD.pt NEW.safetensors`, which reads them with torch's
weights-only unpickler (tensors and plain values, never code).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from src.errors import UserError, run_cli
from src.models.build import build_model
from src.models.registry import MODELS, InputSpec
from src.models.weights import CHECKPOINT_KEY, CONVERT_HINT, WeightsError, file_format, load_pickled_weights, \
    state_for_saving
from src.utils import atomic_path

FORMAT = "video-action-recognition/checkpoint"
VERSION = 2
SUFFIX = ".safetensors"


class CheckpointError(UserError, RuntimeError):
    """A checkpoint is missing, unsafe, from an incompatible version, or does not fit the data/model."""


def checkpoint_bytes(state: dict, meta: dict) -> bytes:
    """The file's bytes: a pure function of the tensors and the metadata (sorted JSON, one metadata key)."""
    from safetensors.torch import save
    return save(state, metadata={CHECKPOINT_KEY: json.dumps(meta, sort_keys=True, separators=(",", ":"),
                                                              default=str)})


def save_checkpoint(path: str | Path, model, *, name: str, size: str, classes: list[str], spec: InputSpec,
                    params_hash: str, config: dict, **extra) -> None:
    meta = dict(format=FORMAT, version=VERSION, model=name, size=size, classes=list(classes),
                input=spec.as_dict(), params_hash=params_hash, config=config, **extra)
    blob = checkpoint_bytes(state_for_saving(model), meta)
    with atomic_path(path) as tmp:
        tmp.write_bytes(blob)


def read_checkpoint(path: str | Path) -> tuple[dict, dict]:
    """(state dict, metadata) of a checkpoint file, after checking it is one of this pipeline's, safely."""
    from safetensors import SafetensorError, safe_open
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} not found: train a model first (dvc repro train)")
    kind = file_format(path)
    if kind == "pickle":
        raise CheckpointError(f"{path} is a pickle (torch.save) file: checkpoints of this pipeline are safetensors "
                              f"files, and a pickle can run code while it loads, so it is not read; "
                              + CONVERT_HINT.format(path=path))
    if kind != "safetensors":
        raise CheckpointError(f"{path} is not a checkpoint of this pipeline (not a safetensors file)")
    try:
        with safe_open(str(path), framework="pt") as fh:
            header = (fh.metadata() or {}).get(CHECKPOINT_KEY)
            state = {k: fh.get_tensor(k) for k in fh.keys()} if header else {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {path} is unreadable: {exc}") from exc
    try:
        meta = json.loads(header) if header else None
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: the checkpoint's metadata is not valid JSON ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a checkpoint of this pipeline (a safetensors file without its "
                              f"metadata)")
    if meta.get("version") != VERSION:
        raise CheckpointError(f"{path} has checkpoint version {meta.get('version')}; this code reads version "
                              f"{VERSION}: retrain, or use the code version that wrote it")
    return state, meta


def load_checkpoint(path: str | Path, classes: list[str] | None = None):
    """Rebuild the model from a checkpoint alone; returns (model in eval mode, InputSpec, meta)."""
    state, meta = read_checkpoint(path)
    if meta["model"] not in MODELS:
        raise CheckpointError(f"{path} holds model {meta['model']!r}, which is not registered here; "
                              f"registered models: {', '.join(MODELS)}")
    if classes is not None and list(classes) != list(meta["classes"]):
        raise CheckpointError(f"{path} was trained on classes {meta['classes']} but the data has {list(classes)}: "
                              f"retrain on this class set")
    model = build_model(meta["model"], len(meta["classes"]), meta["size"],
                        parts=(meta.get("config") or {}).get("fusion"))
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: weights do not fit {meta['model']} ({meta['size']}): "
                              f"{str(exc).splitlines()[0]}") from exc
    model.eval()
    return model, spec_from_dict(meta["input"]), meta


def spec_from_dict(d: dict) -> InputSpec:
    """An InputSpec from its JSON form (lists back to tuples; a fusion model's parts stay dicts)."""
    return InputSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


def convert(old: str | Path, new: str | Path) -> dict:
    """Rewrite a version-1 checkpoint (a torch.save pickle of this pipeline) as a safetensors checkpoint.

    Read with torch's weights-only unpickler: tensors, numbers, strings and containers load, any other object
    is refused before it is built, so a crafted file fails here too instead of running."""
    old, new = Path(old), Path(new)
    if not old.exists():
        raise CheckpointError(f"{old} not found")
    if file_format(old) != "pickle":
        raise CheckpointError(f"{old} is not a torch.save file (nothing to convert)")
    try:
        payload = load_pickled_weights(old, "convert")
    except WeightsError as exc:
        raise CheckpointError(str(exc)) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or "state_dict" not in payload:
        raise CheckpointError(f"{old} is not a checkpoint of this pipeline")
    meta = {k: v for k, v in payload.items() if k != "state_dict"}
    meta["version"] = VERSION
    state = {k: v.detach().to("cpu", copy=True).contiguous() for k, v in payload["state_dict"].items()}
    blob = checkpoint_bytes(state, json.loads(json.dumps(meta, default=str)))  # tuples -> lists, as JSON has them
    with atomic_path(new) as tmp:
        tmp.write_bytes(blob)
    load_checkpoint(new)  # the result must load as a checkpoint of this code
    return meta


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m src.learning.checkpoint", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    conv = sub.add_parser("convert", help="rewrite an old torch.save checkpoint of this pipeline as safetensors")
    conv.add_argument("old", help="the .pt checkpoint (version 1)")
    conv.add_argument("new", help=f"the checkpoint to write ({SUFFIX})")
    args = ap.parse_args(argv)
    meta = convert(args.old, args.new)
    print(f"[checkpoint] {args.old} -> {args.new}: {meta['model']} ({meta['size']}), "
          f"{len(meta['classes'])} classes")


if __name__ == "__main__":
    run_cli(main)
