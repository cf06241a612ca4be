"""Typed, validated view of params.yaml, which is the only place a default lives.

Each section loads into a frozen dataclass. A field declares its type and its
rule (range, allowed values); the loader rejects unknown keys, wrong types
(`train.epochs: 2.5` is not an integer), values out of range and keys missing
from params.yaml, each time naming the key and what is allowed, so a typo fails
in the first second, not after an hour of training.

Importing this module does not import torch: model names are checked against
`src.models.registry`, which holds plain data and builds models lazily.
"""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping, Optional

import yaml

from src.errors import UserError
from src.models.registry import MODELS

PARAMS_FILE = Path("params.yaml")


class ParamError(UserError, ValueError):
    """A parameter in params.yaml is unknown, missing or out of range."""


def fail(key: str, msg: str):
    raise ParamError(f"params.yaml: {key}: {msg}")


def rule(*, choices=None, ge=None, gt=None, le=None, lt=None, even=False, check=None, help=""):
    """A required field (no default: params.yaml supplies it) and what its value may be."""
    return field(metadata=dict(choices=choices, ge=ge, gt=gt, le=le, lt=lt, even=even, check=check, help=help))


def _type_ok(value, tp) -> bool:
    """isinstance against the annotation; bool is not a number, int is a float, lists are tuples."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return True
    if origin is typing.Union:
        return any(_type_ok(value, a) for a in typing.get_args(tp))
    if tp is type(None):
        return value is None
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is str:
        return isinstance(value, str)
    if tp is Path:
        return isinstance(value, (str, Path))
    if tp is tuple:
        return isinstance(value, (list, tuple))
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            return False
        args = typing.get_args(tp)
        item = args[0] if args else Any
        return all(_type_ok(v, item) for v in value)
    return isinstance(value, tp)


def _type_name(tp) -> str:
    if typing.get_origin(tp) is tuple:
        args = typing.get_args(tp)
        return f"a list of {_type_name(args[0]) if args else 'values'}"
    if tp is Path:
        return "a path"
    if typing.get_origin(tp) is typing.Union:
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false",
            type(None): "null"}.get(tp, getattr(tp, "__name__", str(tp)))


def check_field(section: str, f: dataclasses.Field, tp, value) -> None:
    """One field's type and rule; every message names `section.key`."""
    key, m = f"{section}.{f.name}", f.metadata
    if not _type_ok(value, tp):
        fail(key, f"got {value!r}; must be {_type_name(tp)}")
    if value is None:
        return
    if m.get("choices") is not None and value not in m["choices"]:
        fail(key, f"got {value!r}; allowed values: {', '.join(map(str, m['choices']))}")
    for bound, ok, word in (("ge", lambda v, b: v >= b, ">="), ("gt", lambda v, b: v > b, ">"),
                            ("le", lambda v, b: v <= b, "<="), ("lt", lambda v, b: v < b, "<")):
        b = m.get(bound)
        if b is not None and isinstance(value, (int, float)) and not ok(value, b):
            fail(key, f"got {value!r}; must be a number {word} {b}")
    if m.get("even") and value % 2:
        fail(key, f"got {value!r}; must be even (H.264 needs even sizes)")
    if m.get("check"):
        msg = m["check"](value)
        if msg:
            fail(key, f"got {value!r}; {msg}")


class Section:
    """Base of every params section: checks each field on construction (also after dataclasses.replace)."""
    NAME = ""

    def __post_init__(self):
        hints = typing.get_type_hints(type(self))
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list):  # YAML lists are stored as tuples: sections are frozen and hashable
                value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
                object.__setattr__(self, f.name, value)
            check_field(self.NAME, f, hints[f.name], value)
        self.check()

    def check(self) -> None:
        """Rules that tie several fields together."""


def section(name: str):
    def wrap(cls):
        cls.NAME = name
        return dataclass(frozen=True)(cls)
    return wrap


def _ratios(v) -> str:
    if len(v) != 3 or any(r < 0 for r in v) or abs(sum(v) - 1) > 1e-6:
        return "must be 3 non-negative numbers (train, val, test) summing to 1"
    return ""


