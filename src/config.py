"""Typed, validated view of params.yaml.

Each section loads into a frozen dataclass that rejects unknown keys and bad
values at once, naming the key and what is allowed: a typo fails in the first
second, not after an hour of training.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

import yaml

PARAMS_FILE = Path("params.yaml")


class ParamError(ValueError):
    """A parameter in params.yaml is unknown or out of range."""


def _check(cond: bool, key: str, msg: str) -> None:
    if not cond:
        raise ParamError(f"params.yaml: {key}: {msg}")


def choice(section: str, name: str, value: Any, allowed) -> None:
    """Stop with a message naming the key and its allowed values."""
    _check(value in allowed, f"{section}.{name}",
           f"got {value!r}; allowed values: {', '.join(map(str, allowed))}")


def positive(section: str, name: str, value, allow_zero: bool = False) -> None:
    ok = value >= 0 if allow_zero else value > 0
    _check(isinstance(value, (int, float)) and not isinstance(value, bool) and ok,
           f"{section}.{name}", f"got {value!r}; must be a number {'>= 0' if allow_zero else '> 0'}")


def _build(cls, section: str, raw: Mapping[str, Any] | None):
    raw = dict(raw or {})
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(raw) - names)
    _check(not unknown, section,
           f"unknown key(s) {', '.join(unknown)}; allowed keys: {', '.join(sorted(names))}")
    kwargs = {}
    for f in fields(cls):
        if f.name not in raw:
            continue
        value = raw[f.name]
        sub = getattr(cls, "_nested", {}).get(f.name)
        kwargs[f.name] = _build(sub, f"{section}.{f.name}", value) if sub else value
    return cls(**kwargs)


@dataclass(frozen=True)
class Base:
    seed: int = 42

    def __post_init__(self):
        _check(isinstance(self.seed, int), "base.seed", f"got {self.seed!r}; must be an integer")


@dataclass(frozen=True)
class Paths:
    """Every location the pipeline writes; dvc.yaml reads the same values via templating."""
    annotations: str = "data/annotations"
    raw: str = "data/raw"
    clips: str = "data/clips"
    frames: str = "data/frames"
    pose: str = "data/pose"
    models: str = "models"
    metrics: str = "metrics"
    plots: str = "plots"
    reports: str = "reports"
    mlruns: str = "mlruns"
    cache: str = "data/cache"   # downloaded annotation archives; outside every DVC output

    def __post_init__(self):
        for f in fields(self):
            object.__setattr__(self, f.name, Path(getattr(self, f.name)))


SOURCES = ("synthetic", "kinetics", "folder")


@dataclass(frozen=True)
class Data:
    source: str = "synthetic"
    classes: tuple = ()
    class_filter: str = "dancing"
    clips_per_class: int = 64
    split_ratios: tuple = (0.6, 0.2, 0.2)
    min_clips_per_class: int = 2
    seed: int = 0
    folder: str = "data/videos"
    segments: str | None = None

    def __post_init__(self):
        choice("data", "source", self.source, SOURCES)
        _check(isinstance(self.classes, (list, tuple)) or not self.classes, "data.classes",
               f"got {self.classes!r}; must be a list of class names")
        object.__setattr__(self, "classes", tuple(self.classes or ()))
        _check(all(isinstance(c, str) and c.strip() for c in self.classes), "data.classes",
               "every class name must be a non-empty string")
        _check(isinstance(self.class_filter, str), "data.class_filter",
               f"got {self.class_filter!r}; must be a word (empty: every class)")
        object.__setattr__(self, "split_ratios", tuple(self.split_ratios))
        positive("data", "clips_per_class", self.clips_per_class)
        positive("data", "min_clips_per_class", self.min_clips_per_class)
        _check(len(self.split_ratios) == 3 and all(r >= 0 for r in self.split_ratios)
               and abs(sum(self.split_ratios) - 1) < 1e-6,
               "data.split_ratios", f"got {list(self.split_ratios)}; must be 3 non-negative numbers "
               "(train, val, test) summing to 1")


@dataclass(frozen=True)
class Synthetic:
    """Rendering of the offline cartoon-dancer data set."""
    width: int = 320
    height: int = 240
    fps: int = 15
    min_seconds: float = 4.0
    max_seconds: float = 5.5
    segment_seconds: float = 3.0
    crf: int = 20

    def __post_init__(self):
        for k in ("width", "height", "fps", "min_seconds", "max_seconds", "segment_seconds"):
            positive("synthetic", k, getattr(self, k))
        _check(self.max_seconds >= self.min_seconds, "synthetic.max_seconds",
               "must be >= synthetic.min_seconds")
        _check(self.segment_seconds < self.min_seconds, "synthetic.segment_seconds",
               "must be shorter than synthetic.min_seconds so trimming does real work")
        _check(0 <= self.crf <= 51, "synthetic.crf", "must be in 0..51")


@dataclass(frozen=True)
class Kinetics:
    """Where the official annotations come from (data.source: kinetics)."""
    annotations: str = "archive"     # archive: DeepMind's tar.gz | csv: the CVDF mirror's per-split CSVs
    archive_url: str = "https://storage.googleapis.com/deepmind-media/Datasets/kinetics700_2020.tar.gz"
    archive_sha256: str | None = None
    csv_url: str = "https://s3.amazonaws.com/kinetics/700_2020/annotations/{split}.csv"
    test_from: str = "validate"      # Kinetics' test split has no labels: carve ours from here

    def __post_init__(self):
        choice("kinetics", "annotations", self.annotations, ("archive", "csv"))
        choice("kinetics", "test_from", self.test_from, ("validate", "train"))
        _check("{split}" in self.csv_url, "kinetics.csv_url", "must contain {split}")


@dataclass(frozen=True)
class Download:
    workers: int = 2
    url_template: str = "https://www.youtube.com/watch?v={youtube_id}"
    max_height: int = 360
    sleep_interval: float = 3.0       # seconds yt-dlp sleeps before each download (polite to YouTube)
    max_sleep_interval: float = 8.0
    sleep_requests: float = 0.75      # seconds between requests while extracting
    socket_timeout: float = 30.0      # a stalled connection fails after this many seconds
    retries: int = 2                  # extra attempts for transient failures (timeouts, rate limits)
    backoff_seconds: float = 10.0     # first retry waits this long, then doubles
    cookies: str | None = None        # Netscape cookies.txt, for bot checks / age-restricted videos
    proxy: str | None = None
    retry_failed: bool = False        # rerun: also retry permanent failures (private, removed, ...)
    min_success_ratio: float = 0.5

    def __post_init__(self):
        positive("download", "workers", self.workers)
        positive("download", "max_height", self.max_height)
        positive("download", "socket_timeout", self.socket_timeout)
        for k in ("sleep_interval", "max_sleep_interval", "sleep_requests", "retries", "backoff_seconds"):
            positive("download", k, getattr(self, k), allow_zero=True)
        _check("{youtube_id}" in self.url_template, "download.url_template", "must contain {youtube_id}")
        choice("download", "retry_failed", self.retry_failed, (True, False))
        _check(isinstance(self.min_success_ratio, (int, float)) and 0 <= self.min_success_ratio <= 1,
               "download.min_success_ratio", f"got {self.min_success_ratio!r}; must be in 0..1")


@dataclass(frozen=True)
class Trim:
    fps: int = 8
    short_side: int = 128
    crf: int = 23
    workers: int = 2

    def __post_init__(self):
        for k in ("fps", "short_side", "workers"):
            positive("trim", k, getattr(self, k))
        _check(self.short_side % 2 == 0, "trim.short_side", "must be even (H.264 needs even sizes)")
        _check(0 <= self.crf <= 51, "trim.crf", "must be in 0..51")


@dataclass(frozen=True)
class Frames:
    short_side: int = 128
    max_frames: int = 16
    crf: int = 23
    workers: int = 2

    def __post_init__(self):
        for k in ("short_side", "max_frames", "workers"):
            positive("frames", k, getattr(self, k))
        _check(self.short_side % 2 == 0, "frames.short_side", "must be even (H.264 needs even sizes)")
        _check(0 <= self.crf <= 51, "frames.crf", "must be in 0..51")


@dataclass(frozen=True)
class Pose:
    model_complexity: int = 1
    static_image_mode: bool = False
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    workers: int = 2
    min_detection_rate: float = 0.0

    def __post_init__(self):
        choice("pose", "model_complexity", self.model_complexity, (0, 1, 2))
        choice("pose", "static_image_mode", self.static_image_mode, (True, False))
        positive("pose", "workers", self.workers)
        for k in ("min_detection_confidence", "min_tracking_confidence", "min_detection_rate"):
            v = getattr(self, k)
            _check(isinstance(v, (int, float)) and 0 <= v <= 1, f"pose.{k}", f"got {v!r}; must be in 0..1")


MODEL_SIZES = ("small", "full")
CROP_TO = ("person", "frame")


@dataclass(frozen=True)
class Model:
    """Which registered model to train (src/models), at which size, from which weights."""
    name: str = "pose_lstm"
    size: str = "small"
    pretrained: bool = False
    weights: str | None = None

    def __post_init__(self):
        from src.models import MODELS
        choice("model", "name", self.name, tuple(MODELS))
        choice("model", "size", self.size, MODEL_SIZES)
        choice("model", "pretrained", self.pretrained, (True, False))


@dataclass(frozen=True)
class Train:
    epochs: int = 12
    batch_size: int = 8
    optimizer: str = "adamw"
    lr: float = 0.001
    weight_decay: float = 0.01
    momentum: float = 0.9
    scheduler: str = "cosine"
    warmup_epochs: float = 1.0
    step_size: int = 5
    gamma: float = 0.1
    label_smoothing: float = 0.1
    mixup_alpha: float = 0.0
    crop_scale: tuple = (0.6, 1.0)
    crop_to: str = "person"
    flip: bool = True
    early_stopping_patience: int = 6
    num_workers: int = 1
    threads: int = 0
    accelerator: str = "auto"
    devices: Any = "auto"
    strategy: str = "auto"
    num_nodes: int = 1
    precision: str | None = None
    limit_train_clips: int = 0

    def __post_init__(self):
        for k in ("epochs", "batch_size", "lr", "num_nodes"):
            positive("train", k, getattr(self, k))
        for k in ("weight_decay", "label_smoothing", "mixup_alpha", "warmup_epochs", "num_workers", "threads",
                  "early_stopping_patience", "limit_train_clips"):
            positive("train", k, getattr(self, k), allow_zero=True)
        choice("train", "optimizer", self.optimizer, ("adamw", "sgd", "asgd"))
        choice("train", "scheduler", self.scheduler, ("cosine", "step", "none"))
        choice("train", "crop_to", self.crop_to, CROP_TO)
        choice("train", "accelerator", self.accelerator, ("auto", "cpu", "gpu", "cuda", "mps", "tpu"))
        object.__setattr__(self, "crop_scale", tuple(self.crop_scale))
        _check(len(self.crop_scale) == 2 and 0 < self.crop_scale[0] <= self.crop_scale[1] <= 1,
               "train.crop_scale", f"got {list(self.crop_scale)}; must be [min, max] with 0 < min <= max <= 1")
        _check(self.label_smoothing < 1, "train.label_smoothing", "must be < 1")


@dataclass(frozen=True)
class Evaluate:
    num_clips: int = 2
    num_crops: int = 1
    batch_size: int = 16

    def __post_init__(self):
        positive("evaluate", "num_clips", self.num_clips)
        positive("evaluate", "batch_size", self.batch_size)
        choice("evaluate", "num_crops", self.num_crops, (1, 3))


@dataclass(frozen=True)
class Compare:
    models: tuple = ()

    def __post_init__(self):
        from src.models import MODELS
        object.__setattr__(self, "models", tuple(self.models or ()))
        unknown = [m for m in self.models if m not in MODELS]
        _check(not unknown, "compare.models",
               f"unknown model(s) {', '.join(map(str, unknown))}; allowed values: {', '.join(MODELS)}")
        _check(len(set(self.models)) == len(self.models), "compare.models", "lists a model twice")


SECTIONS = {
    "base": Base, "paths": Paths, "data": Data, "synthetic": Synthetic, "kinetics": Kinetics, "download": Download,
    "trim": Trim, "frames": Frames, "pose": Pose, "model": Model, "train": Train, "evaluate": Evaluate,
    "compare": Compare,
}


@dataclass(frozen=True)
class Params:
    base: Base = field(default_factory=Base)
    paths: Paths = field(default_factory=Paths)
    data: Data = field(default_factory=Data)
    synthetic: Synthetic = field(default_factory=Synthetic)
    kinetics: Kinetics = field(default_factory=Kinetics)
    download: Download = field(default_factory=Download)
    trim: Trim = field(default_factory=Trim)
    frames: Frames = field(default_factory=Frames)
    pose: Pose = field(default_factory=Pose)
    model: Model = field(default_factory=Model)
    train: Train = field(default_factory=Train)
    evaluate: Evaluate = field(default_factory=Evaluate)
    compare: Compare = field(default_factory=Compare)


def params_from_dict(raw: Mapping[str, Any]) -> Params:
    raw = dict(raw or {})
    unknown = sorted(set(raw) - set(SECTIONS))
    _check(not unknown, "top level",
           f"unknown section(s) {', '.join(unknown)}; allowed sections: {', '.join(SECTIONS)}")
    return Params(**{name: _build(cls, name, raw.get(name)) for name, cls in SECTIONS.items()})


def load_params(path: str | Path = PARAMS_FILE) -> Params:
    path = Path(path)
    if not path.exists():
        raise ParamError(f"{path} not found: run from the repository root")
    with open(path) as fh:
        return params_from_dict(yaml.safe_load(fh) or {})
