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
    kind: str            # "rgb" or "pose"
    num_frames: int
    size: int = 0        # square crop side for rgb
    mean: tuple = KINETICS_MEAN
    std: tuple = KINETICS_STD
    crop: str = "frame"  # rgb: "frame" (whole frame) or "person" (square box around the pose keypoints)

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

    def as_dict(self) -> dict:
        return asdict(self)


RECIPE_KEYS = ("epochs", "batch_size", "optimizer", "lr", "warmup_epochs", "weight_decay", "label_smoothing",
               "mixup_alpha")


@dataclass(frozen=True)
class ModelEntry:
    family: str          # "frame", "temporal" or "pose"
    kind: str            # "rgb" or "pose"
    sizes: dict          # size name -> dict(num_frames=, size=, **builder kwargs)
    reference: str
    recipe: Recipe = None  # set on every entry below
    pretrained: str = "" # what model.init=kinetics loads (full size only)
    selfsup: str = ""    # the self-supervised pretraining the pretrain stage can run for it
    imagenet_norm: bool = False


def _x3d_sizes(small: tuple, full: tuple) -> dict:
    """(num_frames, crop, depth_factor) per size; crops are multiples of 32 (X3D's head pool).

    The small size also narrows the bottlenecks (2.25 -> 1.5) and the head (2048 -> 512): 30% less
    time per training step on 2 CPU cores; full keeps the published widths the weights fit.
    """
    sizes = {name: dict(num_frames=t, size=s, depth_factor=d) for name, (t, s, d) in
             (("small", small), ("full", full))}
    sizes["small"].update(bottleneck_factor=1.5, head_dim_out=512)
    return sizes


def recipe(epochs: int, lr: float, batch_size: int = 8, optimizer: str = "adamw", warmup_epochs: float = 1.0,
           weight_decay: float = 0.01, label_smoothing: float = 0.1, mixup_alpha: float = 0.0,
           channels_last: bool = False) -> Recipe:
    """A recipe, spelled with the settings these models share (AdamW, one warm-up epoch, label smoothing 0.1)."""
    return Recipe(epochs, batch_size, optimizer, lr, warmup_epochs, weight_decay, label_smoothing, mixup_alpha,
                  channels_last)