def _names(v) -> str:
    return "" if all(isinstance(c, str) and c.strip() for c in v) else "every class name must be a non-empty string"


def _pairs(v) -> str:
    ok = all(isinstance(p, (list, tuple)) and len(p) == 2 and all(isinstance(c, str) for c in p) for p in v)
    return "" if ok else "must be a list of [class, class] pairs"


def _model_names(v) -> str:
    unknown = [m for m in v if m not in MODELS]
    if unknown:
        return f"unknown model(s) {', '.join(map(str, unknown))}; allowed values: {', '.join(MODELS)}"
    return "lists a model twice" if len(set(v)) != len(v) else ""


@section("base")
class Base(Section):
    seed: int = rule()


@section("paths")
class Paths(Section):
    """Every location the pipeline writes; dvc.yaml reads the same values via templating."""
    annotations: Path = rule()
    raw: Path = rule()
    clips: Path = rule()
    frames: Path = rule()
    pose: Path = rule()
    models: Path = rule()
    metrics: Path = rule()
    plots: Path = rule()
    reports: Path = rule()
    mlruns: Path = rule()
    cache: Path = rule()
    pretrain: Path = rule()
    shifted: Path = rule()

    def check(self):
        for f in fields(self):
            object.__setattr__(self, f.name, Path(getattr(self, f.name)))


SOURCE_NAMES = ("synthetic", "kinetics", "folder")


@section("data")
class Data(Section):
    source: str = rule(choices=SOURCE_NAMES)
    classes: tuple[str, ...] = rule(check=_names)
    class_filter: str = rule()
    clips_per_class: int = rule(gt=0)
    split_ratios: tuple[float, ...] = rule(check=_ratios)
    min_clips_per_class: int = rule(gt=0)
    seed: int = rule()
    folder: str = rule()
    segments: Optional[str] = rule()
    order_pairs: tuple = rule(check=_pairs, help="pairs of classes only the order of events separates")
    max_malformed_ratio: float = rule(ge=0, le=1, help="fetch fails when more annotation rows than this share are "
                                                       "malformed (each one is skipped and counted)")


@section("synthetic")
class Synthetic(Section):
    """Rendering of the offline cartoon-dancer data set."""
    width: int = rule(gt=0)
    height: int = rule(gt=0)
    fps: int = rule(gt=0)
    min_seconds: float = rule(gt=0)
    max_seconds: float = rule(gt=0)
    segment_seconds: float = rule(gt=0)
    crf: int = rule(ge=0, le=51)
    shifted_clips_per_class: int = rule(ge=0, help="clips per class of the shifted test split")
    shifted_val_clips_per_class: int = rule(ge=0, help="clips per class of the shifted validation split")

    def check(self):
        if self.max_seconds < self.min_seconds:
            fail("synthetic.max_seconds", "must be >= synthetic.min_seconds")
        if self.segment_seconds >= self.min_seconds:
            fail("synthetic.segment_seconds", "must be shorter than synthetic.min_seconds so trimming does real work")


@section("kinetics")
class Kinetics(Section):
    """Where the official annotations come from (data.source: kinetics)."""
    annotations: str = rule(choices=("archive", "csv"))
    archive_url: str = rule()
    archive_sha256: Optional[str] = rule()
    csv_url: str = rule(check=lambda v: "" if "{split}" in v else "must contain {split}")
    test_from: str = rule(choices=("validate", "train"))


@section("download")
class Download(Section):
    workers: int = rule(gt=0)
    url_template: str = rule(check=lambda v: "" if "{youtube_id}" in v else "must contain {youtube_id}")
    max_height: int = rule(gt=0)
    sleep_interval: float = rule(ge=0)
    max_sleep_interval: float = rule(ge=0)
    sleep_requests: float = rule(ge=0)
    socket_timeout: float = rule(gt=0)
    retries: int = rule(ge=0)
    backoff_seconds: float = rule(ge=0)
    cookies: Optional[str] = rule()
    proxy: Optional[str] = rule()
    retry_failed: bool = rule()
    min_success_ratio: float = rule(ge=0, le=1)


