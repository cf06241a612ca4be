"""Trim stage: exact cut to the annotated segment, resample, rescale, drop audio, validate."""
from __future__ import annotations

import functools
from pathlib import Path

import ffmpeg

from src.config import Trim
from src.errors import machine_error
from src.media import MediaError, ffmpeg_exe, ffmpeg_failure, probe
from src.prepare.runner import run_clips
from src.utils import atomic_path


def trim_clip(src: Path, dest: Path, start: float, end: float, cfg: Trim) -> dict:
    """Cut [start, end) seconds of src into dest; raise MediaError with the reason on bad input."""
    info = probe(src)
    if end <= start:
        raise MediaError(f"empty segment: time_end {end} <= time_start {start}")
    if start >= info.end:
        raise MediaError(f"segment past the end of the video (starts at {start:.2f} s, video ends at "
                         f"{info.end:.2f} s)")
    if end > info.end + 0.5:
        raise MediaError(f"segment past the end of the video (ends at {end:.2f} s, video ends at "
                         f"{info.end:.2f} s)")
    with atomic_path(dest) as tmp:
        try:
            out = _cut(src, tmp, start, end - start, cfg, input_seek=True)
        except MediaError:
            # ffmpeg's fast seek in the input loses every frame of H.264 with B-frames in an AVI (the
            # container keeps no presentation times) when the cut starts in the first group of pictures:
            # the output then has no video stream. Seeking in the output decodes from the start instead
            # (slower, the same frames) and reads every container ffmpeg reads.
            out = _cut(src, tmp, start, end - start, cfg, input_seek=False)
        # times are on the file's clock: a video stream that starts late (after an audio lead-in) gives a
        # shorter cut than asked; a source slower than cfg.fps (1 fps) can miss up to two of its own frames
        expected = min(end, info.end) - max(start, info.start)
        if abs(out.duration - expected) > 2.0 / min(cfg.fps, info.fps or cfg.fps) + 0.1:
            raise MediaError(f"trimmed clip lasts {out.duration:.2f} s, expected {expected:.2f} s")
    return dict(frames=out.frames, width=out.width, height=out.height, duration=round(out.duration, 3),
                bytes=dest.stat().st_size)


def _cut(src: Path, tmp: Path, start: float, seconds: float, cfg: Trim, input_seek: bool):
    """One ffmpeg run: [start, start + seconds) of src at cfg.fps, short side cfg.short_side, no audio."""
    s = cfg.short_side
    # keep aspect ratio, short side = s, both sides even for H.264
    scale = f"scale='if(lte(iw,ih),{s},-2)':'if(lte(iw,ih),-2,{s})'"
    seek = dict(ss=f"{start:.3f}")
    stream = (ffmpeg.input(str(src), **(seek if input_seek else {}))
              .output(str(tmp), **({} if input_seek else seek), t=f"{seconds:.3f}", vf=f"fps={cfg.fps},{scale}",
                      an=None, vcodec="libx264", preset="veryfast", crf=cfg.crf, pix_fmt="yuv420p",
                      movflags="+faststart", threads=1, f="mp4")
              .global_args("-loglevel", "error", "-nostdin"))
    try:
        stream.run(cmd=ffmpeg_exe(), overwrite_output=True, capture_stdout=True, capture_stderr=True)
    except ffmpeg.Error as exc:
        msg = exc.stderr.decode(errors="replace").strip().splitlines()
        raise ffmpeg_failure(f"ffmpeg: {msg[-1] if msg else 'failed'}", tmp) from exc
    out = probe(tmp)  # MediaError "no video stream" when ffmpeg kept no frame
    if out.frames < 1:
        raise MediaError("trimmed clip has no frames")
    return out


def _trim_one(row: dict, raw_dir: Path, clips_dir: Path, cfg: Trim) -> dict:
    out = dict(clip_id=row["clip_id"], label=row["label"], split=row["split"], path=f"{row['clip_id']}.mp4")
    offset = float(row.get("raw_offset") or 0.0)  # raw file may itself start at the segment
    try:
        info = trim_clip(raw_dir / row["path"], clips_dir / out["path"], float(row["time_start"]) - offset,
                         float(row["time_end"]) - offset, cfg)
        return {**out, **info, "status": "ok", "reason": ""}
    except (MediaError, OSError) as exc:
        if machine_error(exc):  # a full disk ends the stage, never recorded as a failed clip
            raise
        return {**out, "status": "failed", "reason": str(exc)[:300], "bytes": 0}


def trim_all(rows: list[dict], raw_dir: Path, clips_dir: Path, cfg: Trim, compute=None):
    fn = functools.partial(_trim_one, raw_dir=raw_dir, clips_dir=clips_dir, cfg=cfg)
    return run_clips(fn, rows, clips_dir, cfg.workers, "trim", compute=compute)
