"""One literal registry of every model the pipeline can train, as plain data.

Each entry says what it eats (RGB clip B×C×T×H×W or pose sequence B×T×33×4),
its family (frame / temporal / pose, used by the comparison), and two size
presets as plain data: `small` fits a 2-core CPU run, `full` is the published
configuration (the one pretrained Kinetics weights fit). The constructors live in
src/models/build.py: this module imports nothing heavy, so validating params
(src/config.py) needs neither torch nor the model code.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

KINETICS_MEAN, KINETICS_STD = (0.45, 0.45, 0.45), (0.225, 0.225, 0.225)
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class InputSpec:
    kind: str            # "rgb", "pose", or "fusion" (both: the specs of its two parts in `parts`)
    num_frames: int
    size: int = 0        # square crop side for rgb
    mean: tuple = KINETICS_MEAN
    std: tuple = KINETICS_STD
    crop: str = "frame"  # rgb: "frame" (whole frame) or "person" (square box around the pose keypoints)
    parts: tuple = ()    # fusion: (the RGB part's spec, the pose part's spec) as dicts

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Recipe:
    """How a model trains at its small size on this pipeline's data: the per-model settings that
    mmaction2 configs and pytorchvideo recipes fix. A non-null key of params.yaml's `train` section
    overrides the recipe of every model it trains."""
    epochs: int
    batch_size: int
    optimizer: str         # adamw | sgd | asgd
    lr: float
    warmup_epochs: float
    weight_decay: float
    label_smoothing: float
    mixup_alpha: float     # > 0: MixUp
    channels_last: bool = False  # channels-last 3D memory layout (faster for some 3D CNNs on CPU)
    # bf16 autocast on a CPU with bf16 units (avx512_bf16, AMX) when train.precision is null: set where
    # benchmarks/bench_models.py measured it faster than fp32 there and its gradients deterministic and finite
    # (oneDNN's bf16 conv3d weight gradients on small grids were neither: every 3D CNN here stays fp32)
    bf16: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


RECIPE_KEYS = ("epochs", "batch_size", "optimizer", "lr", "warmup_epochs", "weight_decay", "label_smoothing",
               "mixup_alpha")


@dataclass(frozen=True)
class ModelEntry:
    family: str          # "frame", "temporal", "pose" or "fusion"
    kind: str            # "rgb", "pose" or "fusion"
    sizes: dict          # size name -> dict(num_frames=, size=, **builder kwargs)
    reference: str
    recipe: Recipe = None  # set on every entry below
    pretrained: str = "" # what model.init=kinetics loads (full size only)
    selfsup: str = ""    # the self-supervised pretraining the pretrain stage can run for it
    imagenet_norm: bool = False
    why: str = ""        # why the small preset has the shape it has


def _x3d_sizes(small: tuple, full: tuple, **small_extra) -> dict:
    """(num_frames, crop, depth_factor) per size; crops are multiples of 32 (X3D's head pool).

    The small size also narrows the bottlenecks (2.25 -> 1.5) and the head (2048 -> 512): 30% less
    time per training step on 2 CPU cores; full keeps the published widths the weights fit.
    """
    sizes = {name: dict(num_frames=t, size=s, depth_factor=d) for name, (t, s, d) in
             (("small", small), ("full", full))}
    sizes["small"].update(bottleneck_factor=1.5, head_dim_out=512, dropout=0.0, **small_extra)
    return sizes


def recipe(epochs: int, lr: float, batch_size: int = 8, optimizer: str = "adamw", warmup_epochs: float = 1.0,
           weight_decay: float = 0.01, label_smoothing: float = 0.1, mixup_alpha: float = 0.0,
           channels_last: bool = False, bf16: bool = False) -> Recipe:
    """A recipe, spelled with the settings these models share (AdamW, one warm-up epoch, label smoothing 0.1)."""
    return Recipe(epochs, batch_size, optimizer, lr, warmup_epochs, weight_decay, label_smoothing, mixup_alpha,
                  channels_last, bf16)


# Recipes and small presets were chosen on validation figures, never test ones (docs/recipes.md): the first ones on
# a 2x larger copy of the default data with a leaner loop; those of the 3D CNNs, the transformers and stgcn on the
# default data's validation split through `python -m benchmarks.recipe_search`, which trains with the pipeline's
# own code (the figure it prints is the one compare_run's train.json records for the same recipe). A recipe trains
# 15 epochs of the default 640 training clips (600 steps of 16) unless it says otherwise, with AdamW, a one-epoch
# warm-up, cosine decay and weight decay 0.05; its `why` says where its curve asked for more or fewer.
MODELS: dict[str, ModelEntry] = {
    "frame_cnn": ModelEntry(
        family="frame", kind="rgb", imagenet_norm=True,
        recipe=recipe(epochs=15, lr=3e-3, batch_size=16, weight_decay=0.05, bf16=True),
        sizes={"small": dict(num_frames=4, size=64, layers=(1, 1, 1, 1), width=32),
               "full": dict(num_frames=8, size=224, layers=(2, 2, 2, 2))},
        why="ResNet-10 at width 32 on 64-px person crops: at 64 px the dancer's limbs are 3 px wide, which the "
            "7x7 stride-2 stem and max-pool keep; 4 frames suffice, since the model averages frames anyway",
        reference="ResNet-18 on single frames, mean of frame logits (image-classification baseline)",
        pretrained="torchvision ResNet18_Weights.IMAGENET1K_V1"),
    "cnn_lstm": ModelEntry(
        family="temporal", kind="rgb", imagenet_norm=True,
        recipe=recipe(epochs=15, lr=2e-3, batch_size=16, weight_decay=0.05, bf16=True),
        sizes={"small": dict(num_frames=8, size=64, layers=(1, 1, 1, 1), hidden=128, width=32),
               "full": dict(num_frames=16, size=224, layers=(2, 2, 2, 2), hidden=512)},
        why="frame_cnn's trunk on 8 frames, so the LSTM sees the order of 8 poses over the clip (2-3 steps of "
            "the order pair's cycle each)",
        reference="ResNet-18 frame features -> LSTM (Donahue et al. 2015, LRCN)",
        pretrained="torchvision ResNet18_Weights.IMAGENET1K_V1 (backbone)"),
    "c3d": ModelEntry(
        family="temporal", kind="rgb", recipe=recipe(epochs=30, lr=1e-3, batch_size=16, weight_decay=0.05),
        sizes={"small": dict(num_frames=8, size=64, widths=(32, 64, 128, 256), convs=(1, 1, 2, 2), fc_dim=256,
                             stem=True, motion="diff"),
               "full": dict(num_frames=16, size=112, widths=(64, 128, 256, 512, 512), convs=(1, 1, 2, 2, 2),
                            fc_dim=4096, stem=False)},
        why="a strided 3x7x7 stem on frame differences: RGB input measured 0.71 against 0.83 for differences "
            "(the background stays still and drops out); time is pooled to 1 step at the last stage (8 -> 1); "
            "30 epochs: its curve was still rising at 15 (validation 0.852 at 15, 0.898 at 30; order pair "
            "0.53 -> 0.69)",
        reference="C3D (Tran et al. 2015), written here with batch norm, trained from scratch; the small size "
                  "reads frame differences (TSN's RGB-diff input)"),
    "r3d_18": ModelEntry(
        family="temporal", kind="rgb",
        recipe=recipe(epochs=15, lr=1e-3, batch_size=16, weight_decay=0.05, channels_last=True),
        sizes={"small": dict(num_frames=8, size=64, layers=(1, 1, 1, 1), width=16),
               "full": dict(num_frames=16, size=112, layers=(2, 2, 2, 2))},
        why="one block per stage at width 16: torchvision's stem has no max-pool, so at 64 px the first stage "
            "already runs at 32x32; its grid ends at 4x4 and 1 time step",
        reference="torchvision R3D-18 (Tran et al. 2018)", pretrained="torchvision R3D_18_Weights.KINETICS400_V1"),
    "mc3_18": ModelEntry(
        family="temporal", kind="rgb",
        recipe=recipe(epochs=15, lr=1e-3, batch_size=16, weight_decay=0.05, channels_last=True),
        sizes={"small": dict(num_frames=8, size=64, layers=(1, 1, 1, 1), width=16),
               "full": dict(num_frames=16, size=112, layers=(2, 2, 2, 2))},
        why="as r3d_18; 3D convolutions only in the first stage",
        reference="torchvision MC3-18 (Tran et al. 2018)", pretrained="torchvision MC3_18_Weights.KINETICS400_V1"),
    "r2plus1d_18": ModelEntry(
        family="temporal", kind="rgb",
        recipe=recipe(epochs=30, lr=2e-3, batch_size=16, weight_decay=0.05, channels_last=True),
        sizes={"small": dict(num_frames=9, size=48, layers=(1, 1, 1, 1), width=16, motion="diff",
                             time_strides=(1, 1, 2)),
               "full": dict(num_frames=16, size=112, layers=(2, 2, 2, 2))},
        why="the 8 differences of 9 frames at 48 px, time kept to the last stage (8 steps, then 4): on RGB it sat "
            "at chance for its first 100 steps (validation 0.773 after 15 epochs), on differences it learns from "
            "the first epoch (0.891 at 15, 0.930 at 30, order pair 0.78); torchvision's stride halves time at "
            "every stage (8 -> 1), which leaves the last stages nothing of the order of events to read; 48 px: "
            "without a max-pool, 64 px cost 1.7x as much",
        reference="torchvision R(2+1)D-18 (Tran et al. 2018)",
        pretrained="torchvision R2Plus1D_18_Weights.KINETICS400_V1"),
    # the transformers: CCT's convolutional tokenizer, mean-pooled tokens and frame differences (docs/recipes.md);
    # with the published linear patch embedding and class token both stayed at chance in every trial
    "mvit_v2_s": ModelEntry(
        family="temporal", kind="rgb",
        recipe=recipe(epochs=15, lr=1e-3, batch_size=16, weight_decay=0.05, warmup_epochs=2, channels_last=True),
        sizes={"small": dict(num_frames=9, size=64, blocks=4, tokenizer="conv", token_stride=8, token_width=16,
                             pool="mean", motion="diff"),
               "full": dict(num_frames=16, size=224, blocks=0)},
        why="the 8 differences of 9 frames at 64 px, read by CCT's convolutional tokenizer (stride 8: an 8x8 token "
            "grid, 4 time steps) and by the mean of its tokens instead of the class token: with the linear "
            "stride-4 patch embedding and the class token it stayed at chance (0.156 validation), with them "
            "0.859 in 15 epochs (25 epochs, a wider tokenizer or twice the learning rate did no better); stages "
            "of 48, 96 and 192 channels pooling queries to 4x4 and 2x2, keys and values to at least 2x2 (the "
            "published strides, made for a 56x56 grid, pooled them to 1x1); channels-last: its depthwise pooling "
            "convolutions' gradients took half its step time in the default layout (1.6x the clips/s)",
        reference="torchvision MViT-v2-S (Li et al. 2022)", pretrained="torchvision MViT_V2_S_Weights.KINETICS400_V1"),
    "x3d_xs": ModelEntry(family="temporal", kind="rgb",
                         recipe=recipe(epochs=30, lr=5e-3, batch_size=16, weight_decay=0.05, channels_last=True),
                         sizes=_x3d_sizes((9, 32, 1.0), (4, 160, 2.2), motion="diff"),
                         why="the 8 differences of 9 frames at 32 px, narrower bottlenecks and head, no dropout: on "
                             "RGB (4 frames at 64 px) it sat at chance for its first 150 steps and reached 0.570 "
                             "validation in 15 epochs; on differences 0.812 in 15 and 0.844 in 25 epochs at 32 px, "
                             "as at 64 px (0.852) for two thirds of the time; the published widths did no better "
                             "(0.852); dropout 0.5 cost 0.16 of validation accuracy",
                         reference="pytorchvideo X3D-XS (Feichtenhofer 2020)",
                         pretrained="pytorchvideo hub X3D_XS.pyth (Kinetics-400)"),
    "x3d_s": ModelEntry(family="temporal", kind="rgb",
                        recipe=recipe(epochs=15, lr=5e-3, batch_size=16, weight_decay=0.05, channels_last=True),
                        sizes=_x3d_sizes((12, 64, 1.5), (13, 160, 2.2)),
                        why="as x3d_xs with X3D-S's longer clip (12 frames) and deeper stages",
                        reference="pytorchvideo X3D-S (Feichtenhofer 2020)",
                        pretrained="pytorchvideo hub X3D_S.pyth (Kinetics-400)"),
    "x3d_m": ModelEntry(family="temporal", kind="rgb",
                        recipe=recipe(epochs=15, lr=5e-3, batch_size=16, weight_decay=0.05, channels_last=True),
                        sizes=_x3d_sizes((12, 96, 2.2), (16, 224, 2.2)),
                        why="as x3d_s at 96 px and X3D-M's depth",
                        reference="pytorchvideo X3D-M (Feichtenhofer 2020)",
                        pretrained="pytorchvideo hub X3D_M.pyth (Kinetics-400)"),
    "slowfast_r50": ModelEntry(
        family="temporal", kind="rgb", recipe=recipe(epochs=15, lr=3e-3, batch_size=16, weight_decay=0.05),
        sizes={"small": dict(num_frames=9, size=64, depth=18, width=16, beta_inv=2, dropout=0.0, motion="diff"),
               "full": dict(num_frames=32, size=224, depth=50)},
        why="the 8 differences of 9 frames (the fast pathway reads 8 steps, the slow one 2, alpha 4 as published) "
            "at depth 18 and width 16: on RGB it sat at chance for its first 100 steps (0.508 validation in 15 "
            "epochs), on differences 0.906 (order pair 0.75); each pathway alone did worse (fast 0.852, slow "
            "0.820) and alpha 2 no better (0.898) at 1.25x the cost; beta 1/2, so the fast pathway keeps 8 "
            "channels at this width; no dropout (as for X3D)",
        reference="pytorchvideo SlowFast R50 8x8 (Feichtenhofer et al. 2019), two pathways from one clip",
        pretrained="pytorchvideo hub SLOWFAST_8x8_R50.pyth (Kinetics-400)"),
    "videomae": ModelEntry(
        family="temporal", kind="rgb",
        recipe=recipe(epochs=25, lr=1e-3, batch_size=16, weight_decay=0.05, warmup_epochs=2, bf16=True),
        sizes={"small": dict(num_frames=9, size=64, hidden=192, layers=4, heads=3, tokenizer="conv", motion="diff"),
               "full": dict(num_frames=16, size=224, hidden=768, layers=12, heads=12)},
        why="a 4-layer ViT-Tiny width over CCT's convolutional tokenizer (a 4x4 grid of 16-px tokens per 2 "
            "steps, 64 tokens) on the 8 differences of 9 frames, mean-pooled: with the linear patch embedding it "
            "stayed at chance (0.141-0.215 validation at 16- and 8-px patches), with the tokenizer on RGB it "
            "reached 0.500 in 25 epochs, on differences 0.883 (0.820 in 15)",
        reference="transformers VideoMAEForVideoClassification (Tong et al. 2022)",
        selfsup="VideoMAE masked-video pretraining: tube masking, normalised-pixel target (src/learning/pretrain.py)",
        pretrained="Hugging Face MCG-NJU/videomae-base-finetuned-kinetics"),
    "pose_lstm": ModelEntry(
        family="pose", kind="pose", recipe=recipe(epochs=20, lr=3e-3, batch_size=16, weight_decay=0.05),
        sizes={"small": dict(num_frames=12, hidden=96, layers=2), "full": dict(num_frames=32, hidden=256, layers=2)},
        why="every stored frame (12), two bidirectional layers of 96",
        reference="bidirectional LSTM over MediaPipe keypoint sequences"),
    "stgcn": ModelEntry(
        family="pose", kind="pose", recipe=recipe(epochs=12, lr=3e-3, batch_size=16, weight_decay=0.05),
        sizes={"small": dict(num_frames=12, channels=(32, 32, 64, 64, 128, 128), strides=(1, 1, 2, 1, 2, 1)),
               "full": dict(num_frames=32, channels=(64, 64, 64, 64, 128, 128, 128, 256, 256, 256),
                            strides=(1, 1, 1, 1, 2, 1, 1, 2, 1, 1))},
        why="six blocks of 32-128 channels over the 12 stored frames (time 12 -> 6 -> 3), the published ten "
            "of 64-256 being made for 300-frame NTU sequences; 12 epochs: its curve flattens by the eighth "
            "(validation 0.953 in 12 epochs, 31 s, against 0.961 in 20, 50 s)",
        reference="ST-GCN (Yan et al. 2018) on MediaPipe's 33-joint graph, written here; joint, bone and motion "
                  "streams, missing frames explicit"),
    # late fusion of one RGB and one pose model (params.yaml `fusion` picks them; these are the defaults): the
    # stage fits its one weight on validation clips (src/models/fusion.py), so its recipe trains nothing
    "fusion": ModelEntry(
        family="fusion", kind="fusion", recipe=recipe(epochs=1, lr=0.05, batch_size=16),
        sizes={"small": dict(num_frames=0, rgb="cnn_lstm", pose="stgcn"),
               "full": dict(num_frames=0, rgb="cnn_lstm", pose="stgcn")},
        why="its parts' own small and full sizes",
        reference="late fusion of an RGB and a pose model's class scores, weight learned on validation "
                  "(MMAction2's RGB+pose score fusion)"),
}
FUSION_PARTS = ("rgb", "pose")


def model_entry(name: str) -> ModelEntry:
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; registered models: {', '.join(MODELS)}")
    return MODELS[name]


def input_spec(name: str, size: str = "small", parts: dict | None = None) -> InputSpec:
    """What the model eats; for `fusion`, its two parts' specs (parts: {"rgb": name, "pose": name} overrides
    the registry's default parts)."""
    entry = model_entry(name)
    preset = entry.sizes[size]
    if entry.kind == "fusion":
        chosen = {k: (parts or {}).get(k) or preset[k] for k in FUSION_PARTS}
        return InputSpec(kind="fusion", num_frames=0, parts=tuple(input_spec(chosen[k], size).as_dict()
                                                                  for k in FUSION_PARTS))
    norm = dict(mean=IMAGENET_MEAN, std=IMAGENET_STD) if entry.imagenet_norm else {}
    return InputSpec(kind=entry.kind, num_frames=preset["num_frames"], size=preset.get("size", 0), **norm)


if __name__ == "__main__":  # `python -m src.models.registry`: every registered model, as a YAML list
    print("[" + ",".join(MODELS) + "]")
