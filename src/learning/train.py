"""Training with Lightning: seeded, deterministic on CPU, best checkpoint by val accuracy,
early stopping, mixed precision and DDP from params alone, every run logged to MLflow."""
from __future__ import annotations

import dataclasses
import math
import os
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import lightning as L
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader

from src.annotations import read_classes
from src.config import Params, Train
from src.learning.checkpoint import save_checkpoint
from src.learning.data import make_dataset
from src.learning.runs import RunPaths, params_hash, resolve_init
from src.models.build import build_model
from src.models.registry import MODELS, RECIPE_KEYS, Recipe, input_spec
from src.models.weights import WeightsError, load_local
from src.reporting.metrics import count_flops
from src.reporting.tracking import flatten, log_pytorch_model, mlflow_logger, quiet
from src.utils import file_digest, write_csv, write_json


def load_selfsup(model: nn.Module, folder: Path) -> int:
    """Start from the encoder the pretrain stage saved in `folder` (a Hugging Face model folder)."""
    if not (folder / "config.json").exists():
        raise WeightsError(f"{folder} holds no pretrained encoder: run the pretrain stage (dvc repro pretrain) "
                           f"with this model in pretrain.models")
    n = model.load_encoder(folder)
    print(f"[train] initialised from the self-supervised encoder in {folder} ({n} tensors)", flush=True)
    return n


