"""Pose stage: find the dancer, follow one person through the clip, and run MediaPipe Pose on them.

The front-end, per clip:

1. **People in every frame**: MediaPipe's selfie segmentation (landscape model, bundled in the wheel) gives a
   person mask; its connected components are the people. Why this detector: on rendered frames with the
   dancer's box known (benchmarks/bench_pose.py --detectors), it found the dancer in 100% of main and 91% of
   shifted frames at 2.5 ms a frame, where MediaPipe's own BlazePose detector (run directly, several people)
   found 70% and 17%, its full-range face detector 89% and 20%, and OpenCV's HOG people detector 30% and 41%:
   the detectors look for faces and people a few hundred pixels tall, the segmenter for a body of any size.
2. **The people that move** (motion as a second cue): each frame's shift against the clip's middle frame is
   measured by phase correlation and undone, and a pixel moves where it differs from the clip's median
   background (`motion_masks`). First cue, `moving_segments`: the segments that move, whole where a good part
   moves, cut to their moving part where they only touch motion (a far dancer merged with the photographed
   cat's ear), dropped where nothing moves (the motorcycle, a bystander standing still). Where those give a
   pose in fewer than RETRY_BELOW of the frames, or poses that hold less than MIN_COVER of the frame's motion,
   the second cue, `moving_region` (everything that moves, and the segmented pixels near it), runs too, with
   Pose re-run on a tighter crop around the person where the first crop finds nobody; the clip keeps
   whichever cue's poses hold more of the motion (`motion_cover`: the dancer is the main mover). Where more
   than MAX_MOVING of the frame moves once the shift is undone (a camera that zooms or pans: a shift cannot
   undo it), the segmenter's people alone, as before the motion cue. On the shifted validation clips this
   found a pose in 81% of frames instead of 74%, on the dancer in 96% instead of 94%; the trials are in
   docs/frontend.md.
3. **One dancer per clip**: the people are linked into tracks from frame to frame (the largest overlap), and
   the clip's dancer is the track that is largest, most present, most central and moves most, judged over
   the whole clip, never frame by frame (`choose_track`).
4. **Pose on that person, isolated and enlarged**: in every frame everything but the tracked person's
   segment (grown by 3% of the frame) is painted in the frame's mean colour, so neither a bystander nor a
   busy background can draw the pose model away; MediaPipe Pose (tracking mode) then reads a square crop
   centred on the person, of one size for the whole clip, resized to POSE_INPUT pixels, so a dancer far away
   fills its input; the landmarks are mapped back to the frame. Where the segmenter finds nobody in the whole
   clip, Pose runs on the whole frame as before. (Painting over only the other people and keeping the
   background found the dancer in 48% of shifted frames instead of 90%; one crop fixed for the whole clip
   in 84%: benchmarks/bench_pose.py, the trials in docs/frontend.md.)
5. **MediaPipe alone where the cues find nobody**: on real footage the cues lose people MediaPipe finds by
   itself (a crowd merged into one segment, a broadcast's cuts, a body without a head). In the frames the cues
   leave empty, Pose runs on the whole frame in tracking mode (`whole_frame`), and its pose is kept unless it
   lies off the front-end's person (`fill_mask`, `bystander`). On the real-footage set (assets/real) this
   found a pose in 81% of frames where MediaPipe alone finds 76% and the cues alone 68%; on the shifted
   validation clips it kept the poses on the dancer (docs/frontend.md).

Per clip the store holds `keypoints` T×33×4 (x, y, z, visibility as fractions of the frame; NaN where no
pose was found) and `detected` (T,) bool, as mmaction2's skeleton layout does, plus `person` (T,), the index
of the tracked person among the people found in each frame (-1 where the track is absent), `people` (T,),
how many people were found, and `confidence` (T,), how sure the pipeline is of the frame: the pose's mean
landmark visibility times the share of the frames in which the track was present. The manifest records each
clip's `cue` (segmenter, moving segments, moving region, or segmenter because the camera was not stabilised).
"""
from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from src.config import ParamError, Pose
from src.prepare.frame_store import ClipFrames
from src.prepare.runner import run_clips
from src.utils import atomic_path

