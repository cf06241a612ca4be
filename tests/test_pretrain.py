"""Self-supervised VideoMAE pretraining: the loss falls, fine-tuning really starts from its encoder, and
bad set-ups say what is wrong."""
import dataclasses

import pytest
import torch

from src.learning.pretrain import LitMAE, tube_mask
from src.models.weights import WeightsError
from src.models.zoo import VideoMAE, videomae_config

TINY = dict(num_frames=4, size=32, hidden=32, layers=1, heads=2, patch=8, tubelet=2)


def tiny_pretraining_model():
    from transformers import VideoMAEForPreTraining
    torch.manual_seed(0)
    return VideoMAEForPreTraining(videomae_config(**TINY, norm_pix_loss=True, decoder_hidden_size=32,
                                                  decoder_num_hidden_layers=1, decoder_num_attention_heads=2,
                                                  decoder_intermediate_size=64))


def moving_patterns(n: int = 4) -> torch.Tensor:
    """B×T×C×H×W clips of smooth random patterns sliding diagonally: structure a masked autoencoder can
    learn to fill in from the visible patches."""
    torch.manual_seed(0)
    base = torch.nn.functional.interpolate(torch.rand(n, 3, 8, 8), size=(48, 48), mode="bilinear",
                                           align_corners=False)
    x = torch.stack([base[:, :, 2 * t:2 * t + 32, 3 * t:3 * t + 32] for t in range(4)], 1)
    return (x - 0.45) / 0.225


def test_tube_mask_hides_the_same_patches_in_every_frame():
    g = torch.Generator().manual_seed(0)
    mask = tube_mask(3, num_frames=8, size=32, patch=8, tubelet=2, ratio=0.75, generator=g)
    assert mask.shape == (3, 4 * 16) and (mask.sum(1) == 4 * 12).all()
    per_time = mask.view(3, 4, 16)
    assert (per_time == per_time[:, :1]).all()          # a tube: identical at every time step
    assert not (per_time[0, 0] == per_time[1, 0]).all()  # but different clips hide different patches


def test_pretraining_loss_falls_on_a_few_tiny_clips():
    model = tiny_pretraining_model()
    lit = LitMAE(model, dict(num_frames=4, size=32, patch=8, tubelet=2, ratio=0.75, seed=0), lr=3e-3,
                 weight_decay=0.0, warmup_epochs=0, epochs=1)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    x = moving_patterns()
    losses = []
    for _ in range(150):
        mask = tube_mask(len(x), generator=lit.gen, **lit.mask_args)
        loss = model(pixel_values=x, bool_masked_pos=mask).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-10:]) / 10 < 0.9 * sum(losses[:10]) / 10, losses


def test_fine_tuning_starts_from_the_pretrained_encoder(tmp_path):
    pre = tiny_pretraining_model()
    pre.save_pretrained(tmp_path / "videomae")
    clf = VideoMAE(5, **TINY)
    n = clf.load_encoder(tmp_path / "videomae")
    own = clf.hf.videomae.state_dict()
    assert n == len(own) > 5
    for k, v in pre.videomae.state_dict().items():
        assert torch.equal(own[k], v), k


def test_an_encoder_of_another_size_is_refused_naming_both_shapes(tmp_path):
    tiny_pretraining_model().save_pretrained(tmp_path / "videomae")
    bigger = VideoMAE(5, **{**TINY, "hidden": 48, "heads": 2})
    with pytest.raises(WeightsError, match=r"another size or input shape: .* is \(.*32.*\) there but \(.*48.*\)"):
        bigger.load_encoder(tmp_path / "videomae")


def test_selfsup_for_a_model_without_one_names_the_allowed_values(tiny_params):
    from src.config import ParamError
    from src.learning.runs import resolve_init
    p = dataclasses.replace(tiny_params, model=dataclasses.replace(tiny_params.model, init="selfsup"))
    with pytest.raises(ParamError, match=r"c3d has no self-supervised pretraining .*videomae.*allowed values"):
        resolve_init(p, "c3d")
    assert resolve_init(dataclasses.replace(tiny_params, model=dataclasses.replace(tiny_params.model, init="auto")),
                        "c3d") == "scratch"


