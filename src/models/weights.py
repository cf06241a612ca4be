"""Pretrained and local weights: published Kinetics weights when reachable or cached,
local files or folders (`model.weights`) for offline use, and the head replaced
whenever the class count differs."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

PYTORCHVIDEO_HUB = "https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/kinetics/"
VIDEOMAE_HUB_ID = "MCG-NJU/videomae-base-finetuned-kinetics"
WEIGHT_FILE = "weights.pt"


class WeightsError(RuntimeError):
    """Weights are missing, unreachable or do not fit the architecture."""


def _hub_dir() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def fetch_url_state(url: str, what: str) -> dict:
    """State dict from the torch hub cache, downloading only when it is not cached."""
    try:
        return torch.hub.load_state_dict_from_url(url, map_location="cpu", progress=False, check_hash=False)
    except Exception as exc:  # URLError, HTTPError, socket timeouts: all mean "not here"
        raise WeightsError(
            f"pretrained weights for {what} are not on this machine and could not be downloaded ({exc}). "
            f"Download {url} to {_hub_dir() / url.rsplit('/', 1)[-1]}, or set model.weights to a local "
            f"file, or set model.init: scratch") from exc


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
    obj = torch.load(path, map_location="cpu", weights_only=False)
    if isinstance(obj, dict):
        for key in ("state_dict", "model_state", "model"):
            if key in obj and isinstance(obj[key], dict):
                return obj[key]
    if not isinstance(obj, dict):
        raise WeightsError(f"{path}: not a state dict")
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
        files = [path / WEIGHT_FILE] + sorted(path.glob("*.pth")) + sorted(path.glob("*.pyth"))
        files = [f for f in files if f.exists()]
        if not files:
            raise WeightsError(f"model.weights: {path} holds no {WEIGHT_FILE}, *.pth or *.pyth file")
        path = files[0]
    return load_matching(model, read_state(path), str(path))


def save_weights(model: nn.Module, folder: str | Path) -> Path:
    """Save weights so that `model.weights: folder` loads them back."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if hasattr(model, "save_hf_folder"):
        model.save_hf_folder(folder)
    else:
        torch.save(model.state_dict(), folder / WEIGHT_FILE)
    return folder