NUM_JOINTS = 33
POSE_INPUT = 256        # side of the square crop around the dancer that Pose reads
MIN_PERSON_AREA = 0.004  # components smaller than this share of the frame are noise, not people
STILL_MOTION = 0.01      # a tracked person whose box moves less than this (track_motion) is not dancing
# the motion cue (chosen on the shifted validation clips: docs/frontend.md)
MOTION_THRESHOLD = 15    # a pixel moves where it differs from the clip's background by more than this (0-255)
MAX_MOVING = 0.2         # more of the frame than this moving (median frame): the camera was not stabilised
NEAR = 0.08              # "near motion": within this share of the frame's long side of a moving blob
MOVING_SHARE = 0.3       # a segment this share of which lies near motion is kept whole
RETRY_BELOW = 0.9        # the moving segments gave a pose in fewer frames than this share: try the moving region
MIN_COVER = 0.5          # ... or their poses hold less than this share of the frame's motion on average
# the fallback (issue 32): MediaPipe alone's pose fills a frame the cues left empty where it lies on the
# front-end's person (its hips in the box, grown by FILL_GROW, of the front-end's nearest pose); in every such
# frame where the cues found a pose in at most FILL_ALL_UP_TO of the clip's frames (they lost the person)
FILL_GROW = 0.25
FILL_ALL_UP_TO = 0.5
WARM_UP = 2  # MediaPipe alone starts this many frames before the first empty one: its tracker's run-up
_ESTIMATOR = None  # one MediaPipe graph per worker process


def _quiet_mediapipe() -> None:
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


LANDMARK_MODELS = {0: "pose_landmark_lite.tflite", 1: "pose_landmark_full.tflite",
                   2: "pose_landmark_heavy.tflite"}


def check_model_available(model_complexity: int) -> None:
    """MediaPipe downloads lite/heavy models on first use; offline that aborts the process.

    Fail early with what to do instead (the 0.10.21 wheel bundles only the full model).
    """
    import mediapipe
    path = Path(mediapipe.__file__).parent / "modules" / "pose_landmark" / LANDMARK_MODELS[model_complexity]
    if not path.exists():
        raise ParamError(f"params.yaml: pose.model_complexity={model_complexity} needs {path.name}, which this "
                         f"mediapipe wheel does not ship; download it to {path} or use "
                         f"pose.model_complexity=1 (bundled)")


@dataclass
class ClipPose:
    keypoints: np.ndarray   # T×33×4
    detected: np.ndarray    # T bool
    person: np.ndarray      # T int: index of the tracked person among the frame's people, -1 if absent
    people: np.ndarray      # T int: people found in the frame
    confidence: np.ndarray  # T float in [0, 1]
    busy: float             # seconds inside MediaPipe
    note: str = ""          # why the clip is doubtful (nobody, somebody only at times, a crowd with no dancer)
    cue: str = ""           # which person mask the poses come from (PoseEstimator.run)
    filled: int = 0         # frames whose pose is MediaPipe alone's on the whole frame (fill_mask)

    def arrays(self) -> dict:
        return dict(keypoints=self.keypoints.astype(np.float32), detected=self.detected.astype(bool),
                    person=self.person.astype(np.int16), people=self.people.astype(np.int16),
                    confidence=self.confidence.astype(np.float32))


def find_people(mask: np.ndarray, labels_out: list | None = None) -> list[tuple]:
    """Person boxes (x0, y0, x1, y1 as fractions of the frame, area share, component label) from a segmentation
    mask's connected components, largest first; labels_out receives the label image."""
    h, w = mask.shape
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if labels_out is not None:
        labels_out.append(labels)
    people = []
    for j in range(1, n):
        x, y, bw, bh, area = stats[j]
        if area / (h * w) >= MIN_PERSON_AREA:
            people.append((x / w, y / h, (x + bw) / w, (y + bh) / h, area / (h * w), j))
    return sorted(people, key=lambda p: -p[4])


def _overlap(a, b) -> float:
    x0, y0, x1, y1 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def link_tracks(people: list[list[tuple]]) -> list[dict[int, int]]:
    """Tracks through the clip: each is {frame: index of its person in that frame}. A person joins the track
    whose latest box it overlaps most (IoU > 0.1), else starts a new one; one person per track and frame."""
    tracks: list[dict[int, int]] = []
    for t, frame in enumerate(people):
        taken = set()
        for i in sorted(range(len(frame)), key=lambda i: -frame[i][4]):
            best, best_iou = None, 0.1
            for k, tr in enumerate(tracks):
                if k in taken:
                    continue
                last = max(tr)
                if t - last > 3:  # a track lost for more than 3 frames is not resumed
                    continue
                iou = _overlap(frame[i], people[last][tr[last]])
                if iou > best_iou:
                    best, best_iou = k, iou
            if best is None:
                tracks.append({t: i})
                taken.add(len(tracks) - 1)
            else:
                tracks[best][t] = i
                taken.add(best)
    return tracks


