"""What the models are fed: temporal sampling and the person-centred crop."""
import random

import numpy as np

from src.learning.data import crop_box, person_box, train_indices


def test_segment_sampling_spans_the_clip_in_order_and_varies():
    rng = random.Random(0)
    draws = [train_indices(16, 8, rng) for _ in range(50)]
    for idx in draws:
        assert len(idx) == 8 and (np.diff(idx) > 0).all()
        assert (idx // 2 == np.arange(8)).all()  # one frame from each of the 8 segments
    assert len({tuple(d) for d in draws}) > 10
    assert list(train_indices(5, 8, rng)) == [0, 1, 2, 3, 4, 4, 4, 4]  # short clip: repeat the last frame


def keypoints(x0, y0, x1, y1, frames=4):
    kps = np.full((frames, 33, 4), np.nan, np.float32)
    xs, ys = np.linspace(x0, x1, 33), np.linspace(y0, y1, 33)
    kps[:, :, 0], kps[:, :, 1], kps[:, :, 2], kps[:, :, 3] = xs, ys, 0, 1
    return kps


def test_person_box_is_a_square_around_the_dancer_inside_the_frame():
    det = np.ones(4, bool)
    top, left, side = person_box(keypoints(0.4, 0.2, 0.6, 0.8), det, height=128, width=170)
    assert side == round(0.6 * 128 * 1.3)  # the taller side plus 15% margin each way
    assert abs(top + side / 2 - 64) <= 1 and abs(left + side / 2 - 85) <= 1  # centred on the dancer
    frames = np.zeros((4, 128, 170, 3), np.uint8)
    assert crop_box(frames, (top, left, side)).shape == (4, side, side, 3)
    # near the right edge the box shifts inside instead of leaving the frame
    _, left, side = person_box(keypoints(0.9, 0.4, 1.2, 0.6), det, 128, 170)
    assert left + side == 170


def test_no_detection_means_the_whole_frame():
    kps = keypoints(0.4, 0.2, 0.6, 0.8)
    assert person_box(kps, np.zeros(4, bool), 128, 170) is None
    det = np.array([False, True, False, False])
    kps[1] = np.nan
    assert person_box(kps, det, 128, 170) is None
    assert crop_box(np.zeros((2, 8, 8, 3)), None).shape == (2, 8, 8, 3)
