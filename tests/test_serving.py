"""The registered champion after the tiny end-to-end run: it loads through its alias, and `mlflow models serve`
answers a video as `python -m src.predict` does, and a bad request with a 400 and one line."""
import base64
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from src.media import ffmpeg_exe
from src.predict import Predictor

CHAMPION = "models:/video-action-recognition@champion"


@pytest.fixture(scope="module")
def store(trained_repo):
    """(the tiny run's folder, its MLflow tracking URI, the champion's checkpoint)."""
    from mlflow.tracking import MlflowClient
    repo, _ = trained_repo
    uri = f"sqlite:///{repo.path / 'mlruns' / 'mlflow.db'}"
    best = MlflowClient(uri).get_model_version_by_alias("video-action-recognition", "champion").tags["model"]
    checkpoint = (repo.path / "models/fusion/seed0/model.safetensors" if best == "fusion"
                  else repo.path / f"models/compare/{best}/seed0.safetensors")
    return repo.path, uri, checkpoint


@pytest.fixture(scope="module")
def clip(store):
    return sorted((store[0] / "data/raw").glob("*.mp4"))[0]


@pytest.fixture(scope="module")
def expected(store, clip):
    """What src.predict answers for the clip with the champion's checkpoint."""
    return Predictor(store[2]).predict(clip, top_k=2).as_dict()


def same_answer(got: dict, want: dict):
    assert [t["label"] for t in got["top"]] == [t["label"] for t in want["top"]]
    for label, p in want["probabilities"].items():
        assert got["probabilities"][label] == pytest.approx(p, abs=1e-5), label


def test_the_champion_and_its_tensor_model_load_through_their_aliases(store, clip, expected, monkeypatch):
    import mlflow
    root, uri, _ = store
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    video = mlflow.pyfunc.load_model(CHAMPION)
    same_answer(video.predict([{"path": str(clip), "top_k": 2}])[0], expected)
    tensors = mlflow.pyfunc.load_model("models:/video-action-recognition-tensors@champion")
    example = tensors.input_example
    out = np.asarray(tensors.predict(example))
    assert out.shape[1] == len(expected["probabilities"]) and np.allclose(out.sum(1), 1, atol=1e-5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(store):
    """`mlflow models serve` on the champion, as the README says to run it; yields its invocations URL."""
    root, uri, _ = store
    port = _free_port()
    env = dict(os.environ, MLFLOW_TRACKING_URI=uri, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "mlflow", "models", "serve", "-m", CHAMPION, "--env-manager", "local",
                             "-h", "127.0.0.1", "-p", str(port)], cwd=root, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        while time.perf_counter() - t0 < 120:
            assert proc.poll() is None, proc.stdout.read()[-3000:]
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        print(f"server answered /ping {time.perf_counter() - t0:.1f} s after start")
        yield f"http://127.0.0.1:{port}/invocations"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def post(url: str, body: bytes) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as res:
            return res.status, json.loads(res.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def request(**fields) -> bytes:
    return json.dumps({"inputs": [fields]}).encode()


def b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def test_the_served_champion_answers_a_video_as_predict_does(server, clip, expected):
    status, body = post(server, request(video=b64(clip), top_k=2))
    assert status == 200, body
    same_answer(body["predictions"][0], expected)
    status, body = post(server, request(path=str(clip), top_k=2))
    assert status == 200, body
    same_answer(body["predictions"][0], expected)


def test_bad_requests_get_a_400_with_one_line_and_the_server_keeps_serving(server, clip, expected, tmp_path):
    huge = tmp_path / "huge.avi"  # one grey frame larger than 8K, cheap to write as MJPEG
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=gray:s=7776x4376:d=0.2:r=5",
                    "-c:v", "mjpeg", str(huge)], check=True)
    # MLflow's own answer to a body that is not JSON: its first line says so (the body follows on the next)
    for body in (b"not json at all", b""):
        status, answer = post(server, body)
        assert status == 400 and "valid JSON" in answer["message"].splitlines()[0], answer
    # ours, after MLflow's "Failed to predict data '...'. Error: ": one line
    cases = {
        request(video=base64.b64encode(b"\x00garbage" * 100).decode()): "video: unreadable video",
        request(video="%%% not base64 %%%"): "video: not base64",
        request(vidoe=b64(clip)): "unknown field(s) vidoe; allowed: video, path, top_k, start, end",
        request(video=b64(huge)): "video: frames of 7776x4376 are larger than",
        request(): "give one of video",
        request(path=str(clip), top_k=0): "top_k must be >= 1",
    }
    for body, words in cases.items():
        status, answer = post(server, body)
        ours = answer["message"].split("Error: ")[-1]
        assert status == 400 and ours.startswith(words), (body[:80], status, answer["message"][-300:])
        assert "\n" not in ours.strip() and "Traceback" not in answer["message"], answer["message"]
    status, body = post(server, request(video=b64(clip), top_k=2))
    assert status == 200
    same_answer(body["predictions"][0], expected)
