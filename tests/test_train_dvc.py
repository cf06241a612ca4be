"""End to end through training: `dvc repro`, `dvc exp run -S model.name=...`, `dvc metrics diff`, MLflow."""
import json
import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import ROOT


def ran(log: str) -> list[str]:
    return re.findall(r"Running stage '([^']+)'", log)


@pytest.fixture(scope="module")
def repo(trained_repo):
    return trained_repo


def test_repro_trains_evaluates_and_compares(repo):
    r, log = repo
    stages = ran(log)
    for s in ["shifted", "pretrain", "train", "evaluate", "compare_run@frame_cnn-0", "compare_run@pose_lstm-0",
              "fusion@0", "truth", "ablation", "compare"]:
        assert s in stages, s
    # the oracle-pose ablation: pose_lstm again on the renderer's joints, set beside its MediaPipe run
    report = (r.path / "reports/compare.md").read_text()
    assert "## Where pose accuracy is lost" in report and "| pose_lstm | test |" in report, report
    assert (r.path / "reports/ablation/pose_lstm/seed0/predictions.csv").exists()
    assert json.loads((r.path / "metrics/truth.json").read_text())["mediapipe_median_error"]["main"] < 0.1
    ev = json.loads((r.path / "reports/runs/main/eval.json").read_text())
    for key in ("top1", "top5", "mean_class_accuracy", "macro_precision", "macro_recall", "macro_f1",
                "per_class_f1", "test_clips", "parameters", "gflops_per_clip", "train_tflops", "shifted_top1"):
        assert key in ev, key
    # what differs between identical reruns is kept apart, outside git and DVC (reports/timings/)
    timings = json.loads((r.path / "reports/timings/runs/main/eval.json").read_text())
    for key in ("train_seconds", "train_clips_per_s", "inference_clips_per_s", "loader_clips_per_s"):
        assert key in timings and key not in ev, key
    assert "| frame_cnn |" in (r.path / "reports/timings/compare.md").read_text()
    assert ev["model"] == "frame_cnn" and ev["test_clips"] == 2 and ev["views"] == 2
    cmp = json.loads((r.path / "reports/compare.json").read_text())
    assert set(cmp["models"]) == {"frame_cnn", "pose_lstm", "fusion"}
    fusion = json.loads((r.path / "reports/runs/compare/fusion/seed0/train.json").read_text())
    assert fusion["parts"] == {"rgb": "frame_cnn", "pose": "pose_lstm"} and 0 <= fusion["fusion_weight"] <= 1
    assert len(fusion["weight_search"]) == 21 and fusion["val_clips"] >= 2
    report = (r.path / "reports/compare.md").read_text()
    assert "| pose_lstm | pose |" in report and "| fusion | fusion |" in report
    assert "too small to name a winner" in report and "Does fusion beat its better part?" in report
    for image in re.findall(r"\]\((figures/[^)]+)\)", report):
        assert (r.path / "reports" / image).read_bytes()[:4] == b"\x89PNG", image
    assert (r.path / "plots/main/confusion.csv").exists() and (r.path / "plots/confusion/frame_cnn-seed0.csv").exists()
    hist = pd.read_csv(r.path / "plots/main/history.csv")
    assert list(hist.epoch) == [1, 2, 3]
    for metric in ("train_acc", "val_acc", "train_loss", "val_loss"):
        curves = pd.read_csv(r.path / f"plots/curves/{metric}.csv")
        assert list(curves.columns) == ["epoch", "frame_cnn", "pose_lstm"]  # fusion fits one weight: no epochs
    assert "figures/curves.png" in (r.path / "reports/compare_appendix.md").read_text()


def test_the_main_model_is_not_trained_twice(repo):
    r, log = repo
    assert "reusing models/compare/frame_cnn/seed0.safetensors" in log
    assert log.count("[train] frame_cnn (small): best val acc") == 1
    assert (r.path / "models/model.safetensors").read_bytes() == (r.path / "models/compare/frame_cnn/seed0.safetensors").read_bytes()


def test_checkpoint_is_self_describing(repo):
    from src.learning.checkpoint import load_checkpoint
    r, _ = repo
    model, spec, meta = load_checkpoint(r.path / "models/model.safetensors")
    assert meta["model"] == "frame_cnn" and meta["classes"] == ["dancing charleston", "jumpstyle dancing"]
    assert spec.kind == "rgb" and spec.num_frames == 4 and len(meta["params_hash"]) == 16
    assert meta["config"]["trim"]["short_side"] == 64  # preprocessing travels with the model