@section("trim")
class Trim(Section):
    fps: int = rule(gt=0)
    short_side: int = rule(gt=0, even=True)
    crf: int = rule(ge=0, le=51)
    workers: int = rule(gt=0)


@section("frames")
class Frames(Section):
    short_side: int = rule(gt=0, even=True)
    max_frames: int = rule(gt=0)
    crf: int = rule(ge=0, le=51)
    workers: int = rule(gt=0)


@section("pose")
class Pose(Section):
    model_complexity: int = rule(choices=(0, 1, 2))
    static_image_mode: bool = rule()
    min_detection_confidence: float = rule(ge=0, le=1)
    min_tracking_confidence: float = rule(ge=0, le=1)
    motion_cue: bool = rule(help="false: the segmenter's people alone, no motion cue")
    workers: int = rule(gt=0)
    min_detection_rate: float = rule(ge=0, le=1)


INITS = ("auto", "scratch", "selfsup", "kinetics")


@section("compute")
class Compute(Section):
    """Where the per-clip stages run: a local process pool, or Ray tasks on a cluster."""
    executor: str = rule(choices=("local", "ray"))
    address: Optional[str] = rule(help="null: a new local Ray cluster; auto; host:port; ray://host:port")
    cpus_per_task: float = rule(gt=0)
    max_retries: int = rule(ge=0)


@section("model")
class Model(Section):
    """Which registered model to train (src/models), at which size, from which weights.

    init: scratch (random), selfsup (the encoder from the pretrain stage), kinetics (the published
    Kinetics weights, full size only), or auto (selfsup where the pretrain stage pretrained the model,
    else scratch)."""
    name: str = rule(choices=tuple(MODELS))
    size: str = rule(choices=("small", "full"))
    init: str = rule(choices=INITS)
    weights: Optional[str] = rule()


def _selfsup_models(v) -> str:
    able = [m for m, e in MODELS.items() if e.selfsup]
    bad = [m for m in v if m not in able]
    return f"no self-supervised pretraining for {', '.join(bad)}; allowed values: {', '.join(able)}" if bad else ""


@section("pretrain")
class Pretrain(Section):
    """Self-supervised masked-video pretraining (the pretrain stage) of the models listed."""
    models: tuple[str, ...] = rule(check=_selfsup_models)
    epochs: int = rule(gt=0)
    batch_size: int = rule(gt=0)
    lr: float = rule(gt=0)
    weight_decay: float = rule(ge=0)
    warmup_epochs: float = rule(ge=0)
    mask_ratio: float = rule(gt=0, lt=1)
    decoder_hidden: int = rule(gt=0)
    decoder_layers: int = rule(gt=0)
    decoder_heads: int = rule(gt=0)
    min_clips: int = rule(gt=0)


@section("train")
class Train(Section):
    """Training settings. The keys of a model's recipe (src/models/registry.py) are null here by default:
    null takes the recipe's value, a value overrides it for every model trained."""
    epochs: Optional[int] = rule(gt=0)
    batch_size: Optional[int] = rule(gt=0)
    optimizer: Optional[str] = rule(choices=("adamw", "sgd", "asgd"))
    lr: Optional[float] = rule(gt=0)
    weight_decay: Optional[float] = rule(ge=0)
    momentum: float = rule(ge=0)
    scheduler: str = rule(choices=("cosine", "step", "none"))
    warmup_epochs: Optional[float] = rule(ge=0)
    step_size: int = rule(gt=0)
    gamma: float = rule(gt=0)
    label_smoothing: Optional[float] = rule(ge=0, lt=1)
    mixup_alpha: Optional[float] = rule(ge=0)
    crop_scale: tuple[float, ...] = rule(
        check=lambda v: "" if len(v) == 2 and 0 < v[0] <= v[1] <= 1 else "must be [min, max] with 0 < min <= max <= 1")
    crop_to: str = rule(choices=("person", "frame"))
    flip: bool = rule()
    early_stopping_patience: int = rule(ge=0)
    num_workers: int = rule(ge=0)
    threads: int = rule(ge=0)
    accelerator: str = rule(choices=("auto", "cpu", "gpu", "cuda", "mps", "tpu"))
    devices: Any = rule()
    strategy: str = rule()
    num_nodes: int = rule(gt=0)
    precision: Optional[str] = rule()
    deterministic: bool = rule(help="torch's deterministic algorithms (reruns match to the bit, some ops slower)")
    limit_train_clips: int = rule(ge=0)