def test_an_unknown_init_is_a_param_error():
    from src.config import ParamError, SECTIONS
    allowed = "auto, scratch, selfsup, kinetics"
    with pytest.raises(ParamError, match=rf"model.init: got 'imagenet'; allowed values: {allowed}"):
        SECTIONS["model"](name="c3d", size="small", init="imagenet", weights=None)


def test_too_few_clips_to_pretrain_states_found_and_minimum(tiny_data):
    from src.annotations import StageError
    from src.learning.pretrain import pretrain_videomae
    p = dataclasses.replace(tiny_data, pretrain=dataclasses.replace(tiny_data.pretrain, min_clips=50))
    with pytest.raises(StageError, match=r"found 2 training clips, the minimum is pretrain.min_clips=50"):
        pretrain_videomae(p, p.paths.pretrain / "videomae", p.paths.plots / "pretrain" / "videomae.csv")


def test_a_conv_tokenizer_never_sees_the_hidden_patches():
    """The tokenizer's convolutions reach across patch borders: during pretraining the hidden patches' pixels are
    zeros to it, so a visible token carries nothing of what the decoder must reconstruct."""
    from transformers import VideoMAEForPreTraining

    from src.learning.pretrain import visible_pixels_only
    from src.models.zoo import use_tokenizer
    torch.manual_seed(0)
    model = VideoMAEForPreTraining(videomae_config(**TINY, tokenizer="conv")).eval()
    use_tokenizer(model.videomae, "conv", TINY["hidden"], TINY["patch"], TINY["tubelet"])
    embed = model.videomae.embeddings.patch_embeddings.eval()
    mask = tube_mask(2, num_frames=4, size=32, patch=8, tubelet=2, ratio=0.75,
                     generator=torch.Generator().manual_seed(0))
    x = moving_patterns(2)  # B×T×C×H×W
    other = x.clone()
    hidden = mask.view(2, 2, 4, 4)[:, 0]  # the same patches at every time step
    for b, i, j in hidden.nonzero().tolist():
        other[b, :, :, 8 * i:8 * i + 8, 8 * j:8 * j + 8] = torch.randn(4, 3, 8, 8)
    with torch.no_grad():
        with visible_pixels_only(model.videomae, mask, 8, 2):
            a, b = embed(x), embed(other)
        plain_a, plain_b = embed(x), embed(other)
    assert torch.allclose(a[~mask], b[~mask], atol=1e-5)                    # visible tokens: blind to hidden pixels
    assert not torch.allclose(plain_a[~mask], plain_b[~mask], atol=1e-3)    # without the guard they would see them


def test_the_stage_pretrains_what_the_classifier_reads_and_fine_tuning_loads_it(tiny_data, tmp_path):
    """The registry's videomae preset (the convolutional tokenizer on frame differences) through the pretrain
    stage: every encoder tensor of the classifier built from the same preset, the tokenizer's included, loads
    from the stage's folder; the stage's curve is a DVC plot."""
    from src.models.build import build_model
    from stages import pretrain
    paths = dataclasses.replace(tiny_data.paths, pretrain=tmp_path / "pretrain", plots=tmp_path / "plots")
    p = dataclasses.replace(tiny_data, paths=paths,
                            pretrain=dataclasses.replace(tiny_data.pretrain, models=["videomae"], epochs=1))
    figures = pretrain.main(p)
    assert set(figures) == {"videomae"} and (tmp_path / "plots/pretrain/videomae.csv").exists()
    assert (tmp_path / "pretrain/c3d/none.json").exists()
    clf = build_model("videomae", 2)
    own = clf.hf.videomae.state_dict()
    assert any(".projection.0." in k for k in own)  # the tokenizer's first convolution
    assert clf.load_encoder(tmp_path / "pretrain/videomae") == len(own)


def test_with_nothing_to_pretrain_the_stage_writes_its_markers_without_importing_lightning(tiny_params):
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", "import sys, stages.pretrain; print('lightning' in sys.modules)"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    from stages import pretrain
    p = dataclasses.replace(tiny_params, pretrain=dataclasses.replace(tiny_params.pretrain, models=[]))
    assert pretrain.main(p) == {}
    assert (p.paths.plots / "pretrain").is_dir() and (p.paths.pretrain / "videomae/none.json").exists()