def track_motion(people: list[list[tuple]], track: dict[int, int]) -> float:
    """How much a tracked person moves: the spread over the clip of its box's centre, width and height
    (fractions of the frame)."""
    if len(track) < 2:
        return 0.0
    b = np.array([people[t][i][:4] for t, i in sorted(track.items())])
    return float(np.std((b[:, 0] + b[:, 2]) / 2) + np.std((b[:, 1] + b[:, 3]) / 2) + np.std(b[:, 2] - b[:, 0])
                 + np.std(b[:, 3] - b[:, 1]))


def choose_track(people: list[list[tuple]], tracks: list[dict[int, int]]) -> int | None:
    """The clip's dancer: over the whole clip, the track that is present most, largest, most central and moves
    most; None when nobody was found."""
    if not tracks:
        return None

    def score(tr: dict[int, int]) -> float:
        boxes = np.array([people[t][i][:4] for t, i in tr.items()])
        area = np.mean([people[t][i][4] for t, i in tr.items()])
        central = 1.0 - min(1.0, abs(float(boxes[:, [0, 2]].mean()) - 0.5) * 1.5)
        return (len(tr) / len(people)) * np.sqrt(area) * (0.25 + central) * (1.0 + 10 * track_motion(people, tr))
    return int(np.argmax([score(tr) for tr in tracks]))


def track_crops(people: list[list[tuple]], track: dict[int, int], width: int, height: int,
                margin: float = 0.25) -> np.ndarray:
    """T×3 (left, top, side) in pixels: a square of one side for the whole clip (around the 10th to 90th
    percentile of the tracked boxes' edges, with a margin, so one bad segmentation does not change it), centred
    on the tracked box of each frame (the nearest frame's where the track is absent)."""
    b = np.array([people[t][i][:4] for t, i in sorted(track.items())]) * [width, height, width, height]
    side = max(np.percentile(b[:, 2], 90) - np.percentile(b[:, 0], 10),
               np.percentile(b[:, 3], 90) - np.percentile(b[:, 1], 10)) * (1 + 2 * margin)
    frames = np.array(sorted(track))
    out = np.zeros((len(people), 3), np.int64)
    for t in range(len(people)):
        x0, y0, x1, y1 = b[int(np.abs(frames - t).argmin())]
        out[t] = (round((x0 + x1 - side) / 2), round((y0 + y1 - side) / 2), max(8, round(side)))
    return out


def isolate(img: np.ndarray, labels: np.ndarray, person: tuple, grow: int) -> np.ndarray:
    """img with everything but the tracked person (its segmented pixels, grown by `grow`) painted in the frame's
    mean colour: the pose model then sees one person, on a plain ground."""
    keep = cv2.dilate((labels == person[5]).astype(np.uint8), np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
    # the mean colour from OpenCV's exact sums (integers), the copy under the mask by OpenCV: the same image
    # as numpy's mean and where, in a third of the time
    fill = (np.array(cv2.sumElems(img)[:3]) / (img.shape[0] * img.shape[1])).astype(np.uint8)
    out = np.empty_like(img)
    out[:] = fill
    cv2.copyTo(img, keep, out)
    return out


def cut(img: np.ndarray, left: int, top: int, side: int, out: int) -> np.ndarray:
    """The square (left, top, side) of img, padded black where it leaves the frame, resized to out×out."""
    h, w = img.shape[:2]
    pad = max(0, -left, -top, left + side - w, top + side - h)
    if pad:
        img = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0))
        left, top = left + pad, top + pad
    return cv2.resize(img[top:top + side, left:left + side], (out, out), interpolation=cv2.INTER_LINEAR)