@section("fusion")
class Fusion(Section):
    """The fusion model of the comparison: which RGB and which pose model of compare.models it fuses."""
    rgb: str = rule(choices=tuple(m for m, e in MODELS.items() if e.kind == "rgb"))
    pose: str = rule(choices=tuple(m for m, e in MODELS.items() if e.kind == "pose"))
    enabled: bool = rule(help="false: no fusion model in the comparison")


@section("evaluate")
class Evaluate(Section):
    num_clips: int = rule(gt=0)
    num_crops: int = rule(choices=(1, 3))
    batch_size: int = rule(gt=0)


def _seeds(v) -> str:
    if not v:
        return "must list at least one seed"
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in v):
        return "every seed must be an integer"
    return "lists a seed twice" if len(set(v)) != len(v) else ""


@section("compare")
class Compare(Section):
    models: tuple[str, ...] = rule(check=_model_names)
    seeds: tuple = rule(check=_seeds, help="training seeds: every compared model is trained under each")


SECTIONS = {cls.NAME: cls for cls in (Base, Paths, Compute, Data, Synthetic, Kinetics, Download, Trim, Frames, Pose,
                                      Model, Pretrain, Train, Fusion, Evaluate, Compare)}


@dataclass(frozen=True)
class Params:
    base: Base
    paths: Paths
    compute: Compute
    data: Data
    synthetic: Synthetic
    kinetics: Kinetics
    download: Download
    trim: Trim
    frames: Frames
    pose: Pose
    model: Model
    pretrain: Pretrain
    train: Train
    fusion: Fusion
    evaluate: Evaluate
    compare: Compare


def params_from_dict(raw: Mapping[str, Any]) -> Params:
    """Validate a whole params mapping.

    Problems in what is written (unknown sections or keys, wrong types, values out of range) are
    reported before keys that are missing, so the message points at the typo first.
    """
    raw = dict(raw or {})
    unknown = sorted(set(raw) - set(SECTIONS))
    if unknown:
        fail("top level", f"unknown section(s) {', '.join(unknown)}; allowed sections: {', '.join(SECTIONS)}")
    for name, cls in SECTIONS.items():
        if name not in raw:
            continue
        given = raw[name]
        if not isinstance(given, Mapping):
            fail(name, f"got {given!r}; must be a mapping of keys")
        allowed = [f.name for f in fields(cls)]
        extra = sorted(set(given) - set(allowed))
        if extra:
            fail(name, f"unknown key(s) {', '.join(extra)}; allowed keys: {', '.join(sorted(allowed))}")
        hints = typing.get_type_hints(cls)
        for f in fields(cls):
            if f.name in given:
                check_field(name, f, hints[f.name], given[f.name])
    missing = [f"{name}.{f.name}" for name, cls in SECTIONS.items() for f in fields(cls)
               if f.name not in (raw.get(name) or {})]
    missing_sections = [n for n in SECTIONS if n not in raw]
    if missing:
        keys = [k for k in missing if k.split(".")[0] not in missing_sections]
        what = "; ".join(filter(None, [f"section(s) {', '.join(missing_sections)}" if missing_sections else "",
                                       f"key(s) {', '.join(keys)}" if keys else ""]))
        raise ParamError(f"params.yaml: missing {what} (params.yaml is the only place defaults live: "
                         f"add them there)")
    return Params(**{name: cls(**raw[name]) for name, cls in SECTIONS.items()})


def load_params(path: str | Path = PARAMS_FILE) -> Params:
    path = Path(path)
    if not path.exists():
        raise ParamError(f"{path} not found: run from the repository root")
    with open(path) as fh:
        return params_from_dict(yaml.safe_load(fh) or {})