def test_dvc_metrics_show_lists_only_the_curated_figures(repo):
    r, _ = repo
    shown = json.loads(r.dvc("metrics", "show", "--json"))
    files = {f: d["data"] for rev in shown.values() for f, d in rev["data"].items()}
    keys = {(Path(f).name, k) for f, d in files.items() for k in _leaves(d)}
    allowed_eval = {"top1", "macro_f1", "order_pair_accuracy", "shifted_top1"}
    assert {k for f, k in keys if f == "eval.json"} <= allowed_eval
    assert {k for f, k in keys if f in ("download.json", "trim.json", "frames.json")} == {"clips_ok", "clips_failed"}
    assert {k for f, k in keys if f == "pose.json"} == {"clips_ok", "clips_failed", "detection_rate"}
    assert {k for f, k in keys if f == "compare.json"} == {"top1.frame_cnn", "top1.pose_lstm", "top1.fusion"}
    assert {k for f, k in keys if f == "shifted.json"} == {"detection_rate"}
    assert not any("seconds" in k or "per_s" in k for _, k in keys)
    assert len(keys) <= 20


def _leaves(d: dict, prefix: str = "") -> list[str]:
    out = []
    for k, v in d.items():
        out += _leaves(v, f"{prefix}{k}.") if isinstance(v, dict) else [f"{prefix}{k}"]
    return out


def test_a_rerun_with_nothing_changed_leaves_metrics_diff_quiet(repo):
    r, _ = repo
    r.dvc("repro", "-f", "-s", "pose")  # recomputed from scratch: the same keypoints, the same manifest
    assert r.dvc("metrics", "diff").strip() == ""
    assert r.dvc("status").strip().endswith("up to date.") or "Data and pipelines are up to date" in r.dvc("status")


def test_mlflow_run_has_params_metrics_and_artifacts(repo):
    from mlflow.tracking import MlflowClient
    r, _ = repo
    client = MlflowClient(f"sqlite:///{r.path / 'mlruns' / 'mlflow.db'}")
    exp = client.get_experiment_by_name("video-action-recognition")
    runs = [run for run in client.search_runs([exp.experiment_id]) if "seed" in run.data.tags]
    assert {run.data.tags.get("model") for run in runs} >= {"frame_cnn", "pose_lstm"}
    run = next(run for run in runs if run.info.run_id == json.loads(
        (r.path / "reports/timings/runs/main/train.json").read_text())["mlflow_run_id"])
    assert run.data.params["train.epochs"] == "3" and run.data.params["model.name"] == "frame_cnn"
    assert "test_top1" in run.data.metrics and "best_val_acc" in run.data.metrics
    history = client.get_metric_history(run.info.run_id, "train_loss")
    assert len(history) == 3  # one point per epoch
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"confusion.png", "eval.json", "train.json"} <= artifacts


def test_exp_run_other_model_reruns_only_train_and_evaluate(repo):
    r, _ = repo
    log = r.dvc("exp", "run", "-S", "model.name=pose_lstm")
    assert sorted(ran(log)) == ["evaluate", "train"]
    diff = r.dvc("metrics", "diff", "--all")
    eval_rows = [line for line in diff.splitlines() if line.startswith("metrics/eval.json")]
    assert {"top1", "macro_f1"} <= {line.split()[1] for line in eval_rows}, diff
    assert json.loads((r.path / "reports/runs/main/eval.json").read_text())["model"] == "pose_lstm"
    assert "model.name" in r.dvc("params", "diff")
    assert "pose_lstm" in r.dvc("exp", "show", "--csv")
    # the two runs side by side fit a 160-column terminal, every cell readable
    r.env["COLUMNS"] = "160"
    try:
        table = r.dvc("exp", "show", "--only-changed", "--no-pager")
    finally:
        del r.env["COLUMNS"]
    assert "pose_lstm" in table and "…" not in table, table
    assert max(len(line) for line in table.splitlines()) <= 160, table


def test_a_forced_rerun_reproduces_every_output_and_the_lock(repo):
    """Training is deterministic on the CPU and no output holds a timing or a run id: a rerun leaves dvc.lock
    and every git-tracked report as they were (`git status` stays clean after an identical `dvc repro`)."""
    r, _ = repo
    run = r.path / "reports/runs/compare/pose_lstm/seed0"
    files = [r.path / "dvc.lock", r.path / "plots/history/pose_lstm-seed0.csv",
             r.path / "models/compare/pose_lstm/seed0.safetensors", *sorted(run.iterdir())]
    before = {f: f.read_bytes() for f in files}
    log = r.dvc("repro", "-f", "-s", "compare_run@pose_lstm-0")
    assert "compare_run@pose_lstm-0" in ran(log)
    for f, blob in before.items():
        assert f.read_bytes() == blob, f


