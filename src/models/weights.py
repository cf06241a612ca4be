"""Pretrained and local weights: published Kinetics weights when reachable or cached,
local files or folders (`model.weights`) for offline use, and the head replaced
whenever the class count differs.

Nothing here unpickles: a pickle can run any code while it loads, and people share and download
weights. safetensors files are read as they are; published `.pth`/`.pyth` files (torchvision,
pytorchvideo), which only exist as pickles, go through `torch.load(weights_only=True)`, whose
unpickler accepts tensors and plain containers and refuses every other object; Hugging Face
folders load from their safetensors file only.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import torch
from torch import nn

from src.errors import UserError

PYTORCHVIDEO_HUB = "https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/kinetics/"
VIDEOMAE_HUB_ID = "MCG-NJU/videomae-base-finetuned-kinetics"
WEIGHT_FILE = "weights.safetensors"
# the safetensors metadata key under which a checkpoint of this pipeline keeps its JSON (src/learning/checkpoint.py)
CHECKPOINT_KEY = "video_action_recognition"
CONVERT_HINT = ("if you trust the file, convert it once with `python -m src.learning.checkpoint convert {path} "
                "NEW.safetensors` (it reads tensors and plain values only, never code)")


class WeightsError(UserError, RuntimeError):
    """Weights are missing, unreachable, unsafe to read or do not fit the architecture."""


def file_format(path: Path) -> str:
    """'safetensors', 'pickle' (torch.save's zip or a legacy pickle stream) or 'unknown', from the first bytes."""
    with open(path, "rb") as fh:
        head = fh.read(9)
    size = Path(path).stat().st_size
    if len(head) == 9 and head[8:9] == b"{" and 0 < int.from_bytes(head[:8], "little") <= size - 8:
        return "safetensors"
    if head[:4] == b"PK\x03\x04" or head[:1] == b"\x80":
        return "pickle"
    return "unknown"


def load_pickled_weights(path: Path, what: str) -> dict:
    """A published .pth/.pyth file through torch's weights-only unpickler: tensors and plain containers load,
    any other object (the way a crafted pickle runs code) is refused before it is built."""
    try:
        with open(path, "rb") as fh:  # a file object: torch.load picks its reader by content, not by file name
            return torch.load(fh, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightsError(f"{what}: {path} is a pickle that holds more than weights, refused: loading it could "
                           f"run code ({first[:200]})") from exc


def _hub_dir() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def fetch_url_state(url: str, what: str) -> dict:
    """State dict from the torch hub cache, downloading only when it is not cached (read weights-only)."""
    try:
        return torch.hub.load_state_dict_from_url(url, map_location="cpu", progress=False, check_hash=False,
                                                  weights_only=True)
    except (pickle.UnpicklingError, RuntimeError) as exc:
        cached = _hub_dir() / url.rsplit("/", 1)[-1]
        if cached.exists():
            raise WeightsError(f"{cached}: not plain weights, refused: loading it could run code "
                               f"({str(exc).strip().splitlines()[0][:200]})") from exc
        raise _unreachable(url, what, exc) from exc
    except Exception as exc:  # URLError, HTTPError, socket timeouts: all mean "not here"
        raise _unreachable(url, what, exc) from exc


def _unreachable(url: str, what: str, exc: Exception) -> WeightsError:
    return WeightsError(
        f"pretrained weights for {what} are not on this machine and could not be downloaded ({exc}). "
        f"Download {url} to {_hub_dir() / url.rsplit('/', 1)[-1]}, or set model.weights to a local "
        f"file, or set model.init: scratch")


def torchvision_weights(enum_name: str, member: str = "KINETICS400_V1") -> dict:
    import torchvision.models as tvm
    import torchvision.models.video as tvv
    enum = getattr(tvv, enum_name, None) or getattr(tvm, enum_name)
    return fetch_url_state(getattr(enum, member).url, f"{enum_name}.{member}")


def pytorchvideo_weights(filename: str) -> dict:
    ckpt = fetch_url_state(PYTORCHVIDEO_HUB + filename, filename)
    return ckpt.get("model_state", ckpt)


def load_matching(model: nn.Module, state: dict, source: str) -> list[str]:
    """Load every tensor whose name and shape match; the rest (the class head) stays fresh.

    Fails when the weights clearly belong to another architecture, or to another size or input shape
    of this one (a tensor of the body, not only the class count, differs), naming both shapes.
    """
    own = model.state_dict()
    matched = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    skipped = sorted(k for k in own if k not in matched)
    n_own = sum(v.numel() for v in own.values())
    n_named = sum(v.numel() for k, v in own.items() if k in state)
    if n_own and n_named / n_own < 0.5:
        raise WeightsError(f"{source}: only {sum(v.numel() for v in matched.values())}/{n_own} parameters fit this "
                           f"architecture; are these weights for another model? (model.size=full matches the "
                           f"published weights)")
    wrong = [(k, tuple(state[k].shape), tuple(own[k].shape)) for k in own
             if k in state and state[k].shape != own[k].shape
             and not (state[k].ndim == own[k].ndim and state[k].shape[1:] == own[k].shape[1:])]  # the class head
    if wrong:
        detail = "; ".join(f"{k}: weights {w}, model {m}" for k, w, m in wrong[:3])
        raise WeightsError(f"{source}: weights of another size or input shape ({len(wrong)} tensor(s) differ: "
                           f"{detail}); build the model with the size and input the weights were made for")
    model.load_state_dict(matched, strict=False)
    return skipped


def read_state(path: Path) -> dict:
    """The tensors of a weights file: safetensors (a plain state dict or a checkpoint of this pipeline) as it
    is, a published .pth/.pyth pickle weights-only; an old pickle checkpoint of this pipeline is refused
    with the way to convert it."""
    kind = file_format(path)
    if kind == "safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file
        try:
            return load_file(path)
        except (SafetensorError, OSError, ValueError) as exc:
            raise WeightsError(f"model.weights: {path} is not a readable safetensors file ({exc})") from exc
    if kind != "pickle":
        raise WeightsError(f"model.weights: {path} is neither a safetensors file nor a PyTorch weights file")
    obj = load_pickled_weights(path, "model.weights")
    if isinstance(obj, dict) and obj.get("format") == "video-action-recognition/checkpoint":
        raise WeightsError(f"model.weights: {path} is a pickle checkpoint of an earlier version of this pipeline; "
                           f"checkpoints are safetensors files now: " + CONVERT_HINT.format(path=path))
    if isinstance(obj, dict):
        for key in ("state_dict", "model_state", "model"):
            if key in obj and isinstance(obj[key], dict):
                return obj[key]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(f"model.weights: {path}: not a state dict")
    return obj


def load_local(model: nn.Module, path: str | Path) -> list[str]:
    """Load `model.weights`: a file (state dict or checkpoint) or a folder saved by `save_weights`
    or by transformers' save_pretrained."""
    path = Path(path)
    if not path.exists():
        raise WeightsError(f"model.weights: {path} does not exist")
    if path.is_dir():
        if (path / "config.json").exists() and hasattr(model, "load_hf_folder"):
            return model.load_hf_folder(path)
        files = [path / WEIGHT_FILE] + sorted(path.glob("*.safetensors")) + sorted(path.glob("*.pth")) + \
            sorted(path.glob("*.pyth"))
        files = [f for f in files if f.exists()]
        if not files:
            raise WeightsError(f"model.weights: {path} holds no {WEIGHT_FILE}, *.safetensors, *.pth or *.pyth file")
        path = files[0]
    return load_matching(model, read_state(path), str(path))


def state_for_saving(model: nn.Module) -> dict:
    """Own, contiguous CPU copies of every tensor: safetensors refuses tensors that share memory."""
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in model.state_dict().items()}


def save_weights(model: nn.Module, folder: str | Path) -> Path:
    """Save weights (safetensors) so that `model.weights: folder` loads them back."""
    from safetensors.torch import save_file
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if hasattr(model, "save_hf_folder"):
        model.save_hf_folder(folder)
    else:
        save_file(state_for_saving(model), str(folder / WEIGHT_FILE))
    return folder
