"""Every registered model at its small size: forward + backward, output (batch, classes)."""
import pytest
import torch

from src.models.build import BUILDERS, build_model
from src.models.registry import MODELS, input_spec
from src.models.weights import WeightsError, load_local, save_weights


def tiny_input(name: str, batch: int = 2, size: str = "small"):
    return spec_input(input_spec(name, size), batch)


def spec_input(spec, batch: int):
    """Random input of a spec: a clip, a keypoint sequence, or a fusion model's pair of both."""
    if spec.kind == "fusion":
        from src.learning.checkpoint import spec_from_dict
        return tuple(spec_input(spec_from_dict(d), batch) for d in spec.parts)
    if spec.kind == "pose":
        return torch.randn(batch, spec.num_frames, 33, 4)
    return torch.randn(batch, 3, spec.num_frames, spec.size, spec.size)


@pytest.mark.parametrize("name", list(MODELS))
def test_forward_backward_shape(name):
    torch.manual_seed(0)
    model = build_model(name, num_classes=5, size="small")
    out = model(tiny_input(name))
    assert out.shape == (2, 5)
    (out * torch.linspace(-1, 1, out.shape[1])).sum().backward()  # any non-constant function of the logits
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert grads and all(g is not None for g in grads[:1]) and any(g.abs().sum() > 0 for g in grads if g is not None)


def test_every_model_declares_small_and_full_sizes_and_its_input():
    for name, entry in MODELS.items():
        assert set(entry.sizes) == {"small", "full"}, name
        assert entry.kind in ("rgb", "pose", "fusion") and entry.family in ("frame", "temporal", "pose", "fusion")
        assert entry.why, f"{name}: the registry must say why its small preset has its shape"
        full, small = input_spec(name, "full"), input_spec(name, "small")
        if entry.kind == "rgb":
            assert full.size >= small.size and full.size >= 112


def test_unknown_model_lists_the_registry():
    with pytest.raises(ValueError, match="registered models: frame_cnn, cnn_lstm, c3d"):
        build_model("resnet9000", 3)


def test_unknown_model_name_in_params_is_a_param_error():
    from src.config import ParamError, params_from_dict
    with pytest.raises(ParamError, match=r"model.name.*videomae"):
        params_from_dict({"model": {"name": "nope"}})
    with pytest.raises(ParamError, match=r"compare.models.*nope"):
        params_from_dict({"compare": {"models": ["c3d", "nope"]}})


@pytest.mark.parametrize("name", ["c3d", "videomae", "x3d_xs"])
def test_weights_round_trip_through_a_local_folder(tmp_path, name):
    """Save random weights with the library's save function, load them via model.weights."""
    torch.manual_seed(1)
    src = build_model(name, 4)
    save_weights(src, tmp_path / "w")
    torch.manual_seed(2)
    dst = build_model(name, 4)
    x = tiny_input(name)
    src.eval(), dst.eval()
    assert not torch.allclose(src(x), dst(x))
    skipped = load_local(dst, tmp_path / "w")
    assert skipped == []
    assert torch.allclose(src(x), dst(x), atol=1e-5)
    # another class count: the body loads, the head is replaced (left fresh)
    other = build_model(name, 7)
    skipped = load_local(other, tmp_path / "w")
    assert skipped and all(p.numel() < 0.2 * sum(v.numel() for v in other.state_dict().values())
                           for p in [other.state_dict()[k] for k in skipped])


def test_weights_of_another_architecture_are_refused(tmp_path):
    save_weights(build_model("pose_lstm", 4), tmp_path / "w")
    with pytest.raises(WeightsError, match="only .* parameters fit"):
        load_local(build_model("c3d", 4), tmp_path / "w")
    with pytest.raises(WeightsError, match="does not exist"):
        load_local(build_model("c3d", 4), tmp_path / "missing")


