"""Model constructors for the registry's entries (src/models/registry.py): `build_model(name, ...)`.

Kept apart from the registry so that reading the registry (params validation, data stages) never
imports torch or the model code. Preset keys pass strictly: a key a builder does not take is an
error naming the model and the key, never silently dropped.
"""
from __future__ import annotations

import inspect

from torch import nn

from src.models import c3d, fusion, pose_lstm, resnet2d, stgcn, zoo
from src.models.motion import FrameDifferences, check_motion
from src.models.registry import MODELS, input_spec, model_entry
from src.models.weights import WeightsError

__all__ = ["BUILDERS", "build_model", "input_spec"]

INPUT_KEYS = ("num_frames", "size")  # preset keys that describe the input; builders take them only if they ask


def _frame_cnn(num_classes, pretrained, layers, width=64):
    return resnet2d.FrameCNN(num_classes, layers, pretrained, width)


def _cnn_lstm(num_classes, pretrained, layers, hidden, width=64):
    return resnet2d.CNNLSTM(num_classes, layers, hidden, pretrained, width)


def _c3d(num_classes, pretrained, num_frames, size, widths, convs, fc_dim, stem, motion="none", head="avg",
         time_strides=None):
    if pretrained:
        raise WeightsError("c3d is written here and trained from scratch: no published weights; "
                           "set model.init to scratch (or model.weights to a checkpoint of yours)")
    return c3d.C3D(num_classes, widths, convs, fc_dim, stem=stem, motion=motion, head=head, time_strides=time_strides,
                   num_frames=num_frames, size=size)


def _reading(motion: str, make):
    """make(frames) builds a model for `frames` input steps; motion "diff": it reads the differences of its
    input's frames, one step fewer (src/models/motion.py)."""
    check_motion(motion, ("none", "diff"))
    return FrameDifferences(make(-1)) if motion == "diff" else make(0)


def _video_resnet(name):
    def build(num_classes, pretrained, layers, width=64, zero_init_residual=False, time_strides=(2, 2, 2),
              motion="none"):
        return _reading(motion, lambda _: zoo.video_resnet(name, num_classes, layers, width, pretrained,
                                                           zero_init_residual, time_strides))
    return build


def _mvit(num_classes, pretrained, num_frames, size, blocks, stages=None, tokenizer="linear", token_stride=4,
          pool="cls", token_width=32, motion="none"):
    return _reading(motion, lambda d: zoo.mvit(num_classes, num_frames + d, size, blocks, pretrained, stages,
                                               tokenizer, token_stride, pool, token_width))


def _x3d(name):
    def build(num_classes, pretrained, num_frames, size, depth_factor, bottleneck_factor=2.25, head_dim_out=2048,
              dropout=0.5, zero_init_residual=False, motion="none"):
        return _reading(motion, lambda d: zoo.x3d(
            name, num_classes, num_frames + d, size, depth_factor, bottleneck_factor=bottleneck_factor,
            head_dim_out=head_dim_out, dropout=dropout, pretrained=pretrained, zero_init_residual=zero_init_residual))
    return build


def _slowfast(num_classes, pretrained, num_frames, size, depth, width=64, beta_inv=8, alpha=4, dropout=0.5,
              zero_init_residual=False, motion="none"):
    return _reading(motion, lambda d: zoo.SlowFast(
        num_classes, num_frames + d, size, depth, alpha=alpha, width=width, beta_inv=beta_inv, dropout=dropout,
        pretrained=pretrained, zero_init_residual=zero_init_residual))


def _videomae(num_classes, pretrained, num_frames, size, hidden, layers, heads, patch=16, tubelet=2, drop_path=0.0,
              tokenizer="linear", motion="none"):
    # motion inside the class: its Hugging Face folders (pretraining, model.weights) belong to it, not to a wrapper
    return zoo.VideoMAE(num_classes, num_frames, size, hidden, layers, heads, patch, tubelet, drop_path, pretrained,
                        tokenizer, motion)


def _pose_lstm(num_classes, pretrained, hidden, layers, velocity=False):
    if pretrained:
        raise WeightsError("pose_lstm has no published weights; set model.init to scratch")
    return pose_lstm.PoseLSTM(num_classes, hidden=hidden, layers=layers, velocity=velocity)


def _stgcn(num_classes, pretrained, channels, strides, streams=stgcn.STREAMS, dropout=0.0):
    if pretrained:
        raise WeightsError("stgcn is written here for MediaPipe's 33 joints: no published weights; set model.init "
                           "to scratch")
    return stgcn.STGCN(num_classes, channels, strides, streams, dropout)


def _fusion(num_classes, pretrained, rgb, pose, size="small"):
    entries = {k: model_entry(v) for k, v in (("rgb", rgb), ("pose", pose))}
    if entries["rgb"].kind != "rgb" or entries["pose"].kind != "pose":
        raise ValueError(f"fusion: rgb must name an RGB model and pose a pose model (got rgb={rgb!r}, "
                         f"pose={pose!r}); RGB models: {', '.join(n for n, e in MODELS.items() if e.kind == 'rgb')}; "
                         f"pose models: {', '.join(n for n, e in MODELS.items() if e.kind == 'pose')}")
    return fusion.LateFusion(build_model(rgb, num_classes, size, pretrained), build_model(pose, num_classes, size))


# one constructor per registry entry (tests/test_models.py checks the two hold the same names)
BUILDERS = {
    "frame_cnn": _frame_cnn, "cnn_lstm": _cnn_lstm, "c3d": _c3d,
    "r3d_18": _video_resnet("r3d_18"), "mc3_18": _video_resnet("mc3_18"), "r2plus1d_18": _video_resnet("r2plus1d_18"),
    "mvit_v2_s": _mvit, "x3d_xs": _x3d("x3d_xs"), "x3d_s": _x3d("x3d_s"), "x3d_m": _x3d("x3d_m"),
    "slowfast_r50": _slowfast, "videomae": _videomae, "pose_lstm": _pose_lstm, "stgcn": _stgcn,
    "fusion": _fusion,
}


def build_model(name: str, num_classes: int, size: str = "small", pretrained: bool = False,
                parts: dict | None = None) -> nn.Module:
    """Instantiate a registered model; raises ValueError listing the registry for unknown names, and
    naming the model and the key for a preset key its builder does not take. parts: fusion's
    {"rgb": name, "pose": name} (params.yaml `fusion`), over the registry's defaults."""
    entry = model_entry(name)
    if size not in entry.sizes:
        raise ValueError(f"unknown size {size!r} for {name}; allowed values: {', '.join(entry.sizes)}")
    if pretrained and size != "full":
        raise WeightsError(f"published weights for {name} fit model.size=full only (got model.size={size})")
    build = BUILDERS[name]
    accepted = [k for k in inspect.signature(build).parameters if k not in ("num_classes", "pretrained")]
    preset = {k: v for k, v in entry.sizes[size].items() if k not in INPUT_KEYS or k in accepted}
    if entry.kind == "fusion":
        preset.update({k: v for k, v in (parts or {}).items() if v}, size=size)
    unknown = sorted(set(preset) - set(accepted))
    if unknown:
        raise ValueError(f"model {name} ({size}): preset key(s) {', '.join(unknown)} are not arguments of its "
                         f"builder; allowed keys: {', '.join(accepted)}")
    return build(num_classes, pretrained, **preset)

