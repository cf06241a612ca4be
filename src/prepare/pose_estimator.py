"""The pose front-end: find the dancer, follow one person through the clip, and run MediaPipe Pose on them.

Per clip (people and tracks: src/prepare/people.py; the motion cue: src/prepare/motion_cue.py; MediaPipe's
passes and the fallback: here; the result's layout: src/prepare/pose_store.py; the stage: src/prepare/pose.py):

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
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from src.config import ParamError, Pose
from src.prepare.motion_cue import MAX_MOVING, motion_cover, motion_masks, moving_region, moving_segments
from src.prepare.people import MIN_PERSON_AREA, STILL_MOTION, cut, grown, in_boxes, isolate, track_crops, \
    track_motion, track_people
from src.prepare.pose_store import NUM_JOINTS

POSE_INPUT = 256        # side of the square crop around the dancer that Pose reads
RETRY_BELOW = 0.9        # the moving segments gave a pose in fewer frames than this share: try the moving region
MIN_COVER = 0.5          # ... or their poses hold less than this share of the frame's motion on average
# the fallback (issue 32): MediaPipe alone's pose fills a frame the cues left empty where it lies on the
# front-end's person (its hips in the box, grown by FILL_GROW, of the front-end's nearest pose); in every such
# frame where the cues found a pose in at most FILL_ALL_UP_TO of the clip's frames (they lost the person)
FILL_GROW = 0.25
FILL_ALL_UP_TO = 0.5
WARM_UP = 2  # MediaPipe alone starts this many frames before the first empty one: its tracker's run-up


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
                    if lm is not None and not in_boxes(lm[[23, 24], :2].mean(0), [grown(box, 0.25)], pad=0.0)[0]:
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
        box = grown((x0, y0, x1, y1), FILL_GROW)
        out[t] = not in_boxes(alone[t, [23, 24], :2].mean(0), [box], pad=0.0)[0]
    return out


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
