"""People in each frame and the one the pose stage follows: the segmenter mask's connected components, tracks
linked from frame to frame, the dancer's track chosen over the whole clip, and the square crop and isolation
MediaPipe Pose reads (the front-end's steps 1, 3 and 4: src/prepare/pose_estimator.py)."""
from __future__ import annotations

import cv2
import numpy as np

MIN_PERSON_AREA = 0.004  # components smaller than this share of the frame are noise, not people
STILL_MOTION = 0.01      # a tracked person whose box moves less than this (track_motion) is not dancing


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


def track_people(masks: list) -> tuple[list, list, list, int | None]:
    """(people per frame, their label images, the tracks, the chosen track's index) from person masks."""
    labels: list = []
    people = [find_people(m, labels) for m in masks]
    tracks = link_tracks(people)
    return people, labels, tracks, choose_track(people, tracks)


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


def in_boxes(points, boxes, pad: float = 0.02) -> np.ndarray:
    """Whether each point (N×2, x and y as fractions of the frame) lies in its box (N×4: x0, y0, x1, y1), with
    a margin of `pad`: how the pose stage and benchmarks/bench_pose.py judge that a pose is on the dancer."""
    p, b = np.asarray(points, float).reshape(-1, 2), np.asarray(boxes, float).reshape(-1, 4)
    return ((p[:, 0] >= b[:, 0] - pad) & (p[:, 0] <= b[:, 2] + pad) &
            (p[:, 1] >= b[:, 1] - pad) & (p[:, 1] <= b[:, 3] + pad))


def grown(box, share: float) -> tuple:
    mx, my = share * (box[2] - box[0]), share * (box[3] - box[1])
    return (box[0] - mx, box[1] - my, box[2] + mx, box[3] + my)
