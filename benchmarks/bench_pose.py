"""The pose front-end: its cost per clip against MediaPipe alone, and how well it finds and follows the dancer.

Rendered clips (the synthetic source's main and shifted styles, with their bystanders), resized to the frame
store's size, where the renderer says where the labelled dancer is. Per style and front-end:

- `mediapipe`: MediaPipe Pose on the whole frame, tracking mode (the front-end before issue 18);
- `segmenter`: the PoseEstimator with `pose.motion_cue: false` (person segmentation, one track per clip, pose
  on the isolated, enlarged dancer: the front-end before issue 25);
- `motion`: the pose stage's PoseEstimator as configured (the segmenter's people that move, after undoing
  the camera's shift; the moving region where those give too few poses; the segmenter alone where the camera
  moves more than a shift);

the share of frames with a pose, the share of those whose hips lie on the labelled dancer, and ms per frame
(one core; the front-ends take turns clip by clip, so a slower minute of the machine costs them alike). Styles:
`train` (the main data's), `shifted` (the shifted split's) and `panning` (the shifted style filmed by a camera
that zooms and slides: the motion cue's fallback); `--stored` adds the pose stage's own validation clips from
the frame store (main and shifted, after `dvc repro`). `--detectors` also compares the person detectors the
front-end could have used, by the share of frames where one of their detections lies on the dancer.

`--real` runs instead on the real-footage set (assets/real: people filmed in crowds, on courts, in rooms, near
and far, handheld and still; its README names each clip's source and licence), each clip through the pipeline's
own trim and frame store (trim.fps, frames.short_side, frames.max_frames): per clip the share of frames with a
pose from MediaPipe alone and from the front-end, and the front-end's cost against MediaPipe alone (no truth:
on real footage "found" is all there is to compare).

    python -m benchmarks.bench_pose [--clips 24] [--detectors] [--stored]
    python -m benchmarks.bench_pose --real [--repeat 1]
"""
from __future__ import annotations

import argparse
import dataclasses
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

from src.config import load_params
from src.prepare.frame_store import resize_short_side
from src.prepare.people import in_boxes
from src.prepare.pose_estimator import PoseEstimator
from src.sources.cartoon import CLASSES, STYLES, scene


def rendered(style: str, clips: int, frames: int, short: int, seed: int = 7):
    """(frames RGB at the store's size, the dancer's box per frame) of `clips` rendered clips."""
    out = []
    for i in range(clips):
        walk = list(scene(CLASSES[i % len(CLASSES)], f"bench-{style}-{i}", seed, 3.0, 256, 192, 8, style))
        keep = np.linspace(0, len(walk) - 1, frames).round().astype(int)
        out.append(([resize_short_side(cv2.cvtColor(walk[k][0], cv2.COLOR_BGR2RGB), short) for k in keep],
                    np.array([walk[k][1] for k in keep])))
    return out


