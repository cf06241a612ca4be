"""Training and evaluation inputs read from the frame and pose stores.

Training takes one random frame from each of T equal segments of the clip
(TSN) and one random resized crop + flip shared by all frames of a clip
(torchvision's parameter sampling); RGB models see a square around the
dancer found by the pose stage (`train.crop_to: person`) or the whole frame.
Evaluation takes `num_clips` evenly spaced windows x `num_crops` crops, whose
scores are averaged.
"""
from __future__ import annotations

import dataclasses
import random
import sys
import warnings
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset
from torchvision import tv_tensors
from torchvision.transforms import v2

from src.annotations import MANIFEST
from src.config import Params
from src.models.registry import InputSpec
from src.prepare.frame_store import ClipFrames
from src.prepare.pose_store import load_pose

# MediaPipe joint pairs (left, right) swapped by a horizontal flip
POSE_FLIP = [(1, 4), (2, 5), (3, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16), (17, 18), (19, 20),
             (21, 22), (23, 24), (25, 26), (27, 28), (29, 30), (31, 32)]
_FLIP_INDEX = list(range(33))
for a, b in POSE_FLIP:
    _FLIP_INDEX[a], _FLIP_INDEX[b] = b, a


def train_indices(n: int, t: int, rng: random.Random) -> np.ndarray:
    """TSN's segment sampling: split the n frames into t equal segments, take a random frame of each.

    Every training view spans the whole clip, as the test views do; a random-start window of
    consecutive frames measured about 8 points lower on validation (c3d, 20 epochs).
    """
    if n <= t:
        return np.minimum(np.arange(t), n - 1)
    edges = np.linspace(0, n, t + 1)
    return np.array([min(n - 1, int(edges[i] + rng.random() * (edges[i + 1] - edges[i]))) for i in range(t)])


