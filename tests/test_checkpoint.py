"""Self-describing safetensors checkpoints: clear errors on a wrong one, identical bytes for identical weights,
and no code run by a crafted pickle, wherever weights are read."""
import json
import os
import pickle
import subprocess
import sys

import pytest
import torch

from src.errors import run_cli
from src.learning.checkpoint import FORMAT, CheckpointError, checkpoint_bytes, convert, load_checkpoint, \
    read_checkpoint, save_checkpoint
from src.models.build import build_model, input_spec
from src.models.weights import WeightsError, load_local
from tests.conftest import ROOT

CLASSES = ["a", "b", "c"]


def save(path, model, **extra):
    save_checkpoint(path, model, name="pose_lstm", size="small", classes=CLASSES, spec=input_spec("pose_lstm"),
                    params_hash="0" * 16, config={"train": {"crop_scale": (0.8, 1.0)}}, **extra)


@pytest.fixture
def ckpt(tmp_path):
    torch.manual_seed(0)
    model = build_model("pose_lstm", 3)
    path = tmp_path / "model.safetensors"
    save(path, model, history=[{"epoch": 1, "val_acc": 0.5}])
    return path, model


class Crafted:
    """What a malicious checkpoint holds: unpickling it calls os.system."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.fixture
def crafted(tmp_path):
    """A torch.save checkpoint whose pickle runs `touch MARKER`, named like a checkpoint of this pipeline."""
    marker = tmp_path / "code-ran"
    path = tmp_path / "crafted.safetensors"
    torch.save({"format": FORMAT, "version": 1, "state_dict": Crafted(marker)}, path)
    legacy = tmp_path / "crafted_legacy.pt"  # a plain pickle stream, as torch.save wrote before its zip format
    legacy.write_bytes(pickle.dumps({"state_dict": Crafted(marker)}, protocol=2))
    return path, legacy, marker


def test_round_trip_without_params(ckpt):
    path, model = ckpt
    loaded, spec, meta = load_checkpoint(path, CLASSES)
    x = torch.randn(2, spec.num_frames, 33, 4)
    model.eval()
    assert torch.allclose(loaded(x), model(x)) and meta["classes"] == CLASSES and spec.kind == "pose"
    assert meta["history"] == [{"epoch": 1, "val_acc": 0.5}] and meta["config"]["train"]["crop_scale"] == [0.8, 1.0]


def test_same_weights_and_metadata_give_the_same_bytes(ckpt, tmp_path):
    path, model = ckpt
    save(tmp_path / "again.safetensors", model, history=[{"epoch": 1, "val_acc": 0.5}])
    assert (tmp_path / "again.safetensors").read_bytes() == path.read_bytes()
    code = ("import torch; from tests.test_checkpoint import save; from src.models.build import build_model; "
            f"torch.manual_seed(0); save({str(tmp_path / 'other_process.safetensors')!r}, build_model('pose_lstm', 3), "
            "history=[{'epoch': 1, 'val_acc': 0.5}])")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)  # another process, another hash seed
    assert (tmp_path / "other_process.safetensors").read_bytes() == path.read_bytes()
    save(tmp_path / "changed.safetensors", model, history=[{"epoch": 1, "val_acc": 0.6}])
    assert (tmp_path / "changed.safetensors").read_bytes() != path.read_bytes()


def test_other_class_set_is_refused(ckpt):
    with pytest.raises(CheckpointError, match=r"trained on classes \['a', 'b', 'c'\] but the data has"):
        load_checkpoint(ckpt[0], ["a", "b"])


def test_weights_of_another_model_are_refused(ckpt, tmp_path):
    state, meta = read_checkpoint(ckpt[0])
    (tmp_path / "other.safetensors").write_bytes(checkpoint_bytes(state, {**meta, "model": "c3d"}))
    with pytest.raises(CheckpointError, match="do not fit c3d"):
        load_checkpoint(tmp_path / "other.safetensors")


def test_version_and_format_are_checked(ckpt, tmp_path):
    state, meta = read_checkpoint(ckpt[0])
    (tmp_path / "v99.safetensors").write_bytes(checkpoint_bytes(state, {**meta, "version": 99}))
    with pytest.raises(CheckpointError, match="version 99"):
        load_checkpoint(tmp_path / "v99.safetensors")
    from safetensors.torch import save_file
    save_file({"w": torch.zeros(2)}, str(tmp_path / "foreign.safetensors"))
    with pytest.raises(CheckpointError, match="not a checkpoint of this pipeline"):
        load_checkpoint(tmp_path / "foreign.safetensors")
    (tmp_path / "garbage.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="not a checkpoint of this pipeline"):
        load_checkpoint(tmp_path / "garbage.safetensors")
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing.safetensors")


def test_a_crafted_pickle_is_refused_and_runs_no_code(crafted, tmp_path):
    path, legacy, marker = crafted
    for f in (path, legacy):
        with pytest.raises(CheckpointError, match="pickle .* can run code while it loads, so it is not read"):
            load_checkpoint(f)
        with pytest.raises(WeightsError, match="holds more than weights, refused"):
            load_local(build_model("pose_lstm", 3), f)
        with pytest.raises(CheckpointError, match="holds more than weights"):
            convert(f, tmp_path / "converted.safetensors")
    assert not marker.exists() and not (tmp_path / "converted.safetensors").exists()


def test_predict_refuses_a_crafted_pickle_with_exit_status_2_and_one_line(crafted, video):
    path, _, marker = crafted
    res = subprocess.run([sys.executable, "-m", "src.predict", str(video), "--model", str(path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and not marker.exists(), res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "pickle" in lines[0], res.stderr


def test_evaluate_and_model_weights_refuse_a_crafted_pickle_with_exit_status_2(crafted, tiny_data, tmp_path,
                                                                                capsys):
    import dataclasses

    from stages import evaluate, train
    path, _, marker = crafted
    paths = dataclasses.replace(tiny_data.paths, models=tmp_path / "models", reports=tmp_path / "reports")
    params = dataclasses.replace(tiny_data, paths=paths)
    (tmp_path / "models").mkdir()
    os.replace(path, tmp_path / "models" / "model.safetensors")
    with pytest.raises(SystemExit) as exit_info:
        run_cli(evaluate.main, params)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "model.safetensors is a pickle" in err[0]
    weights = dataclasses.replace(params, model=dataclasses.replace(params.model, weights=str(
        tmp_path / "models" / "model.safetensors")))
    with pytest.raises(SystemExit) as exit_info:
        run_cli(train.main, weights)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: model.weights: ") and "refused" in err[-1]
    assert not marker.exists()


def test_an_old_pickle_checkpoint_says_how_to_convert_and_converts(ckpt, tmp_path):
    """A version-1 checkpoint (torch.save of this pipeline's dict) is refused, naming the converter; the
    converter reads it weights-only and writes a checkpoint that loads to the same model."""
    path, model = ckpt
    state, meta = read_checkpoint(path)
    old = tmp_path / "old.pt"
    torch.save({**meta, "version": 1, "input": input_spec("pose_lstm").as_dict(), "state_dict": model.state_dict()},
               old)
    with pytest.raises(CheckpointError, match=r"python -m src\.learning\.checkpoint convert .*old\.pt"):
        load_checkpoint(old)
    with pytest.raises(WeightsError, match="convert it once"):
        load_local(build_model("pose_lstm", 3), old)
    res = subprocess.run([sys.executable, "-m", "src.learning.checkpoint", "convert", str(old),
                          str(tmp_path / "new.safetensors")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    loaded, _, new_meta = load_checkpoint(tmp_path / "new.safetensors", CLASSES)
    x = torch.randn(2, 12, 33, 4)
    model.eval()
    assert torch.allclose(loaded(x), model(x)) and new_meta["version"] == meta["version"]
    assert json.loads(json.dumps(new_meta["input"])) == meta["input"]
