"""Media helpers: the bundled ffmpeg binary and stream probing through PyAV.

imageio-ffmpeg ships an ffmpeg binary in its wheel, so no system ffmpeg is
needed; it ships no ffprobe, so probing goes through PyAV's libav instead.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import av


@functools.lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    import imageio_ffmpeg
    return imageio_ffmpeg.get_ffmpeg_exe()


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
            if st.duration is not None and st.time_base is not None:
                duration = float(st.duration * st.time_base)
            elif container.duration:
                duration = container.duration / 1_000_000
            else:
                duration = 0.0
            frames = st.frames or int(round(duration * fps))
            return VideoInfo(st.codec_context.width, st.codec_context.height, fps, duration, frames,
                             st.codec_context.name)
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