def eval_indices(n: int, t: int, num_clips: int) -> list[np.ndarray]:
    """`num_clips` windows of t frames spread evenly over n frames (each covers the clip at the widest
    stride that fits, shifted)."""
    stride = max(1, (n - 1) // max(1, t - 1)) if t > 1 else 1
    span = (t - 1) * stride + 1
    starts = np.linspace(0, max(0, n - span), num_clips).round().astype(int)
    return [np.minimum(s + stride * np.arange(t), n - 1) for s in starts]


def normalize_pose(kps: np.ndarray, detected: np.ndarray) -> np.ndarray:
    """Centre on the hips, scale by torso length, zero missing frames (visibility 0 marks them)."""
    out = np.zeros_like(kps, dtype=np.float32)
    if not detected.any():
        return out
    k = kps[detected]
    hips = (k[:, 23, :2] + k[:, 24, :2]) / 2
    shoulders = (k[:, 11, :2] + k[:, 12, :2]) / 2
    scale = np.median(np.linalg.norm(shoulders - hips, axis=1)) + 1e-6
    centre = np.median(hips, axis=0)
    k = k.copy()
    k[:, :, :2] = (k[:, :, :2] - centre) / scale
    k[:, :, 2] = k[:, :, 2] / scale
    out[detected] = k
    return out


def person_box(kps: np.ndarray, detected: np.ndarray, height: int, width: int,
               margin: float = 0.15) -> tuple[int, int, int] | None:
    """(top, left, side) of a square around everything the dancer reaches in the clip, or None.

    Centring on the person (as PoseC3D and most skeleton-guided RGB models do) makes the dancer fill
    the model's small input instead of a third of it; keypoints outside the frame are clipped.
    """
    if not detected.any():
        return None
    xy = kps[detected][:, :, :2].reshape(-1, 2)
    xy = np.clip(xy[np.isfinite(xy).all(1)], 0, 1)
    if len(xy) == 0:
        return None
    (x0, y0), (x1, y1) = np.percentile(xy, 1, axis=0), np.percentile(xy, 99, axis=0)
    side = int(round(min(max((x1 - x0) * width, (y1 - y0) * height) * (1 + 2 * margin), height, width)))
    if side < 8:
        return None
    left = int(np.clip((x0 + x1) / 2 * width - side / 2, 0, width - side))
    top = int(np.clip((y0 + y1) / 2 * height - side / 2, 0, height - side))
    return top, left, side


def crop_box(frames: np.ndarray, box: tuple[int, int, int] | None) -> np.ndarray:
    if box is None:
        return frames
    top, left, side = box
    return frames[:, top:top + side, left:left + side]


# decoded clips kept in memory per dataset, up to this many bytes: the default data set's 320 training
# clips take about 0.2 GB, and re-decoding them every epoch cost a whole core in the loader
CACHE_BYTES = 3 << 30


class ClipDataset(Dataset):
    """Rows of a frames manifest -> (input tensor, label index).

    rgb: C×T×H×W float, normalised; pose: T×33×4 float. Each clip is decoded (and cropped to the
    dancer) once, then served from memory while the cache stays under CACHE_BYTES.
    """

    def __init__(self, rows: pd.DataFrame, classes: list[str], spec: InputSpec, frames_dir: Path,
                 pose_dir: Path | None, train: bool, crop_scale=(0.6, 1.0), flip: bool = True,
                 num_clips: int = 1, num_crops: int = 1):
        self.rows = rows.reset_index(drop=True)
        self._records = self.rows.to_dict("records")  # pandas row lookups cost more than the clip itself
        self.labels_of = {c: i for i, c in enumerate(classes)}
        self.labels = [self.labels_of[lbl] for lbl in self.rows["label"]]
        self.spec, self.train = spec, train
        self.frames_dir, self.pose_dir = Path(frames_dir), Path(pose_dir) if pose_dir else None
        self.num_clips, self.num_crops, self.flip = num_clips, num_crops, flip
        self._cache: dict = {}
        self._cached_bytes = 0
        if spec.kind == "rgb":
            self.crop = v2.RandomResizedCrop((spec.size, spec.size), scale=crop_scale)

    def __len__(self) -> int:
        return len(self.rows)

    def with_rows(self, rows: pd.DataFrame) -> "ClipDataset":
        """The same views of other clips (a copy with its own cache)."""
        import copy
        other = copy.copy(self)
        other.rows = rows.reset_index(drop=True)
        other._records = other.rows.to_dict("records")
        other.labels = [self.labels_of[lbl] for lbl in other.rows["label"]]
        other._cache, other._cached_bytes = {}, 0
        return other

    def _rng(self, i: int) -> random.Random:
        # torch's generator is seeded per worker and epoch by Lightning: derive from it
        return random.Random(int(torch.randint(0, 2**31 - 1, (1,)).item()) ^ i)

    def __getitem__(self, i: int):
        row = self._records[i]
        if self.spec.kind == "pose":
            return self.pose_views(row, i), self.labels[i]
        return self.rgb_views(row, i), self.labels[i]

    def _cached(self, key: str, load):
        if key in self._cache:
            return self._cache[key]
        value = load()
        if self._cached_bytes + value_bytes(value) <= CACHE_BYTES:
            self._cache[key] = value
            self._cached_bytes += value_bytes(value)
        return value

    # rgb -------------------------------------------------------------------------------------
    def clip_frames(self, row) -> np.ndarray:
        """Every stored frame of the clip, T×H×W×3 uint8 RGB, cropped to the dancer when the spec asks."""
        def load():
            clip = ClipFrames(self.frames_dir / row["path"])
            box = self.box(row, clip) if self.spec.crop == "person" else None
            return np.ascontiguousarray(crop_box(clip.frames(range(len(clip))), box))
        return self._cached(row["path"], load)

    def rgb_views(self, row, i: int) -> torch.Tensor:
        frames = self.clip_frames(row)
        if self.train:
            rng = self._rng(i)
            frames = frames[train_indices(len(frames), self.spec.num_frames, rng)]
            return normalize(_video(self.random_crop_flip(frames, rng)), self.spec)
        return rgb_eval_views(frames, self.spec, self.num_clips, self.num_crops)

    def box(self, row, clip: ClipFrames):
        """The clip's person box from the pose store (full frame when the pose stage found nobody)."""
        path = self.pose_dir / row["path"].replace(".mp4", ".npz") if self.pose_dir else None
        return person_box(*load_pose(path), *clip.shape) if path and path.exists() else None

    def random_crop_flip(self, frames: np.ndarray, rng: random.Random) -> np.ndarray:
        """One RandomResizedCrop (torchvision's parameter sampling) and flip for all frames of a clip,
        applied with cv2 on uint8: about twice as fast as transforms on a Video tensor."""
        top, left, h, w = self.crop.get_params(torch.empty(1, *frames.shape[1:3]), self.crop.scale, self.crop.ratio)
        s = self.spec.size
        out = np.stack([cv2.resize(f[top:top + h, left:left + w], (s, s), interpolation=cv2.INTER_LINEAR)
                        for f in frames])
        if self.flip and rng.random() < 0.5:
            out = out[:, :, ::-1]
        return np.ascontiguousarray(out)

    # pose ------------------------------------------------------------------------------------
    def pose_views(self, row, i: int) -> torch.Tensor:
        kps, det = self._cached(row["path"], lambda: load_pose(self.pose_dir / row["path"].replace(".mp4", ".npz")))
        if not self.train:
            return pose_eval_views(kps, det, self.spec, self.num_clips)
        kps = normalize_pose(kps, det)
        rng = self._rng(i)
        x = kps[train_indices(len(kps), self.spec.num_frames, rng)]
        if self.flip and rng.random() < 0.5:
            x = x[:, _FLIP_INDEX].copy()
            x[:, :, 0] *= -1
        return torch.from_numpy(np.ascontiguousarray(x))


class FusionDataset(Dataset):
    """The clips both parts of a fusion model read (the pose part needs the pose store), as ((RGB views, keypoint
    views), label): each part's views made exactly as for that part alone."""

    def __init__(self, rgb: ClipDataset, pose: ClipDataset):
        self.pose, self.rgb = pose, rgb.with_rows(pose.rows)
        self.rows, self.labels = self.pose.rows, self.pose.labels
        self.num_clips, self.num_crops = self.rgb.num_clips, self.rgb.num_crops

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int):
        return (self.rgb[i][0], self.pose[i][0]), self.labels[i]


