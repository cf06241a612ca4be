"""The pose front-end: MediaPipe on a real photo of a person that scikit-image ships, on empty frames, and on
rendered clips where the renderer says where the labelled dancer is among other people."""
import numpy as np
import pytest

from src.prepare.people import choose_track, find_people, link_tracks
from src.prepare.pose_estimator import PoseEstimator
from src.prepare.pose_store import load_pose, load_track, save_pose
from tests.conftest import section


@pytest.fixture(scope="module")
def estimator():
    est = PoseEstimator(section("pose"))
    yield est
    est.close()


def rendered(label: str, clip_id: str, style: str = "train", frames: int = 12):
    import cv2

    from src.sources.cartoon import scene
    walk = list(scene(label, clip_id, 0, 3.0, 256, 192, 8, style))
    keep = np.linspace(0, len(walk) - 1, frames).round().astype(int)
    return ([cv2.resize(cv2.cvtColor(walk[k][0], cv2.COLOR_BGR2RGB), (170, 128), interpolation=cv2.INTER_AREA)
             for k in keep], np.array([walk[k][1] for k in keep]))


def _on_dancer(res, boxes) -> tuple[int, int]:
    """(frames with a pose, those whose hip centre lies on the dancer's box: src/prepare/people.py in_boxes)."""
    from src.prepare.people import in_boxes
    hips = res.keypoints[res.detected][:, [23, 24], :2].mean(1)
    return int(res.detected.sum()), int(in_boxes(hips, boxes[res.detected]).sum()) if res.detected.any() else 0


def test_astronaut_nose_and_shoulders_land_in_place(estimator):
    from skimage import data
    img = data.astronaut()  # 512x512 RGB, Eileen Collins, head near the top centre-left
    res = estimator.run([img])
    assert res.detected.tolist() == [True] and res.busy > 0 and res.people[0] >= 1 and res.person[0] >= 0
    kps = res.keypoints
    nose, l_sh, r_sh = kps[0, 0], kps[0, 11], kps[0, 12]
    # nose in the face region (x ~0.3-0.55, y ~0.15-0.4 of the frame)
    assert 0.25 < nose[0] < 0.6 and 0.1 < nose[1] < 0.45
    # shoulders below the nose, on either side of it, image-left is the person's right
    assert l_sh[1] > nose[1] and r_sh[1] > nose[1]
    assert r_sh[0] < nose[0] < l_sh[0]
    assert l_sh[3] > 0.5 and r_sh[3] > 0.5


def test_missing_person_is_explicit_not_zero_and_recorded(estimator, tmp_path):
    blank = np.full((64, 64, 3), 127, np.uint8)
    res = estimator.run([blank, blank])
    assert res.detected.tolist() == [False, False] and res.person.tolist() == [-1, -1]
    assert np.isnan(res.keypoints).all() and res.keypoints.shape == (2, 33, 4)
    assert res.note == "no person found in any frame" and (res.confidence == 0).all()
    save_pose(tmp_path / "p.npz", res.arrays())
    k2, d2 = load_pose(tmp_path / "p.npz")
    assert np.isnan(k2).all() and d2.dtype == bool and not d2.any()
    assert set(load_track(tmp_path / "p.npz")) == {"keypoints", "detected", "person", "people", "confidence"}


def test_a_person_in_some_frames_only_is_recorded(estimator):
    frames, _ = rendered("dancing ballet", "some-frames", frames=6)
    frames[3] = frames[4] = frames[5] = np.full_like(frames[0], 127)
    res = estimator.run(frames)
    assert 0 < res.detected.sum() <= 3 and res.note.startswith("person found in ")


def test_the_dancer_is_followed_among_bystanders(estimator):
    """Clips whose renderer drew other people (a bystander, a small crowd): the front-end keeps one track and
    its poses sit on the labelled dancer."""
    from src.sources.cartoon import CLASSES
    found = on = clips = 0
    for i in range(40):
        frames, boxes = rendered(CLASSES[i % 8], f"crowd-{i}")
        res = estimator.run(frames)
        if res.people.max() < 2:
            continue  # nobody else in this clip
        clips += 1
        f, o = _on_dancer(res, boxes)
        found, on = found + f, on + o
        if clips == 6:
            break
    assert clips == 6 and found >= 0.8 * 6 * 12 and on >= 0.9 * found, (clips, found, on)