def test_pretrained_offline_says_what_to_download(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(WeightsError, match=r"Download https://download.pytorch.org/models/r3d_18.*hub"):
        build_model("r3d_18", 4, size="full", pretrained=True)
    with pytest.raises(WeightsError, match="full only"):
        build_model("r3d_18", 4, size="small", pretrained=True)


def test_c3d_on_frame_differences_ignores_a_static_background():
    """motion='diff' sees only what moved: adding a fixed picture to every frame changes nothing,
    while the plain RGB C3D does react to it."""
    from src.models.c3d import C3D
    torch.manual_seed(0)
    x = torch.randn(2, 3, 8, 32, 32)
    background = torch.randn(1, 3, 1, 32, 32)
    diff, rgb = C3D(4, motion="diff").eval(), C3D(4, motion="none").eval()

    def features(model, clip):
        if model.motion == "diff":
            clip = clip[:, :, 1:] - clip[:, :, :-1]
        return model.pool(model.features(clip)).flatten(1)

    with torch.no_grad():
        assert torch.allclose(diff(x), diff(x + background), atol=1e-5)
        assert torch.allclose(features(diff, x), features(diff, x + background), atol=1e-5)
        a, b = features(rgb, x), features(rgb, x + background)
        assert (a - b).norm() > 0.05 * a.norm()
    with pytest.raises(ValueError, match="allowed values: none, diff, rgb\\+diff"):
        C3D(4, motion="flow")


def test_every_registry_entry_has_a_builder():
    assert set(BUILDERS) == set(MODELS)


def test_a_misspelt_preset_key_fails_naming_model_and_key(monkeypatch):
    import dataclasses
    from src.models import registry
    entry = registry.MODELS["c3d"]
    bad = dataclasses.replace(entry, sizes={**entry.sizes, "small": {**entry.sizes["small"], "fc_dims": 128}})
    monkeypatch.setitem(registry.MODELS, "c3d", bad)
    with pytest.raises(ValueError, match=r"c3d \(small\): preset key\(s\) fc_dims .*allowed keys: .*fc_dim"):
        build_model("c3d", 4)


@pytest.mark.parametrize("name", list(MODELS))
def test_full_size_builds_trains_on_one_clip_and_loads_a_local_file(name, tmp_path):
    """The published configuration of every model: built, one forward and backward pass on one clip
    (batch-norm statistics frozen, as with batch 1 they must be), weights saved and loaded back."""
    torch.manual_seed(0)
    model = build_model(name, num_classes=4, size="full").eval()
    x = tiny_input(name, 1, "full")
    out = model(x)
    assert out.shape == (1, 4)
    out.sum().backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    torch.save(model.state_dict(), tmp_path / "weights.pt")
    torch.manual_seed(1)
    other = build_model(name, num_classes=4, size="full").eval()
    assert load_local(other, tmp_path / "weights.pt") == []
    with torch.no_grad():
        assert torch.allclose(other(x), out.detach(), atol=1e-4)


# the registry's models that read the differences of their input frames through src/models/motion.py
# (c3d computes its own: test_c3d_on_frame_differences_ignores_a_static_background)
DIFF_MODELS = [n for n, e in MODELS.items() if e.sizes["small"].get("motion") == "diff" and n != "c3d"]


def test_the_seed_video_models_read_frame_differences():
    assert {"r2plus1d_18", "x3d_xs", "slowfast_r50", "mvit_v2_s", "videomae"} <= set(DIFF_MODELS)


@pytest.mark.parametrize("name", DIFF_MODELS)
def test_a_model_on_frame_differences_ignores_a_static_background(name):
    """What stays still (a background photo) drops out before the model: the same clip over another still
    picture gives the same scores; a change between frames does not."""
    torch.manual_seed(0)
    model = build_model(name, 4).eval()
    x = tiny_input(name)
    background = torch.randn(1, 3, 1, *x.shape[-2:])
    moved = x.clone()
    moved[:, :, -1] += background[:, :, 0]
    with torch.no_grad():
        scores = model(x)
        still = (model(x + background) - scores).abs().max()
        change = (model(moved) - scores).abs().max()
    assert still < 1e-4 and change > max(10 * still, 1e-7), (float(still), float(change))


def test_r2plus1d_keeps_the_time_steps_to_its_last_stage():
    """The small preset's temporal strides (1, 1, 2): 8 steps through the third stage, 4 in the last, where
    torchvision's strides leave 1."""
    from src.models import zoo

    def steps(resnet, clip):
        seen = []
        for layer in (resnet.layer1, resnet.layer2, resnet.layer3, resnet.layer4):
            layer.register_forward_hook(lambda _m, _i, out: seen.append(out.shape[2]))
        resnet(clip)
        return seen

    small = build_model("r2plus1d_18", 4)  # FrameDifferences around the network: 9 frames -> 8 differences
    assert steps(small.model, torch.randn(1, 3, 8, 48, 48)) == [8, 8, 8, 4]
    published = zoo.video_resnet("r2plus1d_18", 4, (1, 1, 1, 1), width=16)
    assert steps(published, torch.randn(1, 3, 8, 48, 48)) == [8, 4, 2, 1]


@pytest.mark.parametrize("stride", [4, 8, 16])
def test_the_conv_tokenizer_gives_the_grid_of_the_patch_embedding_it_replaces(stride):
    from src.models.zoo import ConvTokenizer, mvit
    tokens = ConvTokenizer(24, stride, tubelet=2)(torch.randn(2, 3, 8, 64, 64))
    assert tokens.shape == (2, 24, 4, 64 // stride, 64 // stride)
    with pytest.raises(ValueError, match="power of two >= 4"):
        mvit(4, 8, 64, 4, tokenizer="conv", token_stride=6)


def test_a_videomae_folder_of_another_tokenizer_is_refused(tmp_path):
    from src.models.zoo import VideoMAE
    VideoMAE(4, 8, 32, 32, 1, 2, patch=8).save_hf_folder(tmp_path / "linear")
    with pytest.raises(WeightsError, match="another patch embedding"):
        VideoMAE(4, 8, 32, 32, 1, 2, patch=8, tokenizer="conv").load_hf_folder(tmp_path / "linear")