def decay_groups(module: nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on weights, none on biases and norm scales (the usual AdamW split)."""
    params = list(module.parameters())
    return [dict(params=[p for p in params if p.ndim > 1], weight_decay=weight_decay),
            dict(params=[p for p in params if p.ndim <= 1], weight_decay=0.0)]


def warmup_cosine(opt, trainer, warmup_epochs: float, epochs: int) -> dict:
    """Linear warm-up, then cosine decay to zero, stepped every batch (a Lightning scheduler config)."""
    total = max(1, int(trainer.estimated_stepping_batches))
    warm = min(total - 1, int(round(warmup_epochs * total / epochs)))

    def factor(step):
        if step < warm:
            return (step + 1) / (warm + 1)
        return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))
    return dict(scheduler=torch.optim.lr_scheduler.LambdaLR(opt, factor), interval="step")


def resolve_recipe(cfg: Train, recipe: Recipe) -> Train:
    """The train settings one model runs with: its recipe, with every non-null params.yaml key on top."""
    return dataclasses.replace(cfg, **{k: getattr(recipe, k) for k in RECIPE_KEYS if getattr(cfg, k) is None})


class LitClassifier(L.LightningModule):
    def __init__(self, model: nn.Module, cfg: Train, channels_last: bool = False):
        super().__init__()
        self.model, self.cfg, self.channels_last = model, cfg, channels_last
        if channels_last:
            self.model.to(memory_format=torch.channels_last_3d)
        self.train_loss = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
        self.eval_loss = nn.CrossEntropyLoss()

    def forward(self, x):
        if self.channels_last and x.ndim == 5:
            x = x.contiguous(memory_format=torch.channels_last_3d)
        return self.model(x)

    def training_step(self, batch, _):
        x, y = batch
        if self.cfg.mixup_alpha > 0:
            lam = float(torch.distributions.Beta(self.cfg.mixup_alpha, self.cfg.mixup_alpha).sample())
            perm = torch.randperm(len(y), device=y.device)
            logits = self(lam * x + (1 - lam) * x[perm])
            loss = lam * self.train_loss(logits, y) + (1 - lam) * self.train_loss(logits, y[perm])
        else:
            logits = self(x)
            loss = self.train_loss(logits, y)
        self.log("train_loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(y),
                 sync_dist=True)
        self.log("train_acc", (logits.argmax(1) == y).float().mean(), on_step=False, on_epoch=True,
                 prog_bar=True, batch_size=len(y), sync_dist=True)
        return loss

    def validation_step(self, batch, _):
        x, y = batch  # B×V×...: score of a clip = mean over its views
        b, v = x.shape[:2]
        logits = self(x.flatten(0, 1)).view(b, v, -1).softmax(-1).mean(1).clamp_min(1e-8).log()
        self.log("val_loss", nn.functional.nll_loss(logits, y), on_epoch=True, prog_bar=True, batch_size=b,
                 sync_dist=True)
        self.log("val_acc", (logits.argmax(1) == y).float().mean(), on_epoch=True, prog_bar=True, batch_size=b,
                 sync_dist=True)

    def configure_optimizers(self):
        c = self.cfg
        groups = decay_groups(self, c.weight_decay)
        if c.optimizer == "adamw":
            opt = torch.optim.AdamW(groups, lr=c.lr)
        elif c.optimizer == "sgd":
            opt = torch.optim.SGD(groups, lr=c.lr, momentum=c.momentum, nesterov=True)
        else:
            opt = torch.optim.ASGD(groups, lr=c.lr)
        if c.scheduler == "none":
            return opt
        if c.scheduler == "step":
            return [opt], [torch.optim.lr_scheduler.StepLR(opt, c.step_size, c.gamma)]
        return [opt], [warmup_cosine(opt, self.trainer, c.warmup_epochs, c.epochs)]


class History(L.Callback):
    """Per-epoch curves, and time spent in training steps (for clips/s)."""

    def __init__(self):
        self.rows, self.busy, self.clips, self._t0 = [], 0.0, 0, 0.0

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        self._t0 = time.perf_counter()

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        self.busy += time.perf_counter() - self._t0
        self.clips += len(batch[1])

    def on_train_epoch_end(self, trainer, module):
        m = {k: float(v) for k, v in trainer.callback_metrics.items()}
        self.rows.append(dict(epoch=trainer.current_epoch + 1, train_loss=m.get("train_loss"),
                              train_acc=m.get("train_acc"), val_loss=m.get("val_loss"), val_acc=m.get("val_acc")))


def loader_throughput(dataset, batches: int = 8, batch_size: int = 8) -> float:
    """Clips/s one process reads and augments (what a DataLoader worker delivers)."""
    n = min(len(dataset), batches * batch_size)
    t0 = time.perf_counter()
    for i in range(n):
        dataset[i]
    return n / max(1e-9, time.perf_counter() - t0)


def train_model(params: Params, paths: RunPaths) -> dict:
    """Train `model.name` on the stored data; writes the checkpoint, train.json and history."""
    quiet()
    name = params.model.name
    recipe = MODELS[name].recipe
    cfg = resolve_recipe(params.train, recipe)
    L.seed_everything(params.base.seed, workers=True, verbose=False)
    torch.set_num_threads(cfg.threads or os.cpu_count() or 1)
    classes = read_classes(params.paths.annotations)
    size = params.model.size
    spec = input_spec(name, size)
    if spec.kind == "rgb":
        spec = dataclasses.replace(spec, crop=cfg.crop_to)
    init = resolve_init(params, name)
    model = build_model(name, len(classes), size, pretrained=init == "kinetics")
    if init == "selfsup":
        load_selfsup(model, params.paths.pretrain / name)
    if params.model.weights:
        load_local(model, params.model.weights)
    train_ds, val_ds = make_dataset(params, spec, classes, "train"), make_dataset(params, spec, classes, "val")
    loader_cps = loader_throughput(train_ds, batch_size=cfg.batch_size)
    L.seed_everything(params.base.seed, workers=True, verbose=False)  # throughput probe used the RNG
    workers = dict(num_workers=cfg.num_workers, persistent_workers=cfg.num_workers > 0)
    train_dl = DataLoader(train_ds, batch_size=cfg.batch_size, shuffle=True, drop_last=len(train_ds) > cfg.batch_size,
                          **workers)
    val_dl = DataLoader(val_ds, batch_size=cfg.batch_size, **workers)

    from lightning.pytorch.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint
    cuda = torch.cuda.is_available() and cfg.accelerator in ("auto", "gpu", "cuda")
    precision = cfg.precision or ("16-mixed" if cuda else "32-true")
    logger = mlflow_logger(params, f"{name} seed{params.base.seed}", model=name, size=size, seed=params.base.seed,
                           family=MODELS[name].family, init=init)
    logger.log_hyperparams(flatten({s: asdict(getattr(params, s)) for s in
                                    ("base", "data", "trim", "frames", "pose", "model")} | {"train": asdict(cfg)}))
    history = History()
    with tempfile.TemporaryDirectory() as tmp:
        best = ModelCheckpoint(dirpath=tmp, filename="best", monitor="val_acc", mode="max", save_top_k=1,
                               save_weights_only=True)
        callbacks = [best, history, LearningRateMonitor(logging_interval="step")]
        if cfg.early_stopping_patience:
            callbacks.append(EarlyStopping(monitor="val_acc", mode="max", patience=cfg.early_stopping_patience))
        trainer = L.Trainer(max_epochs=cfg.epochs, accelerator=cfg.accelerator, devices=cfg.devices,
                            strategy=cfg.strategy, num_nodes=cfg.num_nodes, precision=precision,
                            deterministic=cfg.deterministic if not cuda else "warn", logger=logger,
                            callbacks=callbacks,
                            default_root_dir=tmp, num_sanity_val_steps=0, log_every_n_steps=1,
                            enable_model_summary=False)
        lit = LitClassifier(model, cfg, channels_last=recipe.channels_last)
        t0 = time.perf_counter()
        trainer.fit(lit, train_dl, val_dl)
        train_seconds = time.perf_counter() - t0
        if best.best_model_path and trainer.is_global_zero:  # the file is on rank zero's node only
            lit.load_state_dict(torch.load(best.best_model_path, map_location="cpu", weights_only=False)["state_dict"])
    model = lit.model.cpu().to(memory_format=torch.contiguous_format).eval()
    example = val_ds[0][0][:1]
    figures = dict(
        model=name, size=size, init=init, family=MODELS[name].family, input=spec.kind,
        epochs_run=int(trainer.current_epoch), best_val_acc=float(best.best_model_score or 0.0),
        train_seconds=round(train_seconds, 2),
        train_clips_per_s=round(history.clips / max(1e-9, history.busy), 2),
        loader_clips_per_s=round(loader_cps, 1),
        parameters=int(sum(p.numel() for p in model.parameters())),
        gflops_per_view=round(count_flops(model, example) / 1e9, 4),
        train_clips=len(train_ds), val_clips=len(val_ds), mlflow_run_id=logger.run_id,
        params_hash=params_hash(params))
    if trainer.is_global_zero:  # one process writes, under DDP too
        # nothing that differs between identical reruns (timings, run ids) goes into the checkpoint
        save_checkpoint(paths.checkpoint, model, name=name, size=size, classes=classes, spec=spec,
                        params_hash=params_hash(params),
                        # preprocessing travels with the model, so src.predict needs no params.yaml
                        config={"model": asdict(params.model), "train": asdict(cfg),
                                "trim": asdict(params.trim), "frames": asdict(params.frames),
                                "pose": asdict(params.pose)},
                        family=MODELS[name].family, init=init, best_val_acc=figures["best_val_acc"],
                        history=history.rows)
        write_json(paths.train_json, figures)
        write_csv(paths.history, pd.DataFrame(history.rows))
        client = logger.experiment
        for k in ("best_val_acc", "train_seconds", "train_clips_per_s", "loader_clips_per_s", "gflops_per_view"):
            client.log_metric(logger.run_id, k, float(figures[k]))
        client.log_metric(logger.run_id, "parameters", float(figures["parameters"]))
        client.set_tag(logger.run_id, "checkpoint_md5", file_digest(paths.checkpoint, "md5"))  # evaluate finds the run by it
        client.log_artifact(logger.run_id, str(paths.train_json))
        log_pytorch_model(params, logger.run_id, model, example)
        print(f"[train] {name} ({size}): best val acc {figures['best_val_acc']:.3f} after {figures['epochs_run']} "
              f"epochs, {train_seconds:.1f} s, {figures['train_clips_per_s']} train clips/s, "
              f"loader {figures['loader_clips_per_s']} clips/s", flush=True)
    return figures