def test_one_track_per_clip_is_the_moving_central_one():
    """Two people in every frame: a large still one at the edge and a moving one in the centre; the track of
    the moving, central one is chosen for the whole clip, never frame by frame."""
    people = []
    for t in range(10):
        still = (0.02, 0.2, 0.2, 0.9, 0.1)
        dancer = (0.4 + 0.02 * (t % 3), 0.15, 0.6 + 0.02 * (t % 3), 0.85 - 0.03 * (t % 2), 0.09)
        people.append([still, dancer] if t % 2 else [dancer, still])
    tracks = link_tracks(people)
    assert len(tracks) == 2 and all(len(tr) == 10 for tr in tracks)
    chosen = tracks[choose_track(people, tracks)]
    assert all(people[t][i][0] >= 0.4 for t, i in chosen.items())


def test_a_crowd_with_no_dancer_is_recorded(estimator):
    """Only people standing still: the front-end still reports who it followed, and says there is no dancer."""
    import cv2

    from src.sources.cartoon import STILL, Look, draw_figure, pose_at
    frames = []
    look = Look(height_frac=0.6, cx=0.3, cy=0.5, proportions=dict(head=0.068, neck=0.035, torso=0.29, shoulder=0.2,
                hipw=0.15, upper=0.15, fore=0.14, thigh=0.23, shin=0.22, limb=0.06), skin=(140, 190, 235),
                shirt=(200, 60, 60), pants=(60, 60, 200), hair=(20, 20, 20), shoes=(30, 30, 30), background="plain",
                bg_colors=((90, 160, 90),) * 3, tempo=1.0, phase=0.0, mirror=False, jitter=0.0, seconds=1.0)
    other = Look(**{**look.__dict__, "cx": 0.72, "shirt": (60, 200, 60)})
    for _ in range(6):
        img = np.full((192, 256, 3), (90, 160, 90), np.uint8)
        draw_figure(img, pose_at(STILL, 0.0), look)
        draw_figure(img, pose_at(STILL, 0.0), other)
        frames.append(cv2.resize(img, (170, 128), interpolation=cv2.INTER_AREA))
    assert all(len(find_people(estimator.segmenter.process(f).segmentation_mask > 0.5)) == 2 for f in frames)
    res = estimator.run(frames)
    assert res.note.startswith("several people") and "no dancer" in res.note


def test_model_not_shipped_offline_is_a_clear_param_error():
    from src.config import ParamError
    from src.prepare.pose_estimator import check_model_available
    check_model_available(1)
    with pytest.raises(ParamError, match="pose.model_complexity=2 .*pose_landmark_heavy.tflite"):
        check_model_available(2)