def model_spec(name: str, size: str, crop_to: str, parts: dict | None = None) -> InputSpec:
    """What model `name` eats in this pipeline: the registry's spec with the RGB crop of `train.crop_to` (for a
    fusion model, in its RGB part)."""
    from src.models.registry import input_spec
    spec = input_spec(name, size, parts)
    if spec.kind == "rgb":
        return dataclasses.replace(spec, crop=crop_to)
    if spec.kind == "fusion":
        return dataclasses.replace(spec, parts=tuple({**d, "crop": crop_to} if d["kind"] == "rgb" else d
                                                     for d in spec.parts))
    return spec


def fixed_views(params: Params, name: str, per_class: int | None = None) -> tuple:
    """One centred view (no augmentation) of each training clip, the first `per_class` of each class by clip id
    (all when None), as model `name` reads them: the fixed inputs of the learnability check. Returns (x, y):
    x a tensor, or for a fusion model the pair of the parts' tensors."""
    from src.annotations import read_classes
    classes = read_classes(params.paths.annotations)
    spec = model_spec(name, params.model.size, params.train.crop_to)
    shown = dataclasses.replace(params, evaluate=dataclasses.replace(params.evaluate, num_clips=1, num_crops=1))
    rows = make_dataset(shown, spec, classes, "train").rows.sort_values("clip_id")
    rows = rows.groupby("label").head(per_class) if per_class else rows
    views = make_dataset(shown, spec, classes, "train", rows=rows, train=False)
    items = [views[i][0] for i in range(len(views))]
    if isinstance(items[0], tuple):
        x = tuple(torch.stack([it[k][0] for it in items]) for k in range(2))
    else:
        x = torch.stack([it[0] for it in items])
    return x, torch.tensor(views.labels)


def first_view(x):
    """The first view of one clip's views (a tensor, or the pair of a fusion model's inputs)."""
    return tuple(v[:1] for v in x) if isinstance(x, (tuple, list)) else x[:1]


def _video(frames: np.ndarray) -> torch.Tensor:
    return tv_tensors.Video(torch.from_numpy(frames).permute(0, 3, 1, 2))  # T×C×H×W uint8


def normalize(video, spec: InputSpec) -> torch.Tensor:
    """uint8 T×C×H×W (tensor or array) -> normalised float C×T×H×W, (x/255 - mean)/std.

    In numpy, on one thread: torch's broadcast on the permuted tensor took about 16 ms a clip in the
    training process (its threads compete with the model's), numpy about 0.2 ms.
    """
    x = np.asarray(video, dtype=np.float32).transpose(1, 0, 2, 3)  # C×T×H×W view
    mean = np.asarray(spec.mean, np.float32).reshape(3, 1, 1, 1) * 255
    std = np.asarray(spec.std, np.float32).reshape(3, 1, 1, 1) * 255
    return torch.from_numpy(np.ascontiguousarray((x - mean) / std))


def value_bytes(value) -> int:
    return sum(v.nbytes for v in value) if isinstance(value, tuple) else value.nbytes


def rgb_eval_views(frames: np.ndarray, spec: InputSpec, num_clips: int, num_crops: int) -> torch.Tensor:
    """The test-time views of one stored clip's frames (T×H×W×3, already cropped to the dancer when the
    spec asks), V×C×T×H×W; evaluation and src.predict share this."""
    resize = v2.Resize(spec.size, antialias=True)
    views = []
    for idx in eval_indices(len(frames), spec.num_frames, num_clips):
        video = resize(_video(np.ascontiguousarray(frames[idx])))
        views += [normalize(crop, spec) for crop in spatial_crops(video, spec.size, num_crops)]
    return torch.stack(views)


def pose_eval_views(kps: np.ndarray, detected: np.ndarray, spec: InputSpec, num_clips: int) -> torch.Tensor:
    """The test-time views of one keypoint sequence, V×T×33×4."""
    kps = normalize_pose(kps, detected)
    return torch.stack([torch.from_numpy(kps[idx]) for idx in eval_indices(len(kps), spec.num_frames, num_clips)])


