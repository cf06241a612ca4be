"""Predict the action in new videos with a trained model.

    python -m src.predict VIDEO [--model models/model.safetensors] [--start S] [--end E | --duration D]
                                [--top-k 5] [--num-clips N] [--json] [--save-clip PATH]
    python -m src.predict FOLDER_OR_VIDEOS... --output predictions.csv

The video goes through the pipeline's own steps (trim -> frame store -> pose for pose
models) with the settings stored in the checkpoint, in a temporary folder that is
removed afterwards; `--save-clip` keeps the trimmed clip. Scores of several temporal
views are averaged, as in evaluation.

A segment longer than the clips the model was trained on (a one-hour class, say) is
scored in `--num-clips` windows of that length spread evenly over it, each cut by
seeking in the file and scored on its own, so memory is bounded by one window
whatever the video's length; their probabilities are averaged.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".mov", ".webm")
# 8K UHD: a larger frame is decoded at full size before the pipeline shrinks it to frames.short_side, which only
# costs memory (a served model would take it from any request)
MAX_PIXELS = 7680 * 4320
MAX_CLIPS = 300  # --num-clips: a long segment's windows are cut and scored one by one (0.2-1.5 s each on 2 cores)
WINDOW_SECONDS = 10.0  # a checkpoint that does not record its training clips' length: a Kinetics clip's


class PredictError(RuntimeError):
    """A bad input: printed as one line, exit status 2."""


@dataclass
class Prediction:
    video: str
    top: list            # [(class, probability)] best first
    probabilities: dict  # every class
    start: float
    end: float
    detection_rate: float | None = None
    windows: int = 1     # windows of a long segment scored (1: the whole segment, as evaluation)

    def as_dict(self) -> dict:
        out = dict(video=self.video, start=self.start, end=self.end,
                   top=[dict(label=c, probability=round(p, 6)) for c, p in self.top],
                   probabilities={c: round(p, 6) for c, p in self.probabilities.items()})
        if self.windows > 1:
            out["windows"] = self.windows
        if self.detection_rate is not None:
            out["pose_detection_rate"] = round(self.detection_rate, 4)
        return out


class Predictor:
    """Loads a checkpoint once; `predict(video)` runs trim -> frames -> (pose) -> model."""

    def __init__(self, checkpoint: str | Path, num_clips: int = 1, num_crops: int = 1):
        import torch

        from src.learning.checkpoint import load_checkpoint
        from src.config import Frames, Pose, Trim
        torch.set_num_threads(max(1, torch.get_num_threads()))
        self.model, self.spec, self.meta = load_checkpoint(checkpoint)
        cfg = self.meta.get("config", {})
        if not all(k in cfg for k in ("trim", "frames", "pose")):
            raise PredictError(f"checkpoint {checkpoint} does not record its preprocessing (written by an older "
                               f"version): retrain it with this version")
        self.trim = Trim(**{**cfg["trim"], "workers": 1})
        self.frames = Frames(**{**cfg["frames"], "workers": 1})
        self.pose_cfg = Pose(**{**cfg["pose"], "workers": 1})
        self.classes = self.meta["classes"]
        if not 1 <= num_clips <= MAX_CLIPS:
            raise PredictError(f"--num-clips must be between 1 and {MAX_CLIPS} (got {num_clips})")
        self.num_clips, self.num_crops = num_clips, num_crops if self.spec.kind in ("rgb", "fusion") else 1
        # the length of the clips it learnt from: a longer segment is scored in windows of this length
        self.window = float((cfg.get("clip") or {}).get("seconds") or WINDOW_SECONDS)
        self._pose = None

    def _segment(self, video: Path, start: float | None, end: float | None, duration: float | None):
        from src.media import probe
        if not video.exists():
            raise PredictError(f"{video}: no such file")
        if video.suffix.lower() not in VIDEO_EXTENSIONS:
            raise PredictError(f"{video}: unsupported file type {video.suffix or '(none)'}; expected one of "
                               f"{', '.join(VIDEO_EXTENSIONS)}")
        info = probe(video)  # MediaError: zero-byte, unreadable, no video stream
        if info.width * info.height > MAX_PIXELS:
            raise PredictError(f"{video}: frames of {info.width}x{info.height} are larger than the "
                               f"{MAX_PIXELS:,} pixels (8K) read here")
        if info.duration <= 0:
            raise PredictError(f"{video}: the video has no duration")
        s = 0.0 if start is None else float(start)
        if s < 0:
            raise PredictError(f"--start must be >= 0 (got {s})")
        if s >= info.end:
            raise PredictError(f"--start {s:g} is at or past the end of the video ({info.end:.2f} s)")
        e = s + duration if duration is not None else end if end is not None else info.end
        if e <= s:
            raise PredictError(f"--end must be after --start (got start {s:g}, end {e:g})")
        return s, min(e, info.end)

    def predict(self, video: str | Path, start=None, end=None, duration=None, top_k: int = 5,
                save_clip: str | Path | None = None) -> Prediction:
        from tqdm import tqdm
        video = Path(video)
        s, e = self._segment(video, start, end, duration)
        windows = self._windows(s, e)
        probs, found = [], []
        bar = tqdm(windows, desc="windows", unit="window", leave=False, disable=len(windows) < 2, file=sys.stderr)
        for i, (ws, we, views) in enumerate(bar):
            p, rate = self._score_window(video, ws, we, views, save_clip if i == 0 else None)
            probs.append(p)
            if rate is not None:
                found.append(rate)
        probs = np.mean(probs, axis=0)
        order = np.argsort(-probs)[:max(1, min(top_k, len(self.classes)))]
        return Prediction(video=str(video), top=[(self.classes[i], float(probs[i])) for i in order],
                          probabilities={c: float(p) for c, p in zip(self.classes, probs)}, start=s, end=e,
                          detection_rate=float(np.mean(found)) if found else None, windows=len(windows))

    def _windows(self, s: float, e: float) -> list[tuple[float, float, int]]:
        """[(start, end, views)]: the whole segment with `num_clips` views when it is no longer than 1.5 training
        clips, else `num_clips` windows of a training clip's length spread evenly over it, one view each."""
        if e - s <= 1.5 * self.window:
            return [(s, e, self.num_clips)]
        starts = np.linspace(s, e - self.window, self.num_clips) if self.num_clips > 1 else [(s + e - self.window) / 2]
        return [(float(a), float(a) + self.window, 1) for a in starts]

    def _score_window(self, video: Path, s: float, e: float, num_views: int, save_clip=None):
        """(class probabilities, pose detection rate or None) of [s, e) of the video, trimmed by seeking."""
        from src.learning.data import crop_box, person_box, pose_eval_views, rgb_eval_views
        from src.learning.evaluate import score_views
        from src.prepare.frame_store import ClipFrames, extract_clip
        from src.prepare.trim import trim_clip
        detection = None
        with tempfile.TemporaryDirectory(prefix="predict-") as tmp:
            clip, stored = Path(tmp) / "clip.mp4", Path(tmp) / "frames.mp4"
            trim_clip(video, clip, s, e, self.trim)
            extract_clip(clip, stored, self.frames)
            frames = ClipFrames(stored)
            rgb_spec, pose_spec = self._parts()
            res = None
            if pose_spec is not None or (rgb_spec is not None and rgb_spec.crop == "person"):
                # the same front-end the pose stage runs: the dancer's track, its keypoints and its box
                res = self._pose_estimator().run(frames.frame(i) for i in range(len(frames)))
                detection = float(res.detected.mean())
            parts = []
            if rgb_spec is not None:
                box = person_box(res.keypoints, res.detected, *frames.shape) if rgb_spec.crop == "person" else None
                parts.append(rgb_eval_views(crop_box(frames.frames(range(len(frames))), box), rgb_spec,
                                            distinct_views(len(frames), rgb_spec.num_frames, num_views),
                                            self.num_crops))
            if pose_spec is not None:
                parts.append(pose_eval_views(res.keypoints, res.detected, pose_spec,
                                             distinct_views(len(frames), pose_spec.num_frames, num_views)))
            views = tuple(v.unsqueeze(0) for v in parts) if len(parts) == 2 else parts[0].unsqueeze(0)
            if save_clip:
                Path(save_clip).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(clip, save_clip)
        return score_views(self.model, views)[0].numpy().astype(float), detection

    def _parts(self):
        """(the RGB input spec or None, the pose input spec or None): a fusion model has both."""
        from src.learning.checkpoint import spec_from_dict
        if self.spec.kind == "fusion":
            rgb, pose = (spec_from_dict(d) for d in self.spec.parts)
            return rgb, pose
        return (self.spec, None) if self.spec.kind == "rgb" else (None, self.spec)

    def _pose_estimator(self):
        if self._pose is None:
            from src.prepare.pose_estimator import PoseEstimator
            self._pose = PoseEstimator(self.pose_cfg)
        return self._pose


