"""Frame store: size against the trimmed clips, and random training-clip reads per core.

Prints figures for 8 frames at 112x112 (the issue's yardstick) through the same dataset
code training uses, plus the bare decode. Needs `dvc repro frames` first.
"""
from __future__ import annotations

import argparse
import random
import time

import pandas as pd
import torch

from src.annotations import MANIFEST, read_classes
from src.config import load_params
from src.learning.data import ClipDataset, train_indices
from src.prepare.frame_store import ClipFrames
from src.models.registry import InputSpec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clips", type=int, default=300)
    args = ap.parse_args()
    torch.set_num_threads(1)
    p = load_params()
    frames = pd.read_csv(p.paths.frames / MANIFEST)
    clips = pd.read_csv(p.paths.clips / MANIFEST)
    frames, clips = frames[frames.status == "ok"], clips[clips.status == "ok"]
    store, source = int(frames["bytes"].sum()), int(clips["bytes"].sum())
    print(f"store: {len(frames)} clips, {store / 1e6:.2f} MB in {len(frames)} files; trimmed clips "
          f"{source / 1e6:.2f} MB; ratio {store / source:.3f} (target <= 1)")
    rng = random.Random(0)
    paths = [p.paths.frames / f for f in frames["path"]]
    picks = [rng.choice(paths) for _ in range(args.clips)]
    spec = InputSpec(kind="rgb", num_frames=8, size=112)
    ds = ClipDataset(frames.sample(frac=1, random_state=0), read_classes(p.paths.annotations), spec,
                     p.paths.frames, None, train=True)
    t0 = time.perf_counter()
    for path in picks:
        clip = ClipFrames(path)
        out = ds.random_crop_flip(clip.frames(train_indices(len(clip), 8, rng)), rng)
    dt = time.perf_counter() - t0
    print(f"read (8 random frames decoded, random crop to {out.shape[1]}x{out.shape[2]} uint8): "
          f"{args.clips / dt:.0f} clips/s on one core ({1000 * dt / args.clips:.2f} ms/clip; target >= 200)")
    n = min(args.clips, len(ds))
    t0 = time.perf_counter()
    for i in range(n):
        x, _ = ds[i]
    dt = time.perf_counter() - t0
    print(f"training sample (the above + float conversion and normalisation, {tuple(x.shape)}): "
          f"{n / dt:.0f} clips/s on one core")


if __name__ == "__main__":
    main()
