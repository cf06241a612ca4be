"""src.predict on generated videos, against the checkpoints of the tiny end-to-end run."""
import json
import subprocess
import sys

import pandas as pd
import pytest

from src.predict import Predictor, main
from tests.conftest import CONTAINERS, ROOT, make_container, make_video


@pytest.fixture(scope="module")
def run(trained_repo):
    repo, _ = trained_repo
    return repo.path


def test_top_k_output_is_ordered_and_sums_to_one(run, capsys):
    raw = sorted((run / "data/raw").glob("*.mp4"))[0]
    assert main([str(raw), "--model", str(run / "models/compare/frame_cnn/seed0.safetensors"), "--top-k", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    # the RGB model crops to the dancer (train.crop_to: person), so MediaPipe ran and says how it did
    assert lines[0].startswith(str(raw)) and len(lines) == 4 and lines[3].startswith("  (pose found in")
    probs = [float(line.split("%")[0]) for line in lines[1:3]]
    assert probs == sorted(probs, reverse=True) and sum(probs) == pytest.approx(100, abs=0.05)


def test_json_is_one_parseable_object(run, capsys):
    raw = sorted((run / "data/raw").glob("*.mp4"))[0]
    assert main([str(raw), "--model", str(run / "models/compare/frame_cnn/seed0.safetensors"), "--json", "--start", "0.5",
                 "--duration", "1.0"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["start"] == 0.5 and obj["end"] == pytest.approx(1.5)
    assert sum(obj["probabilities"].values()) == pytest.approx(1, abs=1e-5)
    assert [t["probability"] for t in obj["top"]] == sorted((t["probability"] for t in obj["top"]), reverse=True)


@pytest.mark.parametrize("model", ["frame_cnn", "pose_lstm"])
def test_prediction_equals_evaluation_on_a_test_clip(run, model):
    ann = pd.read_csv(run / "data/annotations/test.csv").iloc[0]
    clip_id = f"{ann.youtube_id}_{int(ann.time_start):06d}_{int(ann.time_end):06d}"
    predictions = pd.read_csv(run / f"reports/runs/compare/{model}/seed0/predictions.csv")
    evaluated = predictions.set_index("clip_id").loc[clip_id]
    num_clips = 2  # evaluate.num_clips of the tiny profile
    pred = Predictor(run / f"models/compare/{model}/seed0.safetensors", num_clips=num_clips).predict(
        run / f"data/raw/{clip_id}.mp4", start=ann.time_start, end=ann.time_end)
    for label, p in pred.probabilities.items():
        assert p == pytest.approx(evaluated[f"p_{label}"], abs=1e-5), label
    if model == "pose_lstm":
        assert 0 <= pred.detection_rate <= 1


def test_save_clip_keeps_the_trimmed_clip_and_nothing_else(run, tmp_path, capsys):
    from src.media import probe
    raw = sorted((run / "data/raw").glob("*.mp4"))[0]
    out = tmp_path / "kept.mp4"
    assert main([str(raw), "--model", str(run / "models/compare/frame_cnn/seed0.safetensors"), "--start", "0.2", "--end", "1.2",
                 "--save-clip", str(out)]) == 0
    assert abs(probe(out).duration - 1.0) < 0.3 and list(tmp_path.iterdir()) == [out]


def _bad_inputs(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "fake.mp4").write_text("this is not a video")
    subprocess.run([sys.executable, "-c", "import imageio_ffmpeg, subprocess, sys; subprocess.run([imageio_ffmpeg."
                    "get_ffmpeg_exe(), '-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=duration=1', "
                    "sys.argv[1]], check=True)", str(tmp_path / "audio.mp4")], check=True)
    good = make_video(tmp_path / "good.mp4", frames=16, size=(64, 48), fps=8)
    return good


def test_every_bad_input_is_one_line_and_nonzero(run, tmp_path, capsys):
    good = _bad_inputs(tmp_path)
    ckpt = str(run / "models/compare/frame_cnn/seed0.safetensors")
    cases = [
        ([str(tmp_path / "missing.mp4")], "no such file"),
        ([str(tmp_path / "notes.txt")], "unsupported file type .txt"),
        ([str(tmp_path / "fake.mp4")], "unreadable video"),
        ([str(tmp_path / "audio.mp4")], "no video stream"),
        ([str(good), "--start", "2.0"], "at or past the end"),
        ([str(good), "--start", "1.0", "--end", "0.5"], "--end must be after --start"),
    ]
    for argv, message in cases:
        assert main(argv + ["--model", ckpt]) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and message in err and len(err.splitlines()) == 1, (argv, err)
    assert main([str(good), "--model", str(tmp_path / "nope.pt")]) == 2
    assert "not found" in capsys.readouterr().err
    (tmp_path / "old.pt").write_bytes(b"garbage")
    assert main([str(good), "--model", str(tmp_path / "old.pt")]) == 2
    assert "not a checkpoint of this pipeline" in capsys.readouterr().err


def test_cli_errors_have_no_traceback(run, tmp_path):
    good = make_video(tmp_path / "good.mp4", frames=16, size=(64, 48), fps=8)
    for extra in (["--start", "0", "--end", "1", "--duration", "1"], ["--start", "9"]):
        res = subprocess.run([sys.executable, "-m", "src.predict", str(good), "--model",
                              str(run / "models/compare/frame_cnn/seed0.safetensors"), *extra], cwd=ROOT, capture_output=True,
                             text=True)
        assert res.returncode == 2 and "Traceback" not in res.stderr and "error: " in res.stderr, res.stderr
    assert "not allowed with argument" in subprocess.run(
        [sys.executable, "-m", "src.predict", str(good), "--end", "1", "--duration", "1"], cwd=ROOT,
        capture_output=True, text=True).stderr


def test_the_command_line_keeps_mediapipe_log_lines_out_of_the_terminal(run):
    """MediaPipe's C++ side writes `W0000 ... inference_feedback_manager.cc ...` lines to descriptor 2, some after
    a call returned; the pose model's answer comes without them (and Python's own errors still come: above)."""
    raw = sorted((run / "data/raw").glob("*.mp4"))[0]
    res = subprocess.run([sys.executable, "-m", "src.predict", str(raw), "--model",
                          str(run / "models/compare/pose_lstm/seed0.safetensors")], cwd=ROOT, capture_output=True,
                         text=True)
    assert res.returncode == 0 and "pose found in" in res.stdout, res.stdout + res.stderr
    assert res.stderr == "", res.stderr


def test_pose_model_without_a_person_still_answers(run, tmp_path, capsys):
    noise = make_video(tmp_path / "noise.mp4", frames=16, size=(64, 48), fps=8)
    assert main([str(noise), "--model", str(run / "models/compare/pose_lstm/seed0.safetensors"), "--json"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["pose_detection_rate"] == 0 and "no person" in out.err


def test_batch_over_a_folder_with_a_broken_file(run, tmp_path):
    folder = tmp_path / "videos"
    folder.mkdir()
    for i, raw in enumerate(sorted((run / "data/raw").glob("*.mp4"))[:2]):
        (folder / f"v{i}.mkv").write_bytes(raw.read_bytes())  # any supported container name
    (folder / "broken.mp4").write_bytes(b"\x00" * 500)
    (folder / "readme.txt").write_text("not a video: skipped by extension")
    out = tmp_path / "preds.csv"
    assert main([str(folder), "--model", str(run / "models/compare/frame_cnn/seed0.safetensors"), "--output", str(out),
                 "--top-k", "2"]) == 0
    df = pd.read_csv(out).fillna("")
    assert len(df) == 3 and list(df.columns[:5]) == ["video", "top1", "prob1", "top2", "prob2"]
    broken = df[df.video.str.endswith("broken.mp4")].iloc[0]
    assert broken.error and broken.top1 == ""
    assert (df[df.error == ""].prob1 >= df[df.error == ""].prob2).all()


@pytest.mark.parametrize("name", CONTAINERS)
def test_predict_reads_every_container(run, tmp_path, capsys, name):
    """A 1920x1080 H.264 AVI (NTU RGB+D's format), MKV, MOV, WebM, odd and variable frame rates, a rotated
    phone video, a picture that starts after the sound: predict answers for the whole video."""
    video = make_container(tmp_path, name)
    assert main([str(video), "--model", str(run / "models/compare/pose_lstm/seed0.safetensors"), "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["start"] == 0 and obj["end"] == pytest.approx(2.8 if name == "late_video.mp4" else 2.0, abs=0.1)
    assert sum(obj["probabilities"].values()) == pytest.approx(1, abs=1e-5)


def test_a_long_video_is_scored_in_windows_of_the_training_clips_length(run, tmp_path, capsys):
    """Ten minutes of video: only the windows scored are cut (each the length the model learnt from), one by one."""
    from src.media import ffmpeg_exe, probe
    from src.predict import MAX_CLIPS, distinct_views
    long = tmp_path / "long.mp4"
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=2:duration=600",
                    "-pix_fmt", "yuv420p", str(long)], check=True)
    ckpt = run / "models/compare/frame_cnn/seed0.safetensors"
    predictor = Predictor(ckpt, num_clips=3)
    assert 1.0 < predictor.window < 2.0  # the tiny profile's 1.5 s clips, recorded in the checkpoint
    pred = predictor.predict(long, save_clip=tmp_path / "first.mp4")
    assert pred.windows == 3 and (pred.start, pred.end) == (0.0, pytest.approx(600, abs=1))
    assert sum(pred.probabilities.values()) == pytest.approx(1, abs=1e-5)
    assert abs(probe(tmp_path / "first.mp4").duration - predictor.window) < 0.6  # a window, not ten minutes
    # a short segment keeps evaluation's views; more views than distinct windows only repeat frames
    assert Predictor(ckpt).predict(long, start=10, duration=1.5).windows == 1
    assert distinct_views(8, 4, 2) == distinct_views(8, 4, MAX_CLIPS) == 2 and distinct_views(8, 8, 3) == 1
    assert main([str(long), "--model", str(ckpt), "--num-clips", str(MAX_CLIPS + 1)]) == 2
    assert f"--num-clips between 1 and {MAX_CLIPS}" in capsys.readouterr().err