def test_stabilise_undoes_a_camera_shift_and_motion_is_the_mover_only():
    """A textured scene shifted by the camera, with a square moving across it: the shift is measured to a
    fraction of a pixel, and once undone only the square moves."""
    from src.prepare.motion_cue import motion_masks, stabilise
    rng = np.random.default_rng(0)
    scene = (rng.random((160, 220, 3)) * 255).astype(np.uint8)
    frames, shifts = [], [(0, 0), (3, -2), (-2, 1), (1, 3), (4, 0), (-3, -3)]
    for t, (dx, dy) in enumerate(shifts):
        img = scene[20 + dy:148 + dy, 20 + dx:190 + dx].copy()  # the camera moves by (dx, dy): the scene by minus that
        img[50:80, 20 + 20 * t:50 + 20 * t] = (255, 40, 40)
        frames.append(img)
    mid = shifts[len(shifts) // 2]
    for (mx, my), (dx, dy) in zip(stabilise(frames), shifts):
        assert abs(mx - (mid[0] - dx)) < 0.5 and abs(my - (mid[1] - dy)) < 0.5, (mx, my, dx, dy)
    motion, share = motion_masks(frames)
    for t, m in enumerate(motion):
        square = m[52:78, 22 + 20 * t:48 + 20 * t]
        assert square.mean() > 0.9, (t, square.mean())
    assert share < 0.1, share  # the background, shifted by the camera, does not count as motion


@pytest.fixture(scope="module")
def segmenter_alone():
    import dataclasses
    est = PoseEstimator(dataclasses.replace(section("pose"), motion_cue=False))
    yield est
    est.close()


def test_the_motion_cue_finds_the_far_dancer_the_segmenter_misses(estimator, segmenter_alone):
    """Shifted-style clips (far dancer, photographed scenes, bystanders): the people that move give poses on the
    dancer in many more frames than the segmenter's people alone."""
    from src.sources.cartoon import CLASSES
    motion = alone = found = 0
    for i in (1, 2, 4, 6):
        frames, boxes = rendered(CLASSES[i], f"pan-{i}", "shifted")
        res = estimator.run(frames)
        assert res.cue in ("moving segments", "moving region"), res.cue
        f, on = _on_dancer(res, boxes)
        found, motion = found + f, motion + on
        alone += _on_dancer(segmenter_alone.run(frames), boxes)[1]
    assert motion >= alone + 8 and motion >= 0.9 * found, (motion, alone, found)


def test_a_panning_camera_falls_back_to_the_segmenter_and_keeps_the_dancer(estimator):
    """The same dancer and scene filmed by a camera that zooms and slides (the renderer's "panning" style): a
    shift cannot undo a zoom, so the front-end says so and follows the segmenter's people alone, and its poses
    stay on the dancer; with the camera still, the motion cue is used."""
    from src.prepare.motion_cue import MAX_MOVING, motion_masks
    from src.sources.cartoon import CLASSES
    for i in (3, 5):
        frames, boxes = rendered(CLASSES[i], f"pan-{i}", "panning")
        assert motion_masks(frames)[1] > MAX_MOVING
        res = estimator.run(frames)
        assert res.cue == "segmenter (camera not stabilised)"
        found, on = _on_dancer(res, boxes)
        assert found >= 10 and on == found, (i, found, on)
        still, still_boxes = rendered(CLASSES[i], f"pan-{i}", "shifted")
        assert not np.allclose(boxes, still_boxes)  # the camera moved the dancer's box
        assert estimator.run(still).cue in ("moving segments", "moving region")


@pytest.mark.parametrize("clip", ["fr_hamilton_stage_broadcast", "mmpose_street_pedestrians",
                                  "sam2_torso_hands_coffee"])
def test_on_real_footage_the_front_end_keeps_every_pose_mediapipe_alone_finds(estimator, clip):
    """Real clips (assets/real) where the cues alone found fewer poses than MediaPipe on the whole frame (a
    broadcast with cuts, a street crowd, a body without a head): the fallback keeps MediaPipe's poses there."""
    import mediapipe as mp

    from types import SimpleNamespace

    from benchmarks.bench_pose import REAL, mediapipe_alone, real_clips
    frames = real_clips(SimpleNamespace(trim=section("trim"), frames=section("frames")), REAL, only=[clip])[clip]
    with mp.solutions.pose.Pose(model_complexity=1) as alone:
        found_alone = sum(h is not None for h in mediapipe_alone(alone, frames))
    res = estimator.run(frames)
    assert found_alone > 0 and res.detected.sum() >= found_alone and res.filled > 0, (res.detected, found_alone)


def test_a_whole_frame_pose_on_a_bystander_is_not_kept():
    """MediaPipe alone's pose fills a frame only on the front-end's person: hips in the box (grown by a
    quarter) of the front-end's nearest pose; off it, the pose is somebody else's."""
    from src.prepare.pose_estimator import bystander

    def pose(x0, x1):
        k = np.full((33, 4), np.nan, np.float32)
        k[:, 0], k[:, 1] = np.linspace(x0, x1, 33), np.linspace(0.2, 0.9, 33)
        return k
    front = np.stack([pose(0.4, 0.6), np.full((33, 4), np.nan, np.float32), np.full((33, 4), np.nan, np.float32)])
    alone = np.stack([pose(0.4, 0.6), pose(0.42, 0.62), pose(0.8, 0.95)])
    assert bystander(front, alone).tolist() == [False, False, True]
    assert not bystander(np.full_like(front, np.nan), alone).any()  # no pose of its own: nothing to compare
