"""Media helpers: the bundled ffmpeg binary and stream probing through PyAV.

imageio-ffmpeg ships an ffmpeg binary in its wheel, so no system ffmpeg is
needed; it ships no ffprobe, so probing goes through PyAV's libav instead.
"""
from __future__ import annotations

import functools
import errno
import itertools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import av
import numpy as np


@functools.lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    import imageio_ffmpeg
    return imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg_on_path() -> str:
    """Put the bundled binary on PATH as `ffmpeg` (a symlink in the user cache) and return its folder.

    yt-dlp decides whether it can cut sections by looking for `ffmpeg` on PATH,
    ignoring `ffmpeg_location`, so the binary must be findable under that name.
    """
    folder = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "video-action-pipeline" / "bin"
    link = folder / "ffmpeg"
    if not (link.exists() and os.path.realpath(link) == os.path.realpath(ffmpeg_exe())):
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".ffmpeg-{os.getpid()}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(ffmpeg_exe())
        os.replace(tmp, link)
    if str(folder) not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = f"{folder}{os.pathsep}{os.environ.get('PATH', '')}"
    return str(folder)


class MediaError(RuntimeError):
    """A file is not a usable video; the message is the reason recorded in manifests."""


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    duration: float
    frames: int
    codec: str
    start: float = 0.0  # where the video stream begins on the file's clock (after an audio lead-in, say)

    @property
    def end(self) -> float:
        """Where the video stream ends on the file's clock, the time ffmpeg's -ss and -t count in."""
        return self.start + self.duration


def probe(path: str | Path) -> VideoInfo:
    """Describe the first video stream, or raise MediaError with a short reason."""
    path = Path(path)
    if not path.exists():
        raise MediaError("file not found")
    if path.stat().st_size == 0:
        raise MediaError("zero-byte file")
    try:
        with av.open(str(path)) as container:
            streams = container.streams.video
            if not streams:
                raise MediaError("no video stream")
            st = streams[0]
            fps = float(st.average_rate or st.guessed_rate or 0)
            start = 0.0
            if st.start_time is not None and st.time_base is not None:
                start = max(0.0, float(st.start_time * st.time_base) - (container.start_time or 0) / 1_000_000)
            if st.duration is not None and st.time_base is not None:
                duration = float(st.duration * st.time_base)
            elif container.duration:
                duration = max(0.0, container.duration / 1_000_000 - start)
            else:
                duration = 0.0
            frames = st.frames or int(round(duration * fps))
            return VideoInfo(st.codec_context.width, st.codec_context.height, fps, duration, frames,
                             st.codec_context.name, round(start, 6))
    except MediaError:
        raise
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise MediaError(f"unreadable video: {exc}") from exc


def decode_frames(path: str | Path):
    """Yield every frame of the first video stream as an RGB uint8 array."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise MediaError("no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                yield frame.to_ndarray(format="rgb24")
    except MediaError:
        raise
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise MediaError(f"decode error: {exc}") from exc


def ffmpeg_failure(message: str, path: str | Path) -> Exception:
    """ffmpeg's last error line as an exception: OSError (with its errno and the path it wrote) when the disk
    is full or read-only, so the stage ends with one line (src/errors.py) instead of failing every clip."""
    for code in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
        if os.strerror(code) in message:
            return OSError(code, os.strerror(code), str(path))
    return MediaError(message)


def encode_h264(path: str | Path, frames_rgb: Iterable[np.ndarray], fps: float, crf: int) -> int:
    """Encode RGB frames to an H.264 mp4 through the bundled ffmpeg (single-threaded x264), atomically;
    returns bytes written.

    Not PyAV's encoder: measured here, its libx264 output changed from run to run for the same frames,
    which broke "predict equals evaluate"; the ffmpeg binary gives the same bytes every time.
    """
    import subprocess

    from src.utils import atomic_path
    frames = iter(frames_rgb)
    first = next(frames, None)
    if first is None:
        raise MediaError("no frames to encode")
    h, w = first.shape[:2]
    path = Path(path)
    with atomic_path(path) as tmp:
        cmd = [ffmpeg_exe(), "-y", "-loglevel", "error", "-nostdin", "-f", "rawvideo", "-pix_fmt", "rgb24",
               "-s", f"{w}x{h}", "-r", f"{fps:.4f}", "-i", "-", "-c:v", "libx264", "-preset", "veryfast",
               "-crf", str(crf), "-pix_fmt", "yuv420p", "-threads", "1", "-f", "mp4", str(tmp)]
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            for img in itertools.chain([first], frames):
                proc.stdin.write(np.ascontiguousarray(img, dtype=np.uint8).tobytes())
            proc.stdin.close()
        except BrokenPipeError:
            pass
        err = proc.stderr.read().decode(errors="replace").strip()
        if proc.wait() != 0:
            raise ffmpeg_failure(f"ffmpeg encode failed: {err.splitlines()[-1] if err else proc.returncode}", path)
    return path.stat().st_size


def uniform_indices(n: int, k: int) -> np.ndarray:
    """k indices spread evenly over n items (all of them when n <= k)."""
    if n <= k:
        return np.arange(n)
    return np.round(np.linspace(0, n - 1, k)).astype(int)
