"""Training and evaluation inputs read from the frame and pose stores.

Training takes random temporal windows (random stride and start) and one
random resized crop + flip shared by all frames of a clip (torchvision
transforms v2 on a Video tensor); evaluation takes `num_clips` evenly spaced
windows x `num_crops` crops, whose scores are averaged.
"""
from __future__ import annotations

import random
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset
from torchvision import tv_tensors
from torchvision.transforms import v2

from src.frames import ClipFrames
from src.models.registry import InputSpec
from src.pose import load_pose

# MediaPipe joint pairs (left, right) swapped by a horizontal flip
POSE_FLIP = [(1, 4), (2, 5), (3, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16), (17, 18), (19, 20),
             (21, 22), (23, 24), (25, 26), (27, 28), (29, 30), (31, 32)]
_FLIP_INDEX = list(range(33))
for a, b in POSE_FLIP:
    _FLIP_INDEX[a], _FLIP_INDEX[b] = b, a


def train_indices(n: int, t: int, rng: random.Random) -> np.ndarray:
    """Random temporal window: random stride (as long as the window fits), random start."""
    max_stride = max(1, (n - 1) // max(1, t - 1)) if t > 1 else 1
    stride = rng.randint(1, max_stride)
    span = (t - 1) * stride + 1
    start = rng.randint(0, max(0, n - span))
    idx = start + stride * np.arange(t)
    return np.minimum(idx, n - 1)


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


class ClipDataset(Dataset):
    """Rows of a frames manifest -> (input tensor, label index).

    rgb: C×T×H×W float, normalised; pose: T×33×4 float.
    """

    def __init__(self, rows: pd.DataFrame, classes: list[str], spec: InputSpec, frames_dir: Path,
                 pose_dir: Path | None, train: bool, crop_scale=(0.6, 1.0), flip: bool = True,
                 num_clips: int = 1, num_crops: int = 1):
        self.rows = rows.reset_index(drop=True)
        self.labels = [classes.index(lbl) for lbl in self.rows["label"]]
        self.spec, self.train = spec, train
        self.frames_dir, self.pose_dir = Path(frames_dir), Path(pose_dir) if pose_dir else None
        self.num_clips, self.num_crops, self.flip = num_clips, num_crops, flip
        if spec.kind == "rgb":
            self.crop = v2.RandomResizedCrop((spec.size, spec.size), scale=crop_scale)

    def __len__(self) -> int:
        return len(self.rows)

    def _rng(self, i: int) -> random.Random:
        # torch's generator is seeded per worker and epoch by Lightning: derive from it
        return random.Random(int(torch.randint(0, 2**31 - 1, (1,)).item()) ^ i)

    def __getitem__(self, i: int):
        row = self.rows.iloc[i]
        if self.spec.kind == "pose":
            return self.pose_views(row, i), self.labels[i]
        return self.rgb_views(row, i), self.labels[i]

    # rgb -------------------------------------------------------------------------------------
    def rgb_views(self, row, i: int) -> torch.Tensor:
        clip = ClipFrames(self.frames_dir / row["path"])
        if self.train:
            rng = self._rng(i)
            frames = clip.frames(train_indices(len(clip), self.spec.num_frames, rng))
            return normalize(_video(self.random_crop_flip(frames, rng)), self.spec)
        return rgb_eval_views(clip, self.spec, self.num_clips, self.num_crops)

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
        kps, det = load_pose(self.pose_dir / row["path"].replace(".mp4", ".npz"))
        if not self.train:
            return pose_eval_views(kps, det, self.spec, self.num_clips)
        kps = normalize_pose(kps, det)
        rng = self._rng(i)
        x = kps[train_indices(len(kps), self.spec.num_frames, rng)]
        if self.flip and rng.random() < 0.5:
            x = x[:, _FLIP_INDEX].copy()
            x[:, :, 0] *= -1
        return torch.from_numpy(np.ascontiguousarray(x))


def _video(frames: np.ndarray) -> torch.Tensor:
    return tv_tensors.Video(torch.from_numpy(frames).permute(0, 3, 1, 2))  # T×C×H×W uint8


def normalize(video: torch.Tensor, spec: InputSpec) -> torch.Tensor:
    """uint8 T×C×H×W -> normalised float C×T×H×W ((x/255 - mean)/std, in two in-place passes)."""
    x = video.permute(1, 0, 2, 3).float()
    mean = torch.tensor(spec.mean).view(3, 1, 1, 1) * 255
    std = torch.tensor(spec.std).view(3, 1, 1, 1) * 255
    return x.sub_(mean).div_(std)


def rgb_eval_views(clip: ClipFrames, spec: InputSpec, num_clips: int, num_crops: int) -> torch.Tensor:
    """The test-time views of one stored clip, V×C×T×H×W (evaluation and src.predict share this)."""
    resize = v2.Resize(spec.size, antialias=True)
    views = []
    for idx in eval_indices(len(clip), spec.num_frames, num_clips):
        video = resize(_video(clip.frames(idx)))
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


def split_rows(manifest: pd.DataFrame, split: str) -> pd.DataFrame:
    return manifest[(manifest["status"] == "ok") & (manifest["split"] == split)].reset_index(drop=True)