# Recipes were chosen on the validation split of the default data (benchmarks/recipe_search.py) within the
# 15-minute budget of the default comparison on two CPU cores; the search and its figures are in the README.
MODELS: dict[str, ModelEntry] = {
    "frame_cnn": ModelEntry(
        family="frame", kind="rgb", recipe=recipe(epochs=8, lr=3e-3, batch_size=16), imagenet_norm=True,
        sizes={"small": dict(num_frames=4, size=64, layers=(1, 1, 1, 1), width=32),
               "full": dict(num_frames=8, size=224, layers=(2, 2, 2, 2))},
        reference="ResNet-18 on single frames, mean of frame logits (image-classification baseline)",
        pretrained="torchvision ResNet18_Weights.IMAGENET1K_V1"),
    "cnn_lstm": ModelEntry(
        family="temporal", kind="rgb", recipe=recipe(epochs=8, lr=2e-3, batch_size=16), imagenet_norm=True,
        sizes={"small": dict(num_frames=8, size=64, layers=(1, 1, 1, 1), hidden=128, width=32),
               "full": dict(num_frames=16, size=224, layers=(2, 2, 2, 2), hidden=512)},
        reference="ResNet-18 frame features -> LSTM (Donahue et al. 2015, LRCN)",
        pretrained="torchvision ResNet18_Weights.IMAGENET1K_V1 (backbone)"),
    "c3d": ModelEntry(
        family="temporal", kind="rgb", recipe=recipe(epochs=8, lr=1e-3),
        sizes={"small": dict(num_frames=8, size=64, widths=(32, 64, 128, 256), convs=(1, 1, 2, 2), fc_dim=256,
                             stem=True, motion="diff"),
               "full": dict(num_frames=16, size=112, widths=(64, 128, 256, 512, 512), convs=(1, 1, 2, 2, 2),
                            fc_dim=4096, stem=False)},
        reference="C3D (Tran et al. 2015), written here with batch norm, trained from scratch; the small size "
                  "reads frame differences (TSN's RGB-diff input)"),
    "r3d_18": ModelEntry(
        family="temporal", kind="rgb", recipe=recipe(epochs=2, lr=2e-3, channels_last=True),
        sizes={"small": dict(num_frames=8, size=64, layers=(1, 1, 1, 1), width=16),
               "full": dict(num_frames=16, size=112, layers=(2, 2, 2, 2))},
        reference="torchvision R3D-18 (Tran et al. 2018)", pretrained="torchvision R3D_18_Weights.KINETICS400_V1"),
    "mc3_18": ModelEntry(
        family="temporal", kind="rgb", recipe=recipe(epochs=2, lr=2e-3, channels_last=True),
        sizes={"small": dict(num_frames=8, size=64, layers=(1, 1, 1, 1), width=16),
               "full": dict(num_frames=16, size=112, layers=(2, 2, 2, 2))},
        reference="torchvision MC3-18 (Tran et al. 2018)", pretrained="torchvision MC3_18_Weights.KINETICS400_V1"),
    "r2plus1d_18": ModelEntry(
        family="temporal", kind="rgb", recipe=recipe(epochs=2, lr=2e-3, channels_last=True),
        sizes={"small": dict(num_frames=8, size=64, layers=(1, 1, 1, 1), width=16),
               "full": dict(num_frames=16, size=112, layers=(2, 2, 2, 2))},
        reference="torchvision R(2+1)D-18 (Tran et al. 2018)",
        pretrained="torchvision R2Plus1D_18_Weights.KINETICS400_V1"),
    "mvit_v2_s": ModelEntry(
        family="temporal", kind="rgb", recipe=recipe(epochs=3, lr=5e-4, batch_size=16),
        sizes={"small": dict(num_frames=8, size=32, blocks=4),
               "full": dict(num_frames=16, size=224, blocks=0)},
        reference="torchvision MViT-v2-S (Li et al. 2022)", pretrained="torchvision MViT_V2_S_Weights.KINETICS400_V1"),
    "x3d_xs": ModelEntry(family="temporal", kind="rgb", recipe=recipe(epochs=2, lr=5e-3, channels_last=True),
                         sizes=_x3d_sizes((4, 64, 1.0), (4, 160, 2.2)),
                         reference="pytorchvideo X3D-XS (Feichtenhofer 2020)",
                         pretrained="pytorchvideo hub X3D_XS.pyth (Kinetics-400)"),
    "x3d_s": ModelEntry(family="temporal", kind="rgb", recipe=recipe(epochs=2, lr=5e-3, channels_last=True),
                        sizes=_x3d_sizes((12, 64, 1.5), (13, 160, 2.2)),
                        reference="pytorchvideo X3D-S (Feichtenhofer 2020)",
                        pretrained="pytorchvideo hub X3D_S.pyth (Kinetics-400)"),
    "x3d_m": ModelEntry(family="temporal", kind="rgb", recipe=recipe(epochs=2, lr=5e-3, channels_last=True),
                        sizes=_x3d_sizes((12, 96, 2.2), (16, 224, 2.2)),
                        reference="pytorchvideo X3D-M (Feichtenhofer 2020)",
                        pretrained="pytorchvideo hub X3D_M.pyth (Kinetics-400)"),
    "slowfast_r50": ModelEntry(
        family="temporal", kind="rgb", recipe=recipe(epochs=3, lr=3e-3),
        sizes={"small": dict(num_frames=8, size=64, depth=18, width=16),
               "full": dict(num_frames=32, size=224, depth=50)},
        reference="pytorchvideo SlowFast R50 8x8 (Feichtenhofer et al. 2019), two pathways from one clip",
        pretrained="pytorchvideo hub SLOWFAST_8x8_R50.pyth (Kinetics-400)"),
    "videomae": ModelEntry(
        family="temporal", kind="rgb", recipe=recipe(epochs=4, lr=1e-3, batch_size=16),
        sizes={"small": dict(num_frames=8, size=64, hidden=192, layers=4, heads=3),
               "full": dict(num_frames=16, size=224, hidden=768, layers=12, heads=12)},
        reference="transformers VideoMAEForVideoClassification (Tong et al. 2022)",
        selfsup="VideoMAE masked-video pretraining: tube masking, normalised-pixel target (src/learning/pretrain.py)",
        pretrained="Hugging Face MCG-NJU/videomae-base-finetuned-kinetics"),
    "pose_lstm": ModelEntry(
        family="pose", kind="pose", recipe=recipe(epochs=24, lr=3e-3, batch_size=16),
        sizes={"small": dict(num_frames=12, hidden=96, layers=2), "full": dict(num_frames=32, hidden=256, layers=2)},
        reference="bidirectional LSTM over MediaPipe keypoint sequences"),
}


def model_entry(name: str) -> ModelEntry:
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; registered models: {', '.join(MODELS)}")
    return MODELS[name]


def input_spec(name: str, size: str = "small") -> InputSpec:
    entry = model_entry(name)
    preset = entry.sizes[size]
    norm = dict(mean=IMAGENET_MEAN, std=IMAGENET_STD) if entry.imagenet_norm else {}
    return InputSpec(kind=entry.kind, num_frames=preset["num_frames"], size=preset.get("size", 0), **norm)


if __name__ == "__main__":  # `python -m src.models.registry`: every registered model, as a YAML list
    print("[" + ",".join(MODELS) + "]")
