"""People in a frame: MediaPipe's own BlazePose person detector, run directly, so it can return several.

The legacy `mp.solutions.pose` graph runs this detector internally but keeps only its best person and gives
no way to ask for the others. The model ships in the mediapipe wheel
(`modules/pose_detection/pose_detection.tflite`); tflite-runtime runs it, and the anchors, box decoding and
weighted non-maximum suppression below are those of MediaPipe's pose_detection_cpu graph
(SsdAnchorsCalculator, TensorsToDetectionsCalculator, NonMaxSuppressionCalculator with its options), written
out because the graph itself is not exposed. Each detection is a person: a score, the face box, and the
body's alignment points (hip centre and a point on the circle around the whole body), from which MediaPipe
derives the square region it runs the landmark model on (`person_box`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

INPUT = 224
STRIDES = (8, 16, 32, 32, 32)


@dataclass(frozen=True)
class Person:
    score: float
    face: tuple        # (x0, y0, x1, y1), fractions of the frame
    hip: tuple         # hip centre (x, y), fractions of the frame
    radius: float      # radius of the circle around the whole body, as a fraction of the frame's long side

    def box(self, width: int, height: int, scale: float = 1.25) -> tuple[int, int, int]:
        """(left, top, side) in pixels of the square MediaPipe would crop for the landmark model."""
        long_side = max(width, height)
        side = int(round(2 * self.radius * long_side * scale))
        cx, cy = self.hip[0] * width, self.hip[1] * height
        return int(round(cx - side / 2)), int(round(cy - side / 2)), max(side, 8)


def ssd_anchors() -> np.ndarray:
    """2254×2 anchor centres (x, y) in [0, 1]: MediaPipe's SsdAnchorsCalculator with the pose detector's
    options (5 layers, strides 8-16-32-32-32, one aspect ratio plus the interpolated scale, fixed size;
    layers of the same stride share one grid)."""
    anchors, layer = [], 0
    while layer < len(STRIDES):
        stride, per_cell = STRIDES[layer], 0
        while layer < len(STRIDES) and STRIDES[layer] == stride:
            per_cell += 2  # aspect ratio 1.0 and the interpolated scale
            layer += 1
        size = int(np.ceil(INPUT / stride))
        ys, xs = np.meshgrid((np.arange(size) + 0.5) / size, (np.arange(size) + 0.5) / size, indexing="ij")
        cells = np.stack([xs.ravel(), ys.ravel()], 1)
        anchors.append(np.repeat(cells, per_cell, axis=0))
    return np.concatenate(anchors).astype(np.float32)


def model_path() -> Path:
    import mediapipe
    return Path(mediapipe.__file__).parent / "modules" / "pose_detection" / "pose_detection.tflite"


class PersonDetector:
    """`detect(rgb)` -> the people in an RGB uint8 frame, best first."""

    def __init__(self, min_score: float = 0.5, iou: float = 0.3, threads: int = 1):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        from tflite_runtime.interpreter import Interpreter
        self.interpreter = Interpreter(model_path=str(model_path()), num_threads=threads)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]["index"]
        outputs = sorted(self.interpreter.get_output_details(), key=lambda d: d["shape"][-1], reverse=True)
        self.boxes, self.scores = outputs[0]["index"], outputs[1]["index"]
        self.anchors = ssd_anchors()
        self.min_score, self.iou = min_score, iou

    def detect(self, rgb: np.ndarray) -> list[Person]:
        h, w = rgb.shape[:2]
        side = max(h, w)  # letterbox to a square, as the graph does, so the aspect ratio is kept
        pad_x, pad_y = (side - w) / 2, (side - h) / 2
        square = cv2.copyMakeBorder(rgb, int(pad_y), side - h - int(pad_y), int(pad_x), side - w - int(pad_x),
                                    cv2.BORDER_CONSTANT, value=(0, 0, 0))
        x = cv2.resize(square, (INPUT, INPUT), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 127.5 - 1.0
        self.interpreter.set_tensor(self.input, x[None])
        self.interpreter.invoke()
        raw = self.interpreter.get_tensor(self.boxes)[0]
        scores = 1 / (1 + np.exp(-np.clip(self.interpreter.get_tensor(self.scores)[0, :, 0], -100, 100)))
        keep = np.flatnonzero(scores >= self.min_score)
        if not len(keep):
            return []
        a = self.anchors[keep]
        r = raw[keep] / INPUT
        cx, cy = r[:, 0] + a[:, 0], r[:, 1] + a[:, 1]
        face = np.stack([cx - r[:, 2] / 2, cy - r[:, 3] / 2, cx + r[:, 2] / 2, cy + r[:, 3] / 2], 1)
        kps = r[:, 4:12].reshape(-1, 4, 2) + a[:, None, :]
        people = []
        for group, weights in _weighted_nms(face, scores[keep], self.iou):
            f = (face[group] * weights[:, None]).sum(0)
            k = (kps[group] * weights[:, None, None]).sum(0)
            # back from the letterboxed square to fractions of the frame
            to_frame = lambda x, y: ((x * side - pad_x) / w, (y * side - pad_y) / h)  # noqa: E731
            hip = to_frame(*k[0])
            x0, y0 = to_frame(f[0], f[1])
            x1, y1 = to_frame(f[2], f[3])
            radius = float(np.hypot(*(k[1] - k[0]))) * side / max(h, w)
            people.append(Person(float(scores[keep][group].max()), (x0, y0, x1, y1), hip, radius))
        return people

    def close(self) -> None:
        self.interpreter = None


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x0, y0 = np.maximum(box[0], boxes[:, 0]), np.maximum(box[1], boxes[:, 1])
    x1, y1 = np.minimum(box[2], boxes[:, 2]), np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
    return inter / np.maximum(area(box) + area(boxes) - inter, 1e-9)


def _weighted_nms(boxes: np.ndarray, scores: np.ndarray, threshold: float):
    """MediaPipe's WEIGHTED non-maximum suppression: each kept detection is the score-weighted mean of the
    candidates overlapping the best one; yields (indices, weights)."""
    order = list(np.argsort(-scores))
    while order:
        best = order[0]
        overlap = _iou(boxes[best], boxes[order]) > threshold
        group = np.array(order)[overlap]
        yield group, scores[group] / scores[group].sum()
        order = [i for i, o in zip(order, overlap) if not o]
