"""Tiny real inputs: short mp4 files written by the bundled ffmpeg, tiny params."""
from __future__ import annotations

import copy
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

from src.config import params_from_dict
from src.media import ffmpeg_exe

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("GLOG_minloglevel", "2")


def make_video(path: Path, frames: int = 8, size: tuple[int, int] = (32, 32), fps: int = 8,
               audio: bool = False, seed: int = 0) -> Path:
    """Write a real H.264 mp4 of moving noise blocks (optionally with an audio track)."""
    w, h = size
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    cmd = [ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
           "-r", str(fps), "-i", "-"]
    if audio:
        cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={frames / fps}", "-c:a", "aac", "-shortest"]
    cmd += ["-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)]
    data = b"".join(np.roll(base, 2 * i, axis=1).tobytes() for i in range(frames))
    subprocess.run(cmd, input=data, check=True)
    return path


def _pattern(size: str, rate: str) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration=2"]


H264 = ["-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-pix_fmt", "yuv420p"]
# the containers, codecs and timings users' own folders hold: name -> ffmpeg output arguments
CONTAINERS = {
    "h264_1080p.avi": [*_pattern("1920x1080", "30"), *H264],  # NTU RGB+D's format: B-frames in an AVI
    "xvid.avi": [*_pattern("160x120", "25"), "-c:v", "mpeg4", "-vtag", "XVID"],
    "h264.mkv": [*_pattern("160x120", "25"), *H264],
    "h264.mov": [*_pattern("160x120", "25"), *H264],
    "vp9.webm": [*_pattern("160x120", "25"), "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"],
    "ntsc_29.97fps.mp4": [*_pattern("160x120", "30000/1001"), *H264],
    "12.5fps.mp4": [*_pattern("160x120", "12.5"), *H264],
    # variable frame rate: 3 frames of every 7 kept, each at its own time
    "vfr.mkv": [*_pattern("160x120", "30"), "-vf", "select='lt(mod(n\\,7)\\,3)'", "-fps_mode", "vfr", *H264],
    # a phone's portrait video: stored landscape, shown turned by its rotation metadata
    "rotated.mp4": None,
    # sound from 0 s, the picture from 0.8 s (an audio lead-in, common in downloaded and edited videos)
    "late_video.mp4": ["-f", "lavfi", "-i", "sine=duration=2.8", "-itsoffset", "0.8", *_pattern("160x120", "25"),
                       "-map", "1:v", "-map", "0:a", *H264, "-c:a", "aac"],
}


def make_container(folder: Path, name: str) -> Path:
    """Write CONTAINERS[name] (2 s of ffmpeg's test pattern) into folder."""
    out = folder / name
    run = [ffmpeg_exe(), "-y", "-loglevel", "error", "-nostdin"]
    if name == "rotated.mp4":
        plain = make_container(folder, "h264.mov")
        subprocess.run([*run, "-display_rotation", "90", "-i", str(plain), "-c", "copy", str(out)], check=True)
    else:
        subprocess.run([*run, *CONTAINERS[name], str(out)], check=True)
    return out


def load_profile(name: str = "tiny") -> dict:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    over = yaml.safe_load((ROOT / "tests" / "profiles" / f"{name}.yaml").read_text())
    return merge(raw, over)


def section(name: str, **values):
    """One params section: params.yaml's values (the only defaults there are) with `values` on top."""
    from src.config import SECTIONS
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())[name]
    return SECTIONS[name](**{**raw, **values})


def merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


@pytest.fixture
def tiny_params(tmp_path):
    """Tiny profile with every path under tmp_path."""
    raw = load_profile("tiny")
    raw["paths"] = {k: str(tmp_path / v) for k, v in raw["paths"].items()}
    return params_from_dict(raw)


def prepared_profile(name: str, root) -> object:
    """A profile's data stages (fetch to pose) run in-process with every path under root; returns its params."""
    import contextlib
    import io

    from stages import download, fetch, frames, pose, trim
    raw = load_profile(name)
    raw["paths"] = {k: str(root / v) for k, v in raw["paths"].items()}
    params = params_from_dict(raw)
    with contextlib.redirect_stderr(io.StringIO()):
        for stage in (fetch, download, trim, frames, pose):
            stage.main(params)
    return params


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    """The tiny profile's data stages run once; returns its params."""
    return prepared_profile("tiny", tmp_path_factory.mktemp("tiny_data"))


@pytest.fixture
def video(tmp_path):
    return make_video(tmp_path / "in.mp4")


@pytest.fixture(scope="session")
def trained_repo(tmp_path_factory):
    """The tiny profile through every stage with real `dvc repro`, committed as the baseline."""
    from tests.dvc_repo import tiny_repo
    repo = tiny_repo(tmp_path_factory.mktemp("trained_repo"))
    log = repo.dvc("repro")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "baseline run")
    return repo, log
