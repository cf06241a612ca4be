"""The renderer's joints in MediaPipe's layout agree with what MediaPipe finds on the drawn dancer."""
import cv2
import numpy as np

from src.sources.cartoon import dancer_boxes, render_frames
from src.sources.truth import SWAP, dancer_keypoints, landmark_error

W, H, FPS = 256, 192, 8
CLIPS = [("syn-belly-dancing-003", "belly dancing"), ("syn-dancing-ballet-001", "dancing ballet"),
         ("syn-breakdancing-004", "breakdancing"), ("syn-dancing-macarena-005", "dancing macarena")]


def _mediapipe_on_dancer(pose, frame, box) -> np.ndarray | None:
    """MediaPipe's 33 landmarks (frame fractions) on the dancer's box, padded: bystanders stay out."""
    x0, y0 = max(0, int((box[0] - 0.05) * W)), max(0, int((box[1] - 0.05) * H))
    x1, y1 = min(W, int((box[2] + 0.05) * W)), min(H, int((box[3] + 0.05) * H))
    res = pose.process(cv2.cvtColor(np.ascontiguousarray(frame[y0:y1, x0:x1]), cv2.COLOR_BGR2RGB))
    if res.pose_landmarks is None:
        return None
    lm = np.array([[p.x, p.y, p.z, p.visibility] for p in res.pose_landmarks.landmark])
    lm[:, 0], lm[:, 1] = (x0 + lm[:, 0] * (x1 - x0)) / W, (y0 + lm[:, 1] * (y1 - y0)) / H
    return lm


def test_true_joints_lie_where_mediapipe_finds_them_and_sides_are_right():
    import mediapipe as mp
    errors, swapped = [], []
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1) as pose:
        for cid, label in CLIPS:
            kps = dancer_keypoints(label, cid, 0, 3.0, W, H, FPS)
            boxes = dancer_boxes(label, cid, 0, 3.0, W, H, FPS)
            for i, frame in enumerate(render_frames(label, cid, 0, 3.0, W, H, FPS)):
                if i % 4 or (found := _mediapipe_on_dancer(pose, frame, boxes[i])) is None:
                    continue
                one = np.array([True])
                errors.append(landmark_error(kps[i:i + 1], found[None], one, H / W)[0])
                swapped.append(landmark_error(kps[i:i + 1][:, SWAP], found[None], one, H / W)[0])
    assert len(errors) >= 10
    # a few pixels of a 256-px frame; with left and right exchanged the same landmarks are far off
    assert np.median(errors) < 0.03, np.round(errors, 3)
    assert np.median(swapped) > 2 * np.median(errors), (np.median(swapped), np.median(errors))
