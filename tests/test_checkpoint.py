"""Self-describing checkpoints and the clear errors a user gets on a wrong one."""
import pytest
import torch

from src.learning.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from src.models.build import build_model, input_spec

CLASSES = ["a", "b", "c"]


@pytest.fixture
def ckpt(tmp_path):
    model = build_model("pose_lstm", 3)
    path = tmp_path / "model.pt"
    save_checkpoint(path, model, name="pose_lstm", size="small", classes=CLASSES,
                    spec=input_spec("pose_lstm"), params_hash="0" * 16, config={})
    return path, model


def test_round_trip_without_params(ckpt):
    path, model = ckpt
    loaded, spec, meta = load_checkpoint(path, CLASSES)
    x = torch.randn(2, spec.num_frames, 33, 4)
    model.eval()
    assert torch.allclose(loaded(x), model(x)) and meta["classes"] == CLASSES and spec.kind == "pose"


def test_other_class_set_is_refused(ckpt):
    with pytest.raises(CheckpointError, match=r"trained on classes \['a', 'b', 'c'\] but the data has"):
        load_checkpoint(ckpt[0], ["a", "b"])


def test_weights_of_another_model_are_refused(ckpt, tmp_path):
    meta = torch.load(ckpt[0], weights_only=False)
    meta["model"] = "c3d"
    torch.save(meta, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="do not fit c3d"):
        load_checkpoint(tmp_path / "other.pt")


def test_version_and_format_are_checked(ckpt, tmp_path):
    meta = torch.load(ckpt[0], weights_only=False)
    meta["version"] = 99
    torch.save(meta, tmp_path / "v99.pt")
    with pytest.raises(CheckpointError, match="version 99"):
        load_checkpoint(tmp_path / "v99.pt")
    torch.save({"state_dict": {}}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not a checkpoint of this pipeline"):
        load_checkpoint(tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