def distinct_views(n: int, t: int, num_clips: int) -> int:
    """How many of `num_clips` evaluation windows of t frames out of n differ: more views only repeat frames
    (a 12-frame clip has at most 12 distinct starts), so asking for 1000 costs no more memory than 12."""
    from src.learning.data import eval_indices
    return len({int(i[0]) for i in eval_indices(n, t, min(num_clips, n))})


def keep_native_logs_out() -> None:
    """Descriptor 2 to /dev/null, Python's stderr (errors, warnings, progress bars) to a copy of it: MediaPipe's
    C++ side writes log lines straight to descriptor 2 (`W0000 ... inference_feedback_manager.cc ... Disabling
    support for feedback tensors`), some from its own threads after a call has returned, and GLOG_minloglevel
    does not silence them. The pose stage's workers send descriptor 2 to /dev/null too (src/prepare/pose.py)."""
    sys.stderr.flush()
    sys.stderr = os.fdopen(os.dup(2), "w", buffering=1, errors="backslashreplace")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


def list_videos(inputs: list[str]) -> list[Path]:
    """Expand folders (their video files, sorted) and keep explicit files as given."""
    out = []
    for item in map(Path, inputs):
        if item.is_dir():
            out += sorted(p for p in item.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS)
        else:
            out.append(item)
    return out


