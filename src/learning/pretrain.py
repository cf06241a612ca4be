"""Self-supervised masked-video pretraining (VideoMAE, Tong et al. 2022) on the pipeline's own clips.

The training clips are read with the same views fine-tuning uses (person crop, random resized crop,
flip); their labels are never read. Tube masking hides the same `pretrain.mask_ratio` share of the
spatial patches in every frame, so a hidden patch cannot be copied from its neighbour in time, and
the decoder reconstructs the hidden patches' pixels normalised per patch (the paper's target;
`VideoMAEForPreTraining` with `norm_pix_loss`). The encoder is saved as a Hugging Face model folder
that fine-tuning (`model.init: selfsup`) loads.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import lightning as L
import pandas as pd
import torch

from src.annotations import StageError, read_classes
from src.config import Params
from src.learning.data import make_dataset
from src.learning.optim import make_optimizer, warmup_cosine
from src.models.registry import MODELS, input_spec
from src.models.motion import motion_input
from src.models.zoo import ConvTokenizer, use_tokenizer, videomae_config
from src.reporting.tracking import flatten, mlflow_logger, quiet
from src.utils import write_csv


def tube_mask(batch: int, num_frames: int, size: int, patch: int, tubelet: int, ratio: float,
              generator: torch.Generator) -> torch.Tensor:
    """B×N boolean mask over the (time, height, width) patch grid: the same spatial patches hidden at
    every time step, the same count in every clip (VideoMAEForPreTraining needs that)."""
    spatial = (size // patch) ** 2
    hidden = int(round(ratio * spatial))
    order = torch.rand(batch, spatial, generator=generator).argsort(1)
    mask = torch.zeros(batch, spatial, dtype=torch.bool)
    mask.scatter_(1, order[:, :hidden], True)
    return mask.repeat(1, num_frames // tubelet)  # patch index = t * spatial + s


@contextlib.contextmanager
def visible_pixels_only(encoder, mask: torch.Tensor, patch: int, tubelet: int):
    """While in the block, a convolutional tokenizer (ConvTokenizer) sees the hidden patches' pixels as zeros.

    A linear patch embedding reads each patch alone, but the tokenizer's convolutions and max-pools reach across
    patch borders, so a visible token would carry part of the hidden pixels the decoder must reconstruct
    (ConvMAE masks its convolutions for the same reason). The reconstruction target still comes from the whole
    clip."""
    proj = encoder.embeddings.patch_embeddings.projection
    if not isinstance(proj, ConvTokenizer):
        yield
        return

    def hide(_module, args):
        x = args[0]  # B×C×T×H×W
        b, _, t, h, w = x.shape
        hidden = mask.view(b, t // tubelet, h // patch, w // patch).repeat_interleave(tubelet, 1) \
            .repeat_interleave(patch, 2).repeat_interleave(patch, 3)
        return (x * (~hidden).unsqueeze(1).to(x.dtype),)

    handle = proj.register_forward_pre_hook(hide)
    try:
        yield
    finally:
        handle.remove()


class LitMAE(L.LightningModule):
    def __init__(self, model, mask_args: dict, lr: float, weight_decay: float, warmup_epochs: float, epochs: int,
                 motion: str = "none"):
        super().__init__()
        self.model, self.mask_args, self.motion = model, mask_args, motion
        self.lr, self.weight_decay, self.warmup_epochs, self.epochs = lr, weight_decay, warmup_epochs, epochs
        self.gen = torch.Generator().manual_seed(mask_args.pop("seed"))
        self.rows: list[dict] = []

    def training_step(self, batch, _):
        x, _labels = batch  # labels unused: self-supervised
        x = motion_input(x, self.motion)  # what the classifier's encoder reads: the frames or their differences
        mask = tube_mask(len(x), generator=self.gen, **self.mask_args).to(x.device)
        with visible_pixels_only(self.model.videomae, mask, self.mask_args["patch"], self.mask_args["tubelet"]):
            loss = self.model(pixel_values=x.permute(0, 2, 1, 3, 4), bool_masked_pos=mask).loss
        self.log("pretrain_loss", loss, on_step=True, on_epoch=False, prog_bar=True, batch_size=len(x))
        self.rows.append(dict(step=self.global_step + 1, epoch=self.current_epoch + 1, loss=float(loss)))
        return loss

    def configure_optimizers(self):
        # AdamW with betas (0.9, 0.95), cosine schedule after a linear warm-up: the paper's recipe
        opt = make_optimizer(self, "adamw", self.lr, self.weight_decay, betas=(0.9, 0.95))
        return [opt], [warmup_cosine(opt, self.trainer, self.warmup_epochs, self.epochs)]


def pretrain_videomae(params: Params, out_dir: Path, curve_csv: Path) -> dict:
    """Pretrain the `videomae` encoder of `model.size` on the training clips; writes the model folder."""
    from transformers import VideoMAEForPreTraining
    from torch.utils.data import DataLoader
    quiet()
    cfg, size = params.pretrain, params.model.size
    L.seed_everything(params.base.seed, workers=True, verbose=False)
    torch.set_num_threads(params.train.threads or os.cpu_count() or 1)
    classes = read_classes(params.paths.annotations)
    spec = dataclasses.replace(input_spec("videomae", size), crop=params.train.crop_to)
    data = make_dataset(params, spec, classes, "train")
    if len(data) < cfg.min_clips:
        raise StageError(f"[pretrain] too few clips to pretrain videomae: found {len(data)} training clips, "
                         f"the minimum is pretrain.min_clips={cfg.min_clips}")
    preset = {k: v for k, v in MODELS["videomae"].sizes[size].items() if k != "drop_path"}
    motion = preset.pop("motion", "none")
    steps = preset.pop("num_frames") - (motion != "none")  # the classifier's encoder reads T-1 differences
    hf_cfg = videomae_config(num_frames=steps, **preset, norm_pix_loss=True, decoder_hidden_size=cfg.decoder_hidden,
                             decoder_num_hidden_layers=cfg.decoder_layers,
                             decoder_num_attention_heads=cfg.decoder_heads,
                             decoder_intermediate_size=4 * cfg.decoder_hidden)
    model = VideoMAEForPreTraining(hf_cfg)
    use_tokenizer(model.videomae, hf_cfg.tokenizer, hf_cfg.hidden_size, hf_cfg.patch_size, hf_cfg.tubelet_size)
    mask_args = dict(num_frames=steps, size=spec.size, patch=hf_cfg.patch_size,
                     tubelet=hf_cfg.tubelet_size, ratio=cfg.mask_ratio, seed=params.base.seed)
    lit = LitMAE(model, mask_args, cfg.lr, cfg.weight_decay, cfg.warmup_epochs, cfg.epochs, motion)
    loader = DataLoader(data, batch_size=cfg.batch_size, shuffle=True, drop_last=len(data) > cfg.batch_size,
                        num_workers=params.train.num_workers, persistent_workers=params.train.num_workers > 0)
    logger = mlflow_logger(params, f"pretrain videomae {size}", model="videomae", size=size, kind="pretrain")
    logger.log_hyperparams(flatten({"pretrain": asdict(cfg), "model": {"name": "videomae", "size": size}}))
    trainer = L.Trainer(max_epochs=cfg.epochs, accelerator=params.train.accelerator, devices=1, logger=logger,
                        deterministic=params.train.deterministic, enable_checkpointing=False,
                        enable_model_summary=False,
                        log_every_n_steps=1, default_root_dir=str(out_dir.parent))
    t0 = time.perf_counter()
    trainer.fit(lit, loader)
    seconds = time.perf_counter() - t0
    tmp = out_dir.with_name(f".tmp-{out_dir.name}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)  # config.json + model.safetensors: a Hugging Face model folder
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp, out_dir)  # a killed run never leaves a half-written folder under the final name
    curve = pd.DataFrame(lit.rows)
    write_csv(curve_csv, curve)
    first = curve.groupby("epoch")["loss"].mean()
    figures = dict(model="videomae", size=size, clips=len(data), epochs=cfg.epochs, mask_ratio=cfg.mask_ratio,
                   loss_first_epoch=round(float(first.iloc[0]), 4), loss_last_epoch=round(float(first.iloc[-1]), 4),
                   seconds=round(seconds, 1), clips_per_s=round(len(data) * cfg.epochs / seconds, 1),
                   mlflow_run_id=logger.run_id)
    logger.experiment.log_artifact(logger.run_id, str(curve_csv))
    print(f"[pretrain] videomae ({size}): masked-patch loss {figures['loss_first_epoch']:.3f} -> "
          f"{figures['loss_last_epoch']:.3f} over {cfg.epochs} epochs on {len(data)} unlabelled clips, "
          f"{seconds:.0f} s ({figures['clips_per_s']} clips/s)", flush=True)
    return figures
