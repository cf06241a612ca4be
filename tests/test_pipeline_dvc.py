"""Real `dvc repro` of the data stages on the tiny profile in a copy of the repository."""
import re

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.dvc_repo import tiny_repo

DATA_STAGES = ["fetch", "download", "trim", "frames", "pose"]


def ran(log: str) -> list[str]:
    return re.findall(r"Running stage '([^']+)'", log)


@pytest.fixture(scope="module")
def data_repo(tmp_path_factory):
    repo = tiny_repo(tmp_path_factory.mktemp("repo"))
    log = repo.dvc("repro", "pose")
    return repo, log


def test_repro_runs_every_data_stage_and_writes_outputs(data_repo):
    repo, log = data_repo
    assert ran(log) == DATA_STAGES
    for stage in DATA_STAGES:
        assert re.search(rf"\[{stage}\] \d+ clips ok, \d+ failed, [\d.]+ s", log), stage
    p = repo.path
    ann = pd.read_csv(p / "data/annotations/train.csv")
    assert list(ann.columns) == ["label", "youtube_id", "time_start", "time_end", "split"]
    frames = pd.read_csv(p / "data/frames/manifest.csv")
    assert len(frames) == 6 and (frames.status == "ok").all() and (frames.num_frames == 8).all()
    with np.load(p / "data/pose" / frames.path[0].replace(".mp4", ".npz")) as z:
        assert z["keypoints"].shape == (8, 33, 4) and z["detected"].dtype == bool
    pose = yaml.safe_load((p / "reports/stages/pose.json").read_text())
    assert pose["clips_ok"] == 6 and 0 <= pose["detection_rate"] <= 1
    assert set(pose["detection_rate_per_class"]) == {"dancing charleston", "jumpstyle dancing"}


def test_changing_a_pose_param_reruns_only_pose(data_repo):
    repo, _ = data_repo
    assert "up to date" in repo.dvc("status", "--with-deps", "pose")
    params = yaml.safe_load((repo.path / "params.yaml").read_text())
    params["pose"]["min_detection_confidence"] = 0.6
    (repo.path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    status = repo.dvc("status", "--with-deps", "pose")
    assert "pose:" in status and not any(f"{s}:" in status for s in DATA_STAGES[:-1])
    assert ran(repo.dvc("repro", "pose")) == ["pose"]
    assert ran(repo.dvc("repro", "pose")) == []