def stabilise(frames: list) -> list[tuple[float, float]]:
    """Each frame's shift (dx, dy) in pixels against the clip's middle frame: phase correlation on grey levels
    (OpenCV), which measures a camera's translation (the renderer's jitter, a tripod's sway) and nothing else."""
    grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).astype(np.float32) for f in frames]
    h, w = grey[0].shape
    window = cv2.createHanningWindow((w, h), cv2.CV_32F)
    ref = grey[len(grey) // 2]
    return [cv2.phaseCorrelate(ref, g, window)[0] for g in grey]


def motion_masks(frames: list) -> tuple[np.ndarray | None, float]:
    """T×H×W uint8: where each frame differs from the clip's background once the camera's shift is undone, and
    the median share of the frame that does. The background is the per-pixel median of the aligned frames (a
    dancer rarely stays on one pixel for half the clip); `(None, 1.0)` for clips too short to have one.

    Written here rather than with cv2.createBackgroundSubtractorMOG2 because a clip has 12 frames: MOG2 needs
    a warm-up history, where a median over the whole (stored, already decoded) clip needs none."""
    if len(frames) < 3:
        return None, 1.0
    h, w = frames[0].shape[:2]
    shifts = stabilise(frames)
    aligned = np.stack([cv2.warpAffine(f, np.float32([[1, 0, -dx], [0, 1, -dy]]), (w, h),
                                       borderMode=cv2.BORDER_REPLICATE) for f, (dx, dy) in zip(frames, shifts)])
    # the median is the mean of the middle two frames (of the middle one twice, for an odd count): twice it,
    # in integers, is compared with twice each frame (the pixels of numpy's float median, at a third of the cost)
    middle = np.partition(aligned, ((len(aligned) - 1) // 2, len(aligned) // 2), axis=0)
    twice = middle[(len(aligned) - 1) // 2].astype(np.int16) + middle[len(aligned) // 2]
    moving = (np.abs(2 * aligned.astype(np.int16) - twice).max(-1) > 2 * MOTION_THRESHOLD).astype(np.uint8)
    out = np.stack([cv2.morphologyEx(cv2.warpAffine(m, np.float32([[1, 0, dx], [0, 1, dy]]), (w, h),
                                                    flags=cv2.INTER_NEAREST), cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
                    for m, (dx, dy) in zip(moving, shifts)])
    return out, float(np.median(out.reshape(len(out), -1).mean(1)))


def _near(motion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(motion closed into blobs, the pixels within NEAR of it)."""
    g = max(1, int(round(NEAR * max(motion.shape))))
    blobs = cv2.morphologyEx(motion, cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8))
    return blobs > 0, cv2.dilate(blobs, np.ones((2 * g + 1, 2 * g + 1), np.uint8)) > 0


def moving_segments(seg: np.ndarray, motion: np.ndarray) -> np.ndarray:
    """The first cue: the segmenter's people that move. A segment at least MOVING_SHARE of which lies near
    motion is kept whole (a dancer's torso stands still while the limbs move); one that only touches motion is
    cut to its moving part (a far dancer merged with the photographed cat's ear); one that does not move is
    dropped (the motorcycle's tank, a bystander standing still). Where no segment moves, the moving blobs."""
    blobs, near = _near(motion)
    n, labels = cv2.connectedComponents(seg.astype(np.uint8), connectivity=8)
    keep = np.zeros_like(seg)
    for j in range(1, n):
        comp = labels == j
        moving = comp & near
        keep |= comp if moving.sum() >= MOVING_SHARE * comp.sum() else moving
    return keep if keep.mean() >= MIN_PERSON_AREA else blobs


def moving_region(seg: np.ndarray, motion: np.ndarray) -> np.ndarray:
    """The second cue, for clips where the segmenter missed the dancer: everything that moves (closed into
    blobs) and the segmented pixels near it."""
    blobs, near = _near(motion)
    return blobs | (seg & near)


def motion_cover(kps: np.ndarray, motion: np.ndarray) -> float:
    """Summed over the frames with a pose: the share of the frame's motion inside the pose's box (grown by 15%).
    The dancer is the clip's main mover, so a pose on it holds most of the motion, one on a bystander little."""
    T, h, w = motion.shape
    total = 0.0
    for t in np.nonzero(~np.isnan(kps[:, 0, 0]))[0]:
        (x0, y0), (x1, y1) = np.nanmin(kps[t, :, :2], 0), np.nanmax(kps[t, :, :2], 0)
        mx, my = 0.15 * (x1 - x0), 0.15 * (y1 - y0)
        c0, c1 = int(max(0, (x0 - mx) * w)), int(min(w, (x1 + mx) * w) + 1)
        r0, r1 = int(max(0, (y0 - my) * h)), int(min(h, (y1 + my) * h) + 1)
        moving = motion[t].sum()
        total += float(motion[t][r0:r1, c0:c1].sum() / moving) if moving else 1.0
    return total


def track_people(masks: list) -> tuple[list, list, list, int | None]:
    """(people per frame, their label images, the tracks, the chosen track's index) from person masks."""
    labels: list = []
    people = [find_people(m, labels) for m in masks]
    tracks = link_tracks(people)
    return people, labels, tracks, choose_track(people, tracks)


@dataclass
class Followed:
    """One pass of the front-end over a clip: the people, the chosen track and the poses found on it."""
    people: list
    tracks: list
    chosen: int | None
    keypoints: np.ndarray

    @property
    def found(self) -> int:
        return int((~np.isnan(self.keypoints[:, 0, 0])).sum())


class PoseEstimator:
    """Segmenter + motion + tracker + MediaPipe Pose; `run(frames)` returns a ClipPose for one clip's frames."""

    def __init__(self, cfg: Pose):
        _quiet_mediapipe()
        check_model_available(cfg.model_complexity)
        import mediapipe as mp
        self.cfg = cfg
        self.pose = mp.solutions.pose.Pose(
            static_image_mode=cfg.static_image_mode, model_complexity=cfg.model_complexity,
            min_detection_confidence=cfg.min_detection_confidence,
            min_tracking_confidence=cfg.min_tracking_confidence)
        self.segmenter = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=1)

    def _landmarks(self, img: np.ndarray):
        res = self.pose.process(img)
        if res.pose_landmarks is None:
            return None
        return np.array([(p.x, p.y, p.z, p.visibility) for p in res.pose_landmarks.landmark], np.float32)

    def _crop_pose(self, img, left: int, top: int, side: int):
        """Landmarks of the square (left, top, side) of img, in frame fractions; None where Pose finds nobody."""
        h, w = img.shape[:2]
        lm = self._landmarks(cut(img, left, top, side, POSE_INPUT))
        if lm is not None:
            lm[:, 0] = (left + lm[:, 0] * side) / w
            lm[:, 1] = (top + lm[:, 1] * side) / h
            lm[:, 2] = lm[:, 2] * side / w
        return lm

    def follow(self, frames: list, masks: list, retry: bool = False) -> Followed:
        """People from each frame's person mask, one track for the clip, and Pose on that person isolated and
        enlarged (a crop of one size for the clip). retry: where that crop finds nobody, Pose reads a crop
        around the person's own box of the frame, tighter, and keeps it only if its hips lie in that box."""
        h, w = frames[0].shape[:2]
        people, labels, tracks, chosen = track_people(masks)
        kps = np.full((len(frames), NUM_JOINTS, 4), np.nan, np.float32)
        if chosen is None:
            return Followed(people, tracks, None, kps)
        track = tracks[chosen]
        crops = track_crops(people, track, w, h)
        grow = max(2, int(round(0.03 * max(h, w))))
        for t, img in enumerate(frames):
            if t in track:  # only the tracked person stays; a frame without it is read as it is
                img = isolate(img, labels[t], people[t][track[t]], grow)
            lm = self._crop_pose(img, *crops[t])
            if lm is None and retry and t in track:
                box = people[t][track[t]][:4]
                x0, y0, x1, y1 = np.array(box) * [w, h, w, h]
                side = max(8, int(round(max(x1 - x0, y1 - y0) * 1.3)))
                if side < 0.9 * crops[t][2]:
                    lm = self._crop_pose(img, int(round((x0 + x1 - side) / 2)), int(round((y0 + y1 - side) / 2)),
                                         side)
                    if lm is not None and not in_boxes(lm[[23, 24], :2].mean(0), [_grown(box, 0.25)], pad=0.0)[0]:
                        lm = None  # the tighter crop found someone else: a bystander, a shape in the scene
                    # Pose's tracking would carry this crop's region into the next frame's other crop
                    self.pose.reset()
            if lm is not None:
                kps[t] = lm
        self.pose.reset()  # tracking state must not leak into the next pass or clip
        return Followed(people, tracks, chosen, kps)

    def run(self, frames) -> ClipPose:
        """frames: iterable of RGB uint8 images of one clip, in order."""
        frames = list(frames)
        t_total = len(frames)
        t0 = time.perf_counter()
        cache = {}

        def alone(kps: np.ndarray) -> np.ndarray:
            """MediaPipe alone's poses over the frames kps needs them for: one pass, only for clips with empty
            frames, rerun only if another cue's empty frames lie outside it."""
            empty = np.isnan(kps[:, 0, 0])
            if "ran" not in cache or (empty & ~cache["ran"]).any():
                cache["kps"], cache["ran"] = self.whole_frame(frames, empty | cache.get("ran", empty))
            return cache["kps"]
        segs = [self.segmenter.process(f).segmentation_mask > 0.5 for f in frames]
        motion, moving_share = motion_masks(frames) if self.cfg.motion_cue else (None, 0.0)
        if motion is None or moving_share > MAX_MOVING:
            # no motion cue (switched off, or too few frames for a background), or the camera moved more than
            # a shift: the segmenter's people alone, as before the motion cue
            cue = "segmenter" if motion is None else "segmenter (camera not stabilised)"
            best = self.follow(frames, segs)
        else:
            still = [m.sum() < MIN_PERSON_AREA * m.size for m in motion]  # nothing moves: the segmenter's people
            cue, best = "moving segments", self.follow(
                frames, [s if q else moving_segments(s, m) for s, m, q in zip(segs, motion, still)])
            cover = motion_cover(best.keypoints, motion)
            # poses missing from frames, but those found hold the motion: where MediaPipe alone (below) fills
            # the frames on the same person, the second cue is not needed (one pass of Pose instead of two)
            mended = 0 < best.found < RETRY_BELOW * t_total and cover >= MIN_COVER * best.found and \
                best.found + fill_mask(best.keypoints, alone(best.keypoints)).sum() >= RETRY_BELOW * t_total
            if not mended and (best.found < RETRY_BELOW * t_total or cover < MIN_COVER * best.found):
                second = self.follow(frames, [s if q else moving_region(s, m) for s, m, q in zip(segs, motion, still)],
                                     retry=True)
                if motion_cover(second.keypoints, motion) > cover:
                    cue, best = "moving region", second
        kps, people, tracks, chosen = best.keypoints, best.people, best.tracks, best.chosen
        # where the cues left a frame without a pose (nobody segmented or moving, a crowd merged into one
        # segment, a person the isolation cut apart): MediaPipe alone's pose on the whole frame, kept unless it
        # is a bystander's (`fill_mask`)
        filled = 0
        if np.isnan(kps[:, 0, 0]).any():
            whole = alone(kps)
            fill = fill_mask(kps, whole)
            kps[fill] = whole[fill]
            filled = int(fill.sum())
        person = np.full(t_total, -1, np.int16)
        for t, i in (tracks[chosen].items() if chosen is not None else ()):
            person[t] = i
        presence = 1.0 if chosen is None else len(tracks[chosen]) / t_total
        busy = time.perf_counter() - t0
        detected = ~np.isnan(kps[:, 0, 0])
        visibility = np.where(detected, np.nan_to_num(kps[:, :, 3]).mean(1), 0.0)
        counts = np.array([len(p) for p in people], np.int16)
        moving = chosen is not None and track_motion(people, tracks[chosen]) >= STILL_MOTION
        return ClipPose(kps, detected, person, counts, (visibility * presence).astype(np.float32), busy,
                        clip_note(t_total, int(detected.sum()), int((counts > 1).sum()), moving), cue, filled)

    def whole_frame(self, frames: list, empty: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(MediaPipe alone's keypoints T×33×4, NaN where none; the frames it ran on): Pose on the whole frames in
        tracking mode, as the pose stage ran before the front-end, from WARM_UP frames before the first empty
        one (its tracker's run-up) to the last empty one."""
        out = np.full((len(frames), NUM_JOINTS, 4), np.nan, np.float32)
        ran = np.zeros(len(frames), bool)
        where = np.flatnonzero(empty)
        ran[max(0, where[0] - WARM_UP):where[-1] + 1] = True
        for t in np.flatnonzero(ran):
            lm = self._landmarks(frames[t])
            if lm is not None:
                out[t] = lm
        self.pose.reset()
        return out, ran

    def close(self) -> None:
        self.pose.close()
        self.segmenter.close()


def fill_mask(kps: np.ndarray, alone: np.ndarray) -> np.ndarray:
    """The frames where MediaPipe alone's pose (alone) fills a frame the cues (kps) left empty: every such frame
    where the cues found a pose in at most FILL_ALL_UP_TO of the clip's frames (they lost the person: a
    broadcast's cuts, a body without a head), else those whose pose is not a `bystander`'s (on the freshly
    rendered main-style clips of benchmarks/bench_pose.py, filling every frame where MediaPipe alone found more
    poses than the cues put 16 of 28 fills on the renderer's bystanders; docs/frontend.md)."""
    empty, found = np.isnan(kps[:, 0, 0]), ~np.isnan(alone[:, 0, 0])
    fill = empty & found
    if (~empty).sum() > FILL_ALL_UP_TO * len(kps):
        fill &= ~bystander(kps, alone)  # the cues found the person in most frames: theirs is kept
    return fill


def bystander(kps: np.ndarray, alone: np.ndarray) -> np.ndarray:
    """Per frame, whether MediaPipe alone's pose (alone) is on somebody other than the front-end's person: its
    hip centre outside the box, grown by FILL_GROW, of the front-end's pose (kps) in the nearest frame that has
    one."""
    have = np.flatnonzero(~np.isnan(kps[:, 0, 0]))
    out = np.zeros(len(kps), bool)
    if not len(have):
        return out
    for t in np.flatnonzero(~np.isnan(alone[:, 0, 0])):
        near = kps[have[np.abs(have - t).argmin()]]
        (x0, y0), (x1, y1) = np.nanmin(near[:, :2], 0), np.nanmax(near[:, :2], 0)
        box = _grown((x0, y0, x1, y1), FILL_GROW)
        out[t] = not in_boxes(alone[t, [23, 24], :2].mean(0), [box], pad=0.0)[0]
    return out


def _grown(box, share: float) -> tuple:
    mx, my = share * (box[2] - box[0]), share * (box[3] - box[1])
    return (box[0] - mx, box[1] - my, box[2] + mx, box[3] + my)


def _init_worker(cfg: Pose) -> None:
    global _ESTIMATOR
    import multiprocessing
    if multiprocessing.parent_process() is not None:
        # MediaPipe's C++ side logs a warning line per graph run straight to fd 2,
        # drowning the progress bar; errors still come back as recorded reasons.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
    _ESTIMATOR = PoseEstimator(cfg)


def save_pose(path: Path, arrays: dict) -> int:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    return path.stat().st_size


def load_pose(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(keypoints, detected) of one clip."""
    with np.load(path) as z:
        return z["keypoints"], z["detected"]


def load_track(path: str | Path) -> dict:
    """Everything the pose store holds for one clip (keypoints, detected, person, people, confidence)."""
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def _pose_one(row: dict, frames_dir: Path, pose_dir: Path) -> dict:
    out = dict(clip_id=row["clip_id"], label=row["label"], split=row["split"], path=f"{row['clip_id']}.npz")
    t0 = time.perf_counter()
    try:
        clip = ClipFrames(frames_dir / row["path"])
        res = _ESTIMATOR.run(clip.frame(i) for i in range(len(clip)))
        nbytes = save_pose(pose_dir / out["path"], res.arrays())
        out.update(status="ok", reason=res.note, cue=res.cue, frames=len(res.detected),
                   detected=int(res.detected.sum()), tracked=int((res.person >= 0).sum()),
                   crowded=int((res.people > 1).sum()), whole_frame=res.filled, bytes=nbytes)
        return {**out, "mediapipe_s": res.busy, "worker_s": time.perf_counter() - t0}
    except (OSError, ValueError, RuntimeError) as exc:
        return {**out, "status": "failed", "reason": str(exc)[:300], "cue": "", "frames": 0, "detected": 0,
                "tracked": 0, "crowded": 0, "whole_frame": 0, "bytes": 0, "mediapipe_s": 0.0, "worker_s": time.perf_counter() - t0}


def clip_note(frames: int, found: int, crowded: int, moving: bool) -> str:
    """The clip's recorded reason when the front-end doubts it (empty when it does not): nobody in any frame,
    a person in some frames only, or several people of whom none moves (a crowd with no dancer)."""
    if found == 0:
        return "no person found in any frame"
    if crowded and not moving:
        return f"several people in {crowded} of {frames} frames and none of them moves: no dancer to follow"
    if found < frames:
        return f"person found in {found} of {frames} frames"
    return ""


def extract_all(rows: list[dict], frames_dir: Path, pose_dir: Path, cfg: Pose, compute=None):
    check_model_available(cfg.model_complexity)  # in the parent, before any worker starts
    fn = functools.partial(_pose_one, frames_dir=frames_dir, pose_dir=pose_dir)
    # spawn: a MediaPipe graph alive in the parent (predict, benchmarks) does not survive a fork
    return run_clips(fn, rows, pose_dir, cfg.workers, "pose", timing=("mediapipe_s", "worker_s"),
                     initializer=_init_worker, initargs=(cfg,), start_method="spawn", compute=compute)


def detection_summary(manifest, wall_s: float | None = None, workers: int = 1) -> dict:
    """Detection rate overall and per class, plus MediaPipe's share of the time.

    overhead_pct compares the workers' time with the time spent inside MediaPipe;
    wall_overhead_pct compares wall time x workers with it, so idle cores count too.
    """
    ok = manifest[manifest["status"] == "ok"]
    frames, detected = int(ok["frames"].sum()), int(ok["detected"].sum())
    per_class = {label: round(float(g["detected"].sum() / max(1, g["frames"].sum())), 4)
                 for label, g in ok.groupby("label")}
    mp_s, worker_s = float(ok["mediapipe_s"].sum()), float(ok["worker_s"].sum())
    notes = ok["reason"].fillna("").str.replace(r"\d+", "N", regex=True)
    return dict(frames=frames, frames_detected=detected,
                detection_rate=round(detected / frames, 4) if frames else 0.0,
                detection_rate_per_class=per_class,
                detection_rate_per_split={split: round(float(g["detected"].sum() / max(1, g["frames"].sum())), 4)
                                          for split, g in ok.groupby("split")},
                frames_tracked=int(ok["tracked"].sum()) if "tracked" in ok else None,
                frames_with_several_people=int(ok["crowded"].sum()) if "crowded" in ok else None,
                frames_from_whole_frame=int(ok["whole_frame"].sum()) if "whole_frame" in ok else None,
                clip_notes={k: int(v) for k, v in notes[notes != ""].value_counts().items()},
                clips_per_cue={k: int(v) for k, v in ok["cue"].value_counts().items()} if "cue" in ok else None,
                mediapipe_ms_per_frame=round(1000 * mp_s / max(1, frames), 2),
                worker_ms_per_frame=round(1000 * worker_s / max(1, frames), 2),
                overhead_pct=round(100 * (worker_s - mp_s) / mp_s, 2) if mp_s else 0.0,
                wall_overhead_pct=round(100 * (wall_s * workers - mp_s) / mp_s, 2) if mp_s and wall_s else None)


def in_boxes(points, boxes, pad: float = 0.02) -> np.ndarray:
    """Whether each point (N×2, x and y as fractions of the frame) lies in its box (N×4: x0, y0, x1, y1), with
    a margin of `pad`: how the pose stage and benchmarks/bench_pose.py judge that a pose is on the dancer."""
    p, b = np.asarray(points, float).reshape(-1, 2), np.asarray(boxes, float).reshape(-1, 4)
    return ((p[:, 0] >= b[:, 0] - pad) & (p[:, 0] <= b[:, 2] + pad) &
            (p[:, 1] >= b[:, 1] - pad) & (p[:, 1] <= b[:, 3] + pad))


def dancer_check(params, manifest) -> dict:
    """How often the tracked person is the labelled dancer, per split, where the source knows where its dancer
    is (the synthetic renderer draws it): a frame counts when the pose's hip centre lies in the dancer's box.
    {} for sources that cannot tell."""
    if params.data.source != "synthetic":
        return {}
    from src.annotations import read_annotations
    from src.sources.synthetic import stored_dancer_boxes
    annotations = read_annotations(params.paths.annotations).set_index("clip_id").to_dict("index")
    out = {}
    for split, rows in manifest[manifest["status"] == "ok"].groupby("split"):
        found = on = 0
        for row in rows.to_dict("records"):
            kps, det = load_pose(params.paths.pose / row["path"])
            if not det.any():
                continue
            boxes = stored_dancer_boxes(params, {**annotations[row["clip_id"]], "label": row["label"]}, len(det))
            hips = kps[det][:, [23, 24], :2].mean(1)
            found, on = found + len(hips), on + int(in_boxes(hips, boxes[det]).sum())
        out[split] = dict(frames_with_pose=found, on_dancer=on, on_dancer_rate=round(on / found, 4) if found else None)
    return out
