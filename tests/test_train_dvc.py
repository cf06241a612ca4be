"""End to end through training: `dvc repro`, `dvc exp run -S model.name=...`, `dvc metrics diff`, MLflow."""
import json
import re

import pandas as pd
import pytest



def ran(log: str) -> list[str]:
    return re.findall(r"Running stage '([^']+)'", log)


@pytest.fixture(scope="module")
def repo(trained_repo):
    return trained_repo


def test_repro_trains_evaluates_and_compares(repo):
    r, log = repo
    stages = ran(log)
    for s in ["train", "evaluate", "compare_train@frame_cnn", "compare_train@pose_lstm",
              "compare_evaluate@frame_cnn", "compare_evaluate@pose_lstm", "compare"]:
        assert s in stages, s
    ev = json.loads((r.path / "metrics/eval.json").read_text())
    for key in ("top1", "top5", "mean_class_accuracy", "macro_precision", "macro_recall", "macro_f1",
                "per_class_f1", "test_clips", "train_seconds", "train_clips_per_s", "inference_clips_per_s",
                "parameters", "gflops_per_clip", "loader_clips_per_s"):
        assert key in ev, key
    assert ev["model"] == "frame_cnn" and ev["test_clips"] == 2 and ev["views"] == 2
    cmp = json.loads((r.path / "metrics/compare.json").read_text())
    assert set(cmp["models"]) == {"frame_cnn", "pose_lstm"}
    report = (r.path / "reports/compare.md").read_text()
    assert "| pose_lstm | pose |" in report and "family won" in report
    assert (r.path / "reports/compare.png").read_bytes()[:4] == b"\x89PNG"
    assert (r.path / "plots/confusion.png").exists()
    hist = pd.read_csv(r.path / "plots/history.csv")
    assert list(hist.epoch) == [1, 2, 3]


def test_checkpoint_is_self_describing(repo):
    from src.learning.checkpoint import load_checkpoint
    r, _ = repo
    model, spec, meta = load_checkpoint(r.path / "models/model.pt")
    assert meta["model"] == "frame_cnn" and meta["classes"] == ["dancing charleston", "jumpstyle dancing"]
    assert spec.kind == "rgb" and spec.num_frames == 4 and len(meta["params_hash"]) == 16
    assert meta["config"]["trim"]["short_side"] == 64  # preprocessing travels with the model


def test_mlflow_run_has_params_metrics_and_artifacts(repo):
    from mlflow.tracking import MlflowClient
    r, _ = repo
    client = MlflowClient(f"sqlite:///{r.path / 'mlruns' / 'mlflow.db'}")
    exp = client.get_experiment_by_name("video-action-recognition")
    runs = client.search_runs([exp.experiment_id])
    assert {run.data.tags["model"] for run in runs} == {"frame_cnn", "pose_lstm"}
    run = next(run for run in runs if run.info.run_id == json.loads(
        (r.path / "metrics/train.json").read_text())["mlflow_run_id"])
    assert run.data.params["train.epochs"] == "3" and run.data.params["model.name"] == "frame_cnn"
    assert "test_top1" in run.data.metrics and "best_val_acc" in run.data.metrics
    history = client.get_metric_history(run.info.run_id, "train_loss")
    assert len(history) == 3  # one point per epoch
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"model.pt", "confusion.png", "eval.json", "train.json"} <= artifacts


def test_exp_run_other_model_reruns_only_train_and_evaluate(repo):
    r, _ = repo
    log = r.dvc("exp", "run", "-S", "model.name=pose_lstm")
    assert sorted(ran(log)) == ["evaluate", "train"]
    diff = r.dvc("metrics", "diff")
    eval_rows = [line for line in diff.splitlines() if line.startswith("metrics/eval.json")]
    assert any("parameters" in line for line in eval_rows), diff  # pose_lstm is far smaller than frame_cnn
    assert json.loads((r.path / "metrics/eval.json").read_text())["model"] == "pose_lstm"
    assert "pose_lstm" in r.dvc("exp", "show", "--csv")


def test_training_is_deterministic_on_cpu(repo):
    r, _ = repo
    before = (r.path / "plots/history.csv").read_text()
    r.dvc("repro", "-f", "-s", "train")
    assert (r.path / "plots/history.csv").read_text() == before
