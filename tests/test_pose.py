"""MediaPipe on a real photo of a person that scikit-image ships, and on an empty frame."""
import numpy as np
import pytest

from src.prepare.pose import PoseEstimator, load_pose, save_pose
from tests.conftest import section


@pytest.fixture(scope="module")
def estimator():
    est = PoseEstimator(section("pose", static_image_mode=True))
    yield est
    est.close()


def test_astronaut_nose_and_shoulders_land_in_place(estimator):
    from skimage import data
    img = data.astronaut()  # 512x512 RGB, Eileen Collins, head near the top centre-left
    kps, det, busy = estimator.run([img])
    assert det.tolist() == [True] and busy > 0
    nose, l_sh, r_sh = kps[0, 0], kps[0, 11], kps[0, 12]
    # nose in the face region (x ~0.3-0.55, y ~0.15-0.4 of the frame)
    assert 0.25 < nose[0] < 0.6 and 0.1 < nose[1] < 0.45
    # shoulders below the nose, on either side of it, image-left is the person's right
    assert l_sh[1] > nose[1] and r_sh[1] > nose[1]
    assert r_sh[0] < nose[0] < l_sh[0]
    assert l_sh[3] > 0.5 and r_sh[3] > 0.5


def test_missing_person_is_explicit_not_zero(estimator, tmp_path):
    blank = np.full((64, 64, 3), 127, np.uint8)
    kps, det, _ = estimator.run([blank, blank])
    assert det.tolist() == [False, False]
    assert np.isnan(kps).all() and kps.shape == (2, 33, 4)
    save_pose(tmp_path / "p.npz", kps, det)
    k2, d2 = load_pose(tmp_path / "p.npz")
    assert np.isnan(k2).all() and d2.dtype == bool and not d2.any()


def test_model_not_shipped_offline_is_a_clear_param_error():
    from src.config import ParamError
    from src.prepare.pose import check_model_available
    check_model_available(1)
    with pytest.raises(ParamError, match="pose.model_complexity=2 .*pose_landmark_heavy.tflite"):
        check_model_available(2)