def predict_batch(predictor: Predictor, videos: list[Path], output: Path, top_k: int):
    """One CSV row per video (top-k labels and probabilities, or the error); returns (ok, failed)."""
    import pandas as pd
    from tqdm import tqdm

    from src.utils import write_csv
    rows, failed = [], 0
    for video in tqdm(videos, desc="predict", unit="video"):
        row = {"video": str(video)}
        try:
            pred = predictor.predict(video, top_k=top_k)
            for rank, (label, p) in enumerate(pred.top, 1):
                row[f"top{rank}"], row[f"prob{rank}"] = label, round(p, 6)
            if pred.detection_rate is not None:
                row["pose_detection_rate"] = round(pred.detection_rate, 4)
            row["error"] = ""
        except expected_errors() as exc:
            row["error"] = str(exc)
            failed += 1
        rows.append(row)
    k = max([int(c[3:]) for r in rows for c in r if c.startswith("top")] or [1])
    columns = ["video"] + [c for i in range(1, k + 1) for c in (f"top{i}", f"prob{i}")]
    columns += [c for c in ("pose_detection_rate",) if any(c in r for r in rows)] + ["error"]
    write_csv(output, pd.DataFrame(rows, columns=columns))
    return len(rows) - failed, failed


def expected_errors() -> tuple:
    """The errors of a bad input or checkpoint: one line for the user (exit status 2, a 400 when served)."""
    from src.learning.checkpoint import CheckpointError
    from src.media import MediaError
    return (PredictError, MediaError, CheckpointError)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(prog="python -m src.predict", description=__doc__.split("\n\n")[0])
    ap.add_argument("videos", nargs="+", help="a video file, several, or a folder (batch mode)")
    ap.add_argument("--model", default="models/model.safetensors", help="checkpoint (default: models/model.safetensors)")
    ap.add_argument("--start", type=float, help="segment start in seconds (default: 0)")
    end = ap.add_mutually_exclusive_group()
    end.add_argument("--end", type=float, help="segment end in seconds (default: end of video)")
    end.add_argument("--duration", type=float, help="segment length in seconds")
    ap.add_argument("--top-k", type=int, default=5)
    ap.add_argument("--num-clips", type=int, default=1,
                    help=f"temporal views averaged (as evaluate.num_clips); in a segment longer than the training "
                         f"clips, windows of their length spread over it (at most {MAX_CLIPS})")
    ap.add_argument("--num-crops", type=int, default=1, choices=(1, 3))
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--save-clip", metavar="PATH", help="keep the trimmed clip here")
    ap.add_argument("--output", default="predictions.csv", help="batch mode: CSV to write")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.top_k < 1 or not 1 <= args.num_clips <= MAX_CLIPS:
        print(f"error: --top-k must be >= 1 and --num-clips between 1 and {MAX_CLIPS}", file=sys.stderr)
        return 2
    try:
        predictor = Predictor(args.model, args.num_clips, args.num_crops)
        videos = list_videos(args.videos)
        if len(args.videos) == 1 and not Path(args.videos[0]).is_dir():
            pred = predictor.predict(videos[0], args.start, args.end, args.duration, args.top_k, args.save_clip)
            if args.json:
                print(json.dumps(pred.as_dict()))
            else:  # names from a checkpoint and a file name are printed escaped (no terminal control sequences)
                from src.annotations import shown
                windows = f", {pred.windows} windows of {predictor.window:g} s" if pred.windows > 1 else ""
                print(f"{shown(pred.video)} [{pred.start:.2f}-{pred.end:.2f} s{windows}]")
                for label, p in pred.top:
                    print(f"  {p:7.2%}  {shown(label)}")
                if pred.detection_rate is not None:
                    print(f"  (pose found in {pred.detection_rate:.0%} of frames)")
            if pred.detection_rate is not None and pred.detection_rate == 0:
                print("warning: no person was found in any frame; the pose model saw only empty keypoints",
                      file=sys.stderr)
            return 0
        if not videos:
            raise PredictError(f"no video files ({', '.join(VIDEO_EXTENSIONS)}) in {' '.join(args.videos)}")
        ok, failed = predict_batch(predictor, videos, Path(args.output), args.top_k)
        print(f"[predict] {ok} videos ok, {failed} failed; predictions in {args.output}")
        return 0 if ok else 1
    except expected_errors() as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    keep_native_logs_out()  # the command line only: a caller's own stderr (tests, notebooks) is left alone
    sys.exit(main())