def stored(params, split: str, clips: int):
    """(frames, dancer boxes) of the first `clips` clips of `split` in the frame store the pose stage reads (after
    `dvc repro`: the stage's own clips, H.264-coded, trimmed and resized), `clips` // 8 per class."""
    from src.annotations import read_annotations, read_ok
    from src.prepare.frame_store import ClipFrames
    from src.sources.synthetic import stored_dancer_boxes
    annotations = read_annotations(params.paths.annotations).set_index("clip_id").to_dict("index")
    rows = read_ok(params.paths.frames)
    rows = rows[rows["split"] == split].groupby("label").head(max(1, clips // 8))
    out = []
    for row in rows.to_dict("records"):
        clip = ClipFrames(params.paths.frames / row["path"])
        frames = [clip.frame(i) for i in range(len(clip))]
        out.append((frames, stored_dancer_boxes(params, {**annotations[row["clip_id"]], "label": row["label"]},
                                                len(frames))))
    return out


def on_box(points, boxes) -> list[bool]:
    """Per frame: a point (None where there is none) on the dancer's box (src/prepare/people.py: in_boxes)."""
    return [p is not None and bool(in_boxes(p, b)[0]) for p, b in zip(points, boxes)]


def mediapipe_pose(cfg):
    """MediaPipe Pose alone, with the pose stage's settings (cfg: params.pose)."""
    import mediapipe as mp
    return mp.solutions.pose.Pose(static_image_mode=cfg.static_image_mode, model_complexity=cfg.model_complexity,
                                  min_detection_confidence=cfg.min_detection_confidence,
                                  min_tracking_confidence=cfg.min_tracking_confidence)


def mediapipe_alone(pose, frames):
    hips = []
    for img in frames:
        res = pose.process(img)
        lm = res.pose_landmarks.landmark if res.pose_landmarks else None
        hips.append(None if lm is None else ((lm[23].x + lm[24].x) / 2, (lm[23].y + lm[24].y) / 2))
    pose.reset()
    return hips


REAL = Path(__file__).resolve().parents[1] / "assets" / "real"


def real_clips(params, folder: Path = REAL, only: list | None = None) -> dict:
    """{clip name: its frames as the pose stage reads them}: each video of `folder` (or those named in `only`)
    trimmed whole and stored with the pipeline's own settings (params.trim, params.frames), in a temporary
    folder."""
    import tempfile

    from src.media import probe
    from src.prepare.frame_store import ClipFrames, extract_clip
    from src.prepare.trim import trim_clip
    from src.sources.folder import VIDEO_EXTS
    out = {}
    with tempfile.TemporaryDirectory(prefix="bench-real-") as tmp:
        for video in sorted(p for p in folder.iterdir()
                            if p.suffix.lower() in VIDEO_EXTS and (only is None or p.stem in only)):
            clip, stored_clip = Path(tmp) / "clip.mp4", Path(tmp) / "frames.mp4"
            trim_clip(video, clip, 0.0, probe(video).end, params.trim)
            extract_clip(clip, stored_clip, params.frames)
            frames = ClipFrames(stored_clip)
            out[video.stem] = [frames.frame(i) for i in range(len(frames))]
    return out


def real(params, repeat: int) -> None:
    """Per real clip: poses found by MediaPipe alone and by the front-end, and the front-end's cost."""
    clips = real_clips(params)
    alone = mediapipe_pose(params.pose)
    front = PoseEstimator(params.pose)
    first = next(iter(clips.values()))
    front.run(first), mediapipe_alone(alone, first)  # warm-up
    print(f"{len(clips)} real clips, {params.frames.max_frames} frames each at {params.frames.short_side} px "
          f"({params.trim.fps} fps before the frame store's sampling)\n")
    print("| clip | frames | MediaPipe alone | front-end | difference | cue | x MediaPipe |")
    print("|---|---|---|---|---|---|---|")
    found_a, found_f, sec_a, sec_f = [], [], 0.0, 0.0
    for name, frames in clips.items():
        ta = tf = 0.0
        for _ in range(repeat):  # alternate, so a slower minute of the machine costs both alike
            t0 = time.perf_counter()
            hips = mediapipe_alone(alone, frames)
            ta += time.perf_counter() - t0
            t0 = time.perf_counter()
            res = front.run(frames)
            tf += time.perf_counter() - t0
        a = sum(h is not None for h in hips) / len(frames)
        f = float(res.detected.mean())
        found_a.append(a), found_f.append(f)
        sec_a, sec_f = sec_a + ta, sec_f + tf
        print(f"| {name} | {len(frames)} | {a:.2f} | {f:.2f} | {100 * (f - a):+.0f} | {res.cue} | {tf / ta:.2f} |")
    worst = min(100 * (f - a) for a, f in zip(found_a, found_f))
    print(f"| **mean over {len(clips)}** | | **{np.mean(found_a):.3f}** | **{np.mean(found_f):.3f}** | "
          f"worst {worst:+.0f} | | **{sec_f / sec_a:.2f}** |")


def detectors(data, rows: list) -> None:
    """Person detectors: does one of their detections lie on the dancer, and at what cost."""
    import mediapipe as mp

    from src.prepare.person_detector import PersonDetector
    from src.prepare.people import find_people
    blaze = PersonDetector()
    face = mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5)
    seg = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=1)
    hog = cv2.HOGDescriptor()
    hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())

    def centre(b):
        return ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)

    def run(name, img):
        h, w = img.shape[:2]
        if name == "BlazePose detector":
            return [p.hip for p in blaze.detect(img)]
        if name == "face detector (full range)":
            dets = face.process(img).detections or []
            return [centre((d.location_data.relative_bounding_box.xmin, d.location_data.relative_bounding_box.ymin,
                            d.location_data.relative_bounding_box.xmin + d.location_data.relative_bounding_box.width,
                            d.location_data.relative_bounding_box.ymin + d.location_data.relative_bounding_box.height))
                    for d in dets]
        if name == "HOG people (2x upscaled)":
            rects, _ = hog.detectMultiScale(cv2.resize(img, (2 * w, 2 * h)), winStride=(8, 8))
            return [((x + rw / 2) / (2 * w), (y + rh / 2) / (2 * h)) for x, y, rw, rh in rects]
        return [centre(p[:4]) for p in find_people(seg.process(img).segmentation_mask > 0.5)]

    print(f"\n{'style':8} {'detector':28} {'dancer found':>12} {'detections/frame':>16} {'ms/frame':>9}")
    for style, clips in data.items():
        for name in ("BlazePose detector", "face detector (full range)", "HOG people (2x upscaled)",
                     "selfie segmentation"):
            hits = n = found = 0
            t0 = time.perf_counter()
            for frames, boxes in clips:
                for img, box in zip(frames, boxes):
                    points = run(name, img)
                    hits += any(on_box([p], [box])[0] for p in points)
                    found += len(points)
                    n += 1
            ms = 1000 * (time.perf_counter() - t0) / n
            print(f"{style:8} {name:28} {hits / n:12.3f} {found / n:16.2f} {ms:9.1f}")
            rows.append(dict(style=style, detector=name, found=hits / n, ms=ms))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=24, help="clips per style")
    ap.add_argument("--detectors", action="store_true", help="also compare the person detectors")
    ap.add_argument("--stored", action="store_true",
                    help="also the pose stage's own stored validation clips (main and shifted; after dvc repro)")
    ap.add_argument("--real", action="store_true", help="the real-footage set (assets/real) instead")
    ap.add_argument("--repeat", type=int, default=1, help="--real: runs per clip and front-end, for timing")
    args = ap.parse_args()
    p = load_params()
    import torch
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    if args.real:
        return real(p, args.repeat)
    data = {style: rendered(style, args.clips, p.frames.max_frames, p.frames.short_side) for style in STYLES}
    if args.stored:
        from src.prepare.shifted import shifted_params
        data["stored"] = stored(p, "val", 8 * args.clips // 3)
        data["stored-shifted"] = stored(shifted_params(p), "val", 8 * args.clips // 3)
    estimators = {"segmenter": PoseEstimator(dataclasses.replace(p.pose, motion_cue=False)),
                  "motion": PoseEstimator(p.pose)}
    alone = mediapipe_pose(p.pose)
    for est in estimators.values():  # warm-up
        est.run(data["train"][0][0])
    mediapipe_alone(alone, data["train"][0][0])
    print(f"{args.clips} rendered clips per style, {p.frames.max_frames} frames each at {p.frames.short_side} px"
          + (f"; stored: {len(data['stored'])} main and {len(data['stored-shifted'])} shifted validation clips"
             if args.stored else ""))
    print(f"{'style':14} {'front-end':10} {'pose found':>10} {'on dancer':>10} {'ms/frame':>9} {'x MediaPipe':>11}"
          "  clips per cue")
    for style, clips in data.items():
        seconds, found, on, cues = {}, {}, {}, {}
        for frames, boxes in clips:
            for name in ("mediapipe", *estimators):
                t0 = time.perf_counter()
                if name == "mediapipe":
                    hips = mediapipe_alone(alone, frames)
                else:
                    res = estimators[name].run(frames)
                    hips = [tuple(k[[23, 24], :2].mean(0)) if d else None for k, d in zip(res.keypoints, res.detected)]
                    cues.setdefault(name, Counter())[res.cue] += 1
                seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - t0
                found[name] = found.get(name, 0) + sum(h is not None for h in hips)
                on[name] = on.get(name, 0) + sum(on_box(hips, boxes))
        frames_n = sum(len(f) for f, _ in clips)
        for name in seconds:
            ms = 1000 * seconds[name] / frames_n
            print(f"{style:14} {name:10} {found[name] / frames_n:10.3f} {on[name] / max(1, found[name]):10.3f} "
                  f"{ms:9.1f} {seconds[name] / seconds['mediapipe']:11.2f}  "
                  + ", ".join(f"{k}: {v}" for k, v in sorted(cues.get(name, {}).items())))
    if args.detectors:
        detectors(data, [])


if __name__ == "__main__":
    main()