def spatial_crops(video: torch.Tensor, size: int, num_crops: int) -> list[torch.Tensor]:
    """1 crop: centre; 3 crops: both ends and centre of the long side (the usual 3-crop test)."""
    h, w = video.shape[-2:]
    if num_crops == 1:
        return [v2.functional.center_crop(video, [size, size])]
    if w >= h:
        xs, ys = [0, (w - size) // 2, w - size], [(h - size) // 2] * 3
    else:
        xs, ys = [(w - size) // 2] * 3, [0, (h - size) // 2, h - size]
    return [video[..., y:y + size, x:x + size] for x, y in zip(xs, ys)]


def clip_seconds(params: Params) -> float:
    """The median length of the training clips (stored frames over their rate): src.predict scores a longer video
    in windows of this length, the time scale the model learnt."""
    rows = split_rows(pd.read_csv(params.paths.frames / MANIFEST, dtype={"label": str, "reason": str}), "train")
    return round(float((rows["num_frames"] / rows["fps"]).median()), 3)


def split_rows(manifest: pd.DataFrame, split: str) -> pd.DataFrame:
    return manifest[(manifest["status"] == "ok") & (manifest["split"] == split)].reset_index(drop=True)


def load_split_rows(params: Params, kind: str) -> pd.DataFrame:
    """Clips the frame store (and, for pose models, the pose store) holds."""
    rows = pd.read_csv(params.paths.frames / MANIFEST, dtype={"label": str, "reason": str})
    rows = rows[rows["status"] == "ok"]
    if kind == "pose":
        pose = pd.read_csv(params.paths.pose / MANIFEST, dtype={"label": str, "reason": str})
        rows = rows[rows["clip_id"].isin(pose.loc[pose["status"] == "ok", "clip_id"])]
    return rows.reset_index(drop=True)


def warn_missing_classes(rows: pd.DataFrame, classes: list[str], split: str) -> list[str]:
    missing = [c for c in classes if c not in set(rows["label"])]
    if missing:
        msg = f"class(es) with no clips in the {split} split: {', '.join(missing)}; metrics are still computed"
        warnings.warn(msg, stacklevel=2)
        print(f"WARNING: {msg}", file=sys.stderr)
    return missing


def make_dataset(params: Params, spec: InputSpec, classes: list[str], split: str, missing_ok: bool = False,
                 rows: pd.DataFrame | None = None, train: bool | None = None) -> ClipDataset | FusionDataset | None:
    """The one place a split becomes a dataset, for training, validation and test alike.

    train: random views (TSN sampling, resized crop, flip); val and shifted_val (the shifted split's
    validation clips): one centre view per clip; test and shifted (the shifted test split,
    src/prepare/shifted.py): `evaluate.num_clips` x `evaluate.num_crops` views per clip. missing_ok: None
    instead of an error when the split is empty.
    """
    if spec.kind == "fusion":
        from src.learning.checkpoint import spec_from_dict
        rgb, pose = (make_dataset(params, spec_from_dict(part), classes, split, missing_ok, rows, train)
                     for part in spec.parts)
        return FusionDataset(rgb, pose) if rgb is not None and pose is not None else None
    if split in ("shifted", "shifted_val"):
        from src.prepare.shifted import shifted_params
        params = shifted_params(params)
        if not (params.paths.frames / MANIFEST).exists():
            return None
    store_split = {"shifted": "test", "shifted_val": "val"}.get(split, split)
    stored = split_rows(load_split_rows(params, spec.kind), store_split)
    # rows: only these clips of the split (those the store holds for this kind of input)
    rows = stored if rows is None else stored[stored["clip_id"].isin(rows["clip_id"])].reset_index(drop=True)
    if len(rows) == 0 and missing_ok:
        return None
    if split == "train" and params.train.limit_train_clips:
        rows = rows.head(params.train.limit_train_clips)
    warn_missing_classes(rows, classes, split)
    if len(rows) == 0:
        raise RuntimeError(f"no {split} clips: check the frames stage's manifest")
    common = dict(classes=classes, spec=spec, frames_dir=params.paths.frames, pose_dir=params.paths.pose,
                  flip=params.train.flip)
    if split == "train" and train is not False:
        return ClipDataset(rows, train=True, crop_scale=params.train.crop_scale, **common)
    if split in ("val", "shifted_val") or train is False:
        return ClipDataset(rows, train=False, num_clips=1, num_crops=1, **common)
    ev = params.evaluate
    return ClipDataset(rows, train=False, num_clips=ev.num_clips, num_crops=ev.num_crops if spec.kind == "rgb" else 1,
                       **common)
