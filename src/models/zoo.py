"""Published video architectures, wrapped so each takes B×C×T×H×W and returns logits."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from src.models.motion import check_motion, motion_input
from src.models.weights import VIDEOMAE_HUB_ID, WeightsError, load_matching, pytorchvideo_weights, \
    torchvision_weights

# --- torchvision video ResNets (Tran et al. 2018) ---------------------------------------
TV_VIDEO_RESNETS = {"r3d_18": "R3D_18_Weights", "mc3_18": "MC3_18_Weights", "r2plus1d_18": "R2Plus1D_18_Weights"}


def zero_init_last_norm(blocks, norm_of) -> None:
    """Start every residual block as the identity: its branch's last norm scale at zero (Goyal et al. 2017; the
    X3D and SlowFast recipes). A deep stack trained from scratch then begins as a shallow one, and learns
    sooner."""
    for block in blocks:
        nn.init.zeros_(norm_of(block).weight)


def video_resnet(name: str, num_classes: int, layers=(2, 2, 2, 2), width: int = 64,
                 pretrained: bool = False, zero_init_residual: bool = False, time_strides=(2, 2, 2)) -> nn.Module:
    """torchvision's R3D / MC3 / R(2+1)D; `width` < 64 narrows every stage (stem w, stages w..8w).

    torchvision fixes the widths at 64..512; the narrow variant reuses its blocks, convolution
    makers and _make_layer, and swaps the stem and stages, since at 64 px on two CPU cores the
    full width trains at under 5 clips/s. time_strides: the temporal stride of stages 2-4 (torchvision halves
    time at each, 8 frames -> 1 step); 1 keeps the time steps, so the last stages still see the order of events.
    """
    from torchvision.models.video import resnet as vr
    blocks = {"r3d_18": ([vr.Conv3DSimple] * 4, vr.BasicStem),
              "mc3_18": ([vr.Conv3DSimple] + [vr.Conv3DNoTemporal] * 3, vr.BasicStem),
              "r2plus1d_18": ([vr.Conv2Plus1D] * 4, vr.R2Plus1dStem)}
    conv_makers, stem = blocks[name]
    model = vr.VideoResNet(vr.BasicBlock, conv_makers, list(layers), stem, num_classes=num_classes)
    if width != 64:
        _narrow(model, conv_makers, layers, width, separable_stem=name == "r2plus1d_18")
    for stage, t in zip((model.layer2, model.layer3, model.layer4), time_strides):
        if t != 2:
            _time_stride(stage[0], t)
    if zero_init_residual:  # torchvision's own flag covers its bottleneck blocks only, not these basic blocks
        zero_init_last_norm([m for m in model.modules() if isinstance(m, vr.BasicBlock)], lambda b: b.conv2[1])
    if pretrained:
        load_matching(model, torchvision_weights(TV_VIDEO_RESNETS[name]), name)
    return model


def _time_stride(block: nn.Module, t: int) -> None:
    """Set the temporal stride of a stage's first block (its convolutions and its shortcut) to `t`.

    Written here because torchvision's blocks take one stride for time and space alike; the weights' shapes do
    not change, so published weights still load."""
    for conv in block.modules():
        if isinstance(conv, nn.Conv3d) and conv.stride[0] == 2:
            conv.stride = (t,) + tuple(conv.stride[1:])


def _narrow(model: nn.Module, conv_makers, layers, w: int, separable_stem: bool) -> None:
    from torchvision.models.video import resnet as vr
    if separable_stem:  # R(2+1)D's stem: spatial 1x7x7 then temporal 3x1x1, mid width as torchvision's 45/64
        mid = max(8, w * 45 // 64)
        model.stem = nn.Sequential(nn.Conv3d(3, mid, (1, 7, 7), (1, 2, 2), (0, 3, 3), bias=False),
                                   nn.BatchNorm3d(mid), nn.ReLU(inplace=True),
                                   nn.Conv3d(mid, w, (3, 1, 1), 1, (1, 0, 0), bias=False),
                                   nn.BatchNorm3d(w), nn.ReLU(inplace=True))
    else:
        model.stem = nn.Sequential(nn.Conv3d(3, w, (3, 7, 7), (1, 2, 2), (1, 3, 3), bias=False),
                                   nn.BatchNorm3d(w), nn.ReLU(inplace=True))
    model.inplanes = w
    for i, (maker, n) in enumerate(zip(conv_makers, layers)):
        layer = model._make_layer(vr.BasicBlock, maker, w * 2 ** i, n, stride=1 if i == 0 else 2)
        setattr(model, f"layer{i + 1}", layer)
    model.fc = nn.Linear(w * 8, model.fc.out_features)
    for m in model.modules():  # torchvision's initialisation
        if isinstance(m, nn.Conv3d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm3d):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.constant_(m.bias, 0)


# --- torchvision MViT v2 (Li et al. 2022) ----------------------------------------------
def mvit(num_classes: int, num_frames: int, size: int, blocks: int = 0, pretrained: bool = False,
         stages=None, tokenizer: str = "linear", token_stride: int = 4, pool: str = "cls",
         token_width: int = 32) -> nn.Module:
    """blocks=0: the published MViT-v2-S; otherwise `stages`, a list of (blocks, channels, heads): the first
    stage at the patch grid, each next one pooling queries 2x in space and doubling channels, as MViT-v2 does.

    Key/value pooling is chosen from the grid, not copied from the published model: MViT-v2-S pools keys
    and values of its 56x56 grid to 7x7 (stride 8, then 4, 2, 1); here every stage pools them to a 4x4
    grid at the smallest, so no attention ever looks at a 1x1 summary.
    """
    from torchvision.models.video import mvit as tm
    if not blocks:
        if (num_frames, size) != (16, 224):
            raise ValueError(f"the published MViT-v2-S takes 16x224x224 clips (got {num_frames}x{size}x{size})")
        model = tm.mvit_v2_s(num_classes=num_classes)
        if pretrained:
            load_matching(model, torchvision_weights("MViT_V2_S_Weights"), "mvit_v2_s")
        return model
    stages = stages or [(1, 48, 1), (1, 96, 2), (2, 192, 4)]
    if sum(n for n, _, _ in stages) != blocks:
        raise ValueError(f"mvit: stages {stages} hold {sum(n for n, _, _ in stages)} blocks, blocks={blocks}")
    check_tokens(tokenizer, pool, token_stride)
    grid, cfg, c_in = size // token_stride, [], stages[0][1]
    for i, (n, c, heads) in enumerate(stages):
        for j in range(n):
            pool_q = i > 0 and j == 0
            q_grid = grid // 2 if pool_q else grid
            kv = max(1, q_grid // 4)  # keys/values pooled to a 4x4 grid (or the grid itself when smaller)
            cfg.append(tm.MSBlockConfig(num_heads=heads, input_channels=c_in, output_channels=c,
                                        kernel_q=[3, 3, 3], kernel_kv=[3, 3, 3],
                                        stride_q=[1, 2, 2] if pool_q else [1, 1, 1], stride_kv=[1, kv, kv]))
            grid, c_in = q_grid, c
    if grid < 2:
        raise ValueError(f"mvit: {len(stages)} stages pool a {size}-px input's {size // token_stride}x"
                         f"{size // token_stride} token grid to {grid}x{grid}; use fewer stages or a larger input")
    # torchvision sizes the position embedding from the input and its own stride-4 patch embedding: give it the
    # input that stride-4 embedding would turn into this token grid
    model = tm.MViT(spatial_size=(size * 4 // token_stride,) * 2, temporal_size=num_frames, block_setting=cfg,
                    residual_pool=True, residual_with_cls_embed=False, rel_pos_embed=True, proj_after_attn=True,
                    stochastic_depth_prob=0.1, num_classes=num_classes)
    if tokenizer == "conv":
        model.conv_proj = ConvTokenizer(stages[0][1], token_stride, tubelet=2, width=token_width)
    return MeanPooledMViT(model) if pool == "mean" else model


TOKENIZERS, POOLS = ("linear", "conv"), ("cls", "mean")


def check_tokens(tokenizer: str, pool: str, stride: int) -> None:
    if tokenizer not in TOKENIZERS:
        raise ValueError(f"tokenizer={tokenizer!r}; allowed values: {', '.join(TOKENIZERS)}")
    if pool not in POOLS:
        raise ValueError(f"pool={pool!r}; allowed values: {', '.join(POOLS)}")
    if tokenizer == "conv" and (stride < 4 or stride & (stride - 1)):
        raise ValueError(f"the conv tokenizer's stride must be a power of two >= 4 (got {stride})")


class ConvTokenizer(nn.Sequential):
    """The convolutional tokenizer of Compact Convolutional Transformers (Hassani et al. 2021, "Escaping the big
    data paradigm"), per frame: a ResNet stem (7x7 convolution of stride 2, batch norm, ReLU, 3x3 max-pool of
    stride 2), then 3x3 convolution, batch norm, ReLU and max-pool until the grid is `stride` times smaller, then
    a linear projection to `dim` channels that groups `tubelet` frames into one token (the grid of the
    patchify embedding it replaces).

    Why: trained from scratch on a few hundred clips, a linear patch embedding gives the transformer no notion of
    edges or locality to start from, and both transformers here stayed at chance with it (docs/recipes.md); CCT's
    tokenizer is how small-data vision transformers are trained from scratch, and batch norm in it let VideoMAE
    fit 32 fixed clips (0.77 training accuracy in 100 steps against 0.27 without)."""

    def __init__(self, dim: int, stride: int, tubelet: int, width: int = 32):
        layers, c, s = [nn.Conv3d(3, width, (1, 7, 7), (1, 2, 2), (0, 3, 3), bias=False), nn.BatchNorm3d(width),
                        nn.ReLU(inplace=True), nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1))], width, 4
        while s < stride:
            layers += [nn.Conv3d(c, 2 * c, (1, 3, 3), 1, (0, 1, 1), bias=False), nn.BatchNorm3d(2 * c),
                       nn.ReLU(inplace=True), nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1))]
            c, s = 2 * c, 2 * s
        layers.append(nn.Conv3d(c, dim, (tubelet, 1, 1), (tubelet, 1, 1)))
        super().__init__(*layers)
        self.stride = (tubelet, stride, stride)  # what torchvision's MViT reads off its patch embedding


class MeanPooledMViT(nn.Module):
    """torchvision's MViT read out by the mean of its tokens instead of its class token (as CCT's sequence
    pooling and VideoMAE's fine-tuning do): from scratch, one class token has to learn to gather the whole clip
    through every block, while the mean already holds every position from the first step."""

    def __init__(self, mvit: nn.Module):
        super().__init__()
        self.mvit = mvit

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.mvit
        x = m.conv_proj(x).flatten(2).transpose(1, 2)
        x = m.pos_encoding(x)  # prepends the class token; it takes part in attention but is not read out
        thw = (m.pos_encoding.temporal_size,) + m.pos_encoding.spatial_size
        for block in m.blocks:
            x, thw = block(x, thw)
        return m.head(m.norm(x)[:, 1:].mean(1))


# --- pytorchvideo X3D (Feichtenhofer 2020) and SlowFast (Feichtenhofer et al. 2019) ------
X3D_HUB = {"x3d_xs": "X3D_XS.pyth", "x3d_s": "X3D_S.pyth", "x3d_m": "X3D_M.pyth"}


def x3d(name: str, num_classes: int, num_frames: int, size: int, depth_factor: float = 2.2,
        width_factor: float = 2.0, bottleneck_factor: float = 2.25, head_dim_out: int = 2048,
        dropout: float = 0.5, pretrained: bool = False, zero_init_residual: bool = False) -> nn.Module:
    from pytorchvideo.models.resnet import ResBlock
    from pytorchvideo.models.x3d import create_x3d
    model = create_x3d(input_clip_length=num_frames, input_crop_size=size, model_num_class=num_classes,
                       depth_factor=depth_factor, width_factor=width_factor, bottleneck_factor=bottleneck_factor,
                       head_dim_out=head_dim_out, head_activation=None, dropout_rate=dropout)
    if zero_init_residual:  # the X3D recipe's zero-initialised final BN of every residual block
        zero_init_last_norm([m for m in model.modules() if isinstance(m, ResBlock)], lambda b: b.branch2.norm_c)
    if pretrained:
        load_matching(model, pytorchvideo_weights(X3D_HUB[name]), name)
    return model


class SlowFast(nn.Module):
    """Two pathways from one clip: the fast one sees every frame, the slow one every alpha-th.

    width: the slow pathway's stem channels (64 published), so a smaller width narrows every stage of both
    pathways; beta_inv: the slow pathway's channels over the fast one's (8 published, beta = 1/8). At width 64
    the fast pathway keeps 8 stem channels; a narrow model must lower beta_inv to keep it that wide."""

    def __init__(self, num_classes: int, num_frames: int, size: int, depth: int = 50, alpha: int = 4,
                 width: int = 64, beta_inv: int = 8, dropout: float = 0.5, pretrained: bool = False,
                 zero_init_residual: bool = False):
        super().__init__()
        from pytorchvideo.models.resnet import ResBlock
        from pytorchvideo.models.slowfast import create_slowfast
        self.alpha = alpha
        s = size // 32
        self.net = create_slowfast(model_depth=depth, model_num_class=num_classes,
                                   stem_dim_outs=(width, width // beta_inv), slowfast_channel_reduction_ratio=(beta_inv,),
                                   slowfast_fusion_conv_stride=(alpha, 1, 1), dropout_rate=dropout,
                                   head_pool_kernel_sizes=((num_frames // alpha, s, s), (num_frames, s, s)))
        if zero_init_residual:
            zero_init_last_norm([m for m in self.net.modules() if isinstance(m, ResBlock)],
                                lambda b: b.branch2.norm_c)
        if pretrained:
            load_matching(self.net, pytorchvideo_weights("SLOWFAST_8x8_R50.pyth"), "slowfast_r50")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.shape[2]
        slow = x.index_select(2, torch.linspace(0, t - 1, t // self.alpha, device=x.device).long())
        return self.net([slow, x])


# --- transformers VideoMAE (Tong et al. 2022) ----------------------------------------------
def videomae_config(num_frames: int, size: int, hidden: int, layers: int, heads: int, patch: int = 16,
                    tubelet: int = 2, tokenizer: str = "linear", **extra):
    """The encoder configuration the classifier and the self-supervised pretraining (src/learning/pretrain.py)
    share, so pretrained encoder weights always fit the classifier built from the same preset. num_frames: the
    time steps the encoder reads; tokenizer: kept in the config (and the folder's config.json) for the reader."""
    from transformers import VideoMAEConfig
    return VideoMAEConfig(image_size=size, num_frames=num_frames, hidden_size=hidden, num_hidden_layers=layers,
                          num_attention_heads=heads, intermediate_size=4 * hidden, patch_size=patch,
                          tubelet_size=tubelet, use_mean_pooling=True, tokenizer=tokenizer, **extra)


def use_tokenizer(encoder, tokenizer: str, hidden: int, patch: int, tubelet: int) -> None:
    """Swap a transformers VideoMAE encoder's linear patch embedding for the ConvTokenizer (same token grid) when
    `tokenizer` is "conv"; the classifier and the pretraining (src/learning/pretrain.py) both call this."""
    check_tokens(tokenizer, "mean", patch)
    if tokenizer == "conv":
        encoder.embeddings.patch_embeddings.projection = ConvTokenizer(hidden, patch, tubelet)


TOKENIZER_KEY = "embeddings.patch_embeddings.projection."


def hf_state(folder: Path, cls, **kwargs) -> tuple[dict, dict]:
    """(state dict, loading info) of a Hugging Face VideoMAE folder, read with transformers' own from_pretrained
    (which renames the tensors it saved under other names), the patch embedding's tensors taken from the file
    itself: a folder made with the convolutional tokenizer holds tensors from_pretrained does not know."""
    from safetensors.torch import load_file
    try:  # safetensors only: a folder's pytorch_model.bin would be a pickle
        loaded, info = cls.from_pretrained(folder, output_loading_info=True, use_safetensors=True, **kwargs)
        raw = load_file(Path(folder) / "model.safetensors")
    except (OSError, ValueError) as exc:
        raise WeightsError(f"{folder}: no readable model.safetensors ({str(exc).splitlines()[0]}); pickled "
                           f"weights (pytorch_model.bin) are not read, since loading them could run code") from exc
    state = {k: v for k, v in loaded.state_dict().items() if TOKENIZER_KEY not in k}
    return state | {k: v for k, v in raw.items() if TOKENIZER_KEY in k}, info


class VideoMAE(nn.Module):
    """transformers' VideoMAE classifier on B×C×T×H×W clips; motion "diff": it reads the T-1 differences of its
    T input frames (src/models/motion.py); tokenizer "conv": CCT's tokenizer instead of the linear patch
    embedding (ConvTokenizer; recorded in the model's config, so its folders load back the same)."""

    def __init__(self, num_classes: int, num_frames: int, size: int, hidden: int = 768, layers: int = 12,
                 heads: int = 12, patch: int = 16, tubelet: int = 2, drop_path: float = 0.0,
                 pretrained: bool = False, tokenizer: str = "linear", motion: str = "none"):
        super().__init__()
        from transformers import VideoMAEForVideoClassification
        check_motion(motion, ("none", "diff"))
        self.num_classes, self.motion = num_classes, motion
        if pretrained:
            try:
                self.hf = VideoMAEForVideoClassification.from_pretrained(
                    VIDEOMAE_HUB_ID, num_labels=num_classes, ignore_mismatched_sizes=True, use_safetensors=True)
            except OSError as exc:
                raise WeightsError(
                    f"pretrained weights {VIDEOMAE_HUB_ID} are not in the Hugging Face cache and could not be "
                    f"downloaded ({str(exc).splitlines()[0]}). Run `huggingface-cli download {VIDEOMAE_HUB_ID}` "
                    f"where there is network, or save the model folder and set model.weights to it") from exc
        else:
            steps = num_frames - (motion != "none")
            cfg = videomae_config(steps, size, hidden, layers, heads, patch, tubelet, tokenizer=tokenizer,
                                  num_labels=num_classes, drop_path_rate=drop_path)
            self.hf = VideoMAEForVideoClassification(cfg)
            use_tokenizer(self.hf.videomae, tokenizer, hidden, patch, tubelet)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # B×C×T×H×W -> pixel_values B×T×C×H×W
        return self.hf(pixel_values=motion_input(x, self.motion).permute(0, 2, 1, 3, 4)).logits

    def save_hf_folder(self, folder: Path) -> None:
        self.hf.save_pretrained(folder)

    def load_hf_folder(self, folder: Path) -> list[str]:
        """Weights saved by save_hf_folder (or any VideoMAE classifier folder of this architecture); the class
        head is replaced when the class count differs. Returns the replaced tensors' names."""
        from transformers import VideoMAEForVideoClassification
        state, info = hf_state(folder, VideoMAEForVideoClassification, num_labels=self.num_classes,
                               ignore_mismatched_sizes=True)
        tokens = sorted(k for k in self.hf.state_dict() if TOKENIZER_KEY in k)
        if tokens != sorted(k for k in state if TOKENIZER_KEY in k):
            raise WeightsError(f"{folder}: made with another patch embedding (tokenizer) than this model's")
        load_matching(self.hf, state, str(folder))
        # keys whose shapes differed (the class head) were freshly initialised: report them as replaced
        return sorted(f"hf.{k[0] if isinstance(k, (tuple, list)) else k}" for k in info.get("mismatched_keys", []))

    def load_encoder(self, folder: Path) -> int:
        """Load the encoder of a VideoMAEForPreTraining folder (as the pretrain stage saves it); returns the
        number of tensors loaded.

        Every encoder tensor must be there with its shape: weights pretrained at another size or input
        shape are an error naming both shapes, never a silent partial load.
        """
        from transformers import VideoMAEForPreTraining
        state, _ = hf_state(folder, VideoMAEForPreTraining)
        own = self.hf.videomae.state_dict()
        enc = {k[len("videomae."):]: v for k, v in state.items() if k.startswith("videomae.")}
        missing = sorted(set(own) - set(enc))
        if missing:
            raise WeightsError(f"{folder}: no encoder weights for {', '.join(missing[:3])}: not a VideoMAE "
                               f"pretraining of this architecture")
        wrong = [(k, tuple(enc[k].shape), tuple(own[k].shape)) for k in own if enc[k].shape != own[k].shape]
        if wrong:
            k, w, m = wrong[0]
            raise WeightsError(f"{folder}: pretrained for another size or input shape: {k} is {w} there but {m} "
                               f"in this model ({len(wrong)} tensor(s) differ)")
        self.hf.videomae.load_state_dict({k: enc[k] for k in own})
        return len(own)