def test_mlflow_model_loads_with_pyfunc_and_predicts_a_clip(repo):
    import mlflow
    import numpy as np
    r, _ = repo
    mlflow.set_tracking_uri(f"sqlite:///{r.path / 'mlruns' / 'mlflow.db'}")
    run_id = json.loads((r.path / "reports/timings/runs/compare/frame_cnn/seed0/train.json").read_text())["mlflow_run_id"]
    model = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    clip = np.random.default_rng(0).standard_normal((1, 3, 4, 64, 64)).astype(np.float32)
    out = np.asarray(model.predict(clip))
    assert out.shape == (1, 2) and np.isfinite(out).all()


def test_comparison_is_a_parent_run_and_the_winner_is_the_champion(repo):
    from mlflow.tracking import MlflowClient
    r, _ = repo
    client = MlflowClient(f"sqlite:///{r.path / 'mlruns' / 'mlflow.db'}")
    exp = client.get_experiment_by_name("video-action-recognition")
    parents = client.search_runs([exp.experiment_id], filter_string="tags.kind = 'comparison'")
    assert parents
    parent = parents[0]
    children = client.search_runs([exp.experiment_id],
                                  filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert {c.data.tags["model"] for c in children} == {"frame_cnn", "pose_lstm", "fusion"}
    # the winner twice: its run's own model (tensors in), and the video model logged under the comparison
    tensors = client.get_model_version_by_alias("video-action-recognition-tensors", "champion")
    assert tensors.run_id in {c.info.run_id for c in children}
    champion = client.get_model_version_by_alias("video-action-recognition", "champion")
    assert champion.run_id == parent.info.run_id and champion.tags["model"] == tensors.tags["model"] == \
        parent.data.tags["best_model"]
    assert all(c.data.tags["dvc_experiment"] == "workspace" for c in children)
    assert len({c.info.run_name for c in children}) == len(children)


def test_changing_the_learning_rate_reruns_training_but_not_pretraining(repo):
    r, _ = repo
    log = r.dvc("exp", "run", "-S", "train.lr=0.002")
    stages = ran(log)
    assert "pretrain" not in stages and "shifted" not in stages
    assert {"compare_run@frame_cnn-0", "compare_run@pose_lstm-0", "train", "evaluate"} <= set(stages)


def test_a_temporary_experiment_logs_to_the_repository_store(repo):
    from mlflow.tracking import MlflowClient
    r, _ = repo
    r.dvc("exp", "run", "--temp", "-S", "train.lr=0.004", "-S", "compare.models=[pose_lstm]")
    client = MlflowClient(f"sqlite:///{r.path / 'mlruns' / 'mlflow.db'}")
    exp = client.get_experiment_by_name("video-action-recognition")
    runs = client.search_runs([exp.experiment_id], filter_string="tags.dvc_experiment != 'workspace'")
    assert any(run.data.tags.get("model") == "pose_lstm" for run in runs)


def test_a_comparison_without_the_pose_models_runs_to_the_report(repo):
    """`compare.models` without stgcn and pose_lstm: fusion and the ablation have no parts, say so in their
    declared outputs, and the experiment still ends with compare.md."""
    r, _ = repo
    log = r.dvc("exp", "run", "--temp", "-n", "no-pose", "-S", "compare.models=[frame_cnn,c3d,cnn_lstm]")
    assert {"ablation", "fusion@0", "compare"} <= set(ran(log)), log[-3000:]
    ref = next(line for line in r.git("for-each-ref", "--format=%(refname)", "refs/exps").split()
               if line.endswith("/no-pose"))
    report = r.git("show", f"{ref}:reports/compare.md")
    assert "| c3d |" in report and "| cnn_lstm |" in report and "| fusion |" not in report
    assert "no pose model" in r.git("show", f"{ref}:reports/ablation/none.json")


def test_ddp_on_two_cpu_processes_writes_once_on_rank_zero(repo, tmp_path):
    """Multi-process training is Lightning's: under DDP every rank trains, only global rank zero writes the
    checkpoint, train.json, the history and the MLflow run (here 2 CPU processes talking gloo on 127.0.0.1)."""
    import shutil
    import subprocess
    import sys

    import yaml
    from mlflow.tracking import MlflowClient
    r, _ = repo
    copy = tmp_path / "repo"
    shutil.copytree(r.path, copy, symlinks=True, ignore=shutil.ignore_patterns(".git", ".dvc"))
    params = yaml.safe_load((copy / "params.yaml").read_text())
    params["model"]["name"] = "pose_lstm"
    params["train"].update(accelerator="cpu", devices=2, strategy="ddp", epochs=2)
    (copy / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for f in ("models/model.safetensors", "reports/runs/main/train.json", "plots/main/history.csv"):
        (copy / f).unlink(missing_ok=True)
    client = MlflowClient(f"sqlite:///{copy / 'mlruns' / 'mlflow.db'}")
    exp = client.get_experiment_by_name("video-action-recognition")
    before = {run.info.run_id for run in client.search_runs([exp.experiment_id])}
    res = subprocess.run([sys.executable, "-m", "stages.train"], cwd=copy, env=r.env, capture_output=True,
                         text=True, timeout=300)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-4000:]
    assert "distributed_backend=gloo" in out and "All distributed processes registered. Starting with 2" in out
    assert out.count("[train] pose_lstm (small): best val acc") == 1  # the summary line, from rank zero only
    new = [run for run in client.search_runs([exp.experiment_id]) if run.info.run_id not in before]
    assert [run.data.tags["model"] for run in new] == ["pose_lstm"]  # one MLflow run, not one per rank
    figures = json.loads((copy / "reports/runs/main/train.json").read_text())
    timings = json.loads((copy / "reports/timings/runs/main/train.json").read_text())
    assert timings["mlflow_run_id"] == new[0].info.run_id and figures["epochs_run"] == 2
    assert len(pd.read_csv(copy / "plots/main/history.csv")) == 2
    assert "train.json" in {a.path for a in client.list_artifacts(new[0].info.run_id)}
    import mlflow
    mlflow.set_tracking_uri(f"sqlite:///{copy / 'mlruns' / 'mlflow.db'}")
    assert mlflow.pyfunc.load_model(f"runs:/{new[0].info.run_id}/model").metadata.run_id == new[0].info.run_id
    from src.learning.checkpoint import load_checkpoint
    _, _, meta = load_checkpoint(copy / "models/model.safetensors")
    assert meta["model"] == "pose_lstm" and meta["config"]["train"]["strategy"] == "ddp"


def test_a_training_stage_killed_and_rerun_writes_the_same_checkpoint_bytes(repo, tmp_path):
    """SIGKILL in the middle of training, then rerun: the checkpoint is byte-identical to an uninterrupted run's
    (safetensors carry no random serialization id; training is deterministic on a given CPU) and the killed
    run left nothing under the checkpoint's name."""
    import select
    import shutil
    import signal
    import subprocess
    import sys
    import time

    import yaml
    r, _ = repo
    copy = tmp_path / "repo"
    shutil.copytree(r.path, copy, symlinks=True, ignore=shutil.ignore_patterns(".git", ".dvc"))
    params = yaml.safe_load((copy / "params.yaml").read_text())
    params["train"]["epochs"] = 40  # long enough to be killed mid-training
    (copy / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    ckpt = copy / "models/compare/pose_lstm/seed0.safetensors"
    cmd = [sys.executable, "-m", "stages.train", "--compare", "pose_lstm", "--seed", "0"]

    def train() -> bytes:
        ckpt.unlink(missing_ok=True)
        res = subprocess.run(cmd, cwd=copy, env=r.env, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stderr[-3000:]
        return ckpt.read_bytes()
    uninterrupted = train()
    ckpt.unlink()
    proc = subprocess.Popen(cmd, cwd=copy, env=r.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline, seen, started = time.time() + 120, b"", b"to estimate number of stepping batches"
        while started not in seen and time.time() < deadline:  # Lightning's Trainer.fit has begun
            if select.select([proc.stderr], [], [], 1.0)[0]:
                chunk = os.read(proc.stderr.fileno(), 4096)
                if not chunk:
                    break
                seen = seen[-200:] + chunk
        assert started in seen, "training never started"
        time.sleep(0.5)  # into the epochs (40 of them take a few seconds)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not ckpt.exists() and not list(ckpt.parent.glob(".tmp-*"))
    assert train() == uninterrupted


def test_plots_show_leaves_git_status_clean(repo):
    """The documented workflow (`dvc repro`, then `dvc plots show`) leaves nothing untracked: dvc_plots/ is
    ignored."""
    r, _ = repo
    template = ROOT / ".dvc/plots/offline.html"  # written by `make setup` (src/reporting/plots_page.py)
    assert template.exists(), "run `make setup` (it writes the offline plots template)"
    shutil.copy(template, r.path / ".dvc/plots/offline.html")
    r.dvc("plots", "show")
    assert (r.path / "dvc_plots/index.html").exists()
    assert "dvc_plots" not in r.git("status", "--porcelain")
