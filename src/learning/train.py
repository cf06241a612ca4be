"""Training with Lightning: seeded, deterministic on CPU, best checkpoint by val accuracy,
early stopping, mixed precision and DDP from params alone, every run logged to MLflow."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import tempfile
import time
from dataclasses import asdict

import lightning as L
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader

from src.annotations import read_classes
from src.config import Params, Train
from src.learning.checkpoint import save_checkpoint
from src.learning.data import make_dataset
from src.learning.runs import RunPaths
from src.models.build import build_model
from src.models.registry import MODELS, input_spec
from src.models.weights import load_local
from src.reporting.metrics import count_flops
from src.reporting.tracking import EXPERIMENT, artifact_location, flatten, quiet, tracking_uri
from src.utils import write_csv, write_json


def params_hash(params: Params, sections=("data", "synthetic", "trim", "frames", "pose", "model", "train")) -> str:
    blob = json.dumps({s: asdict(getattr(params, s)) for s in sections}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class LitClassifier(L.LightningModule):
    def __init__(self, model: nn.Module, cfg: Train):
        super().__init__()
        self.model, self.cfg = model, cfg
        self.train_loss = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
        self.eval_loss = nn.CrossEntropyLoss()

    def forward(self, x):
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
        decay = [p for n, p in self.named_parameters() if p.ndim > 1]
        no_decay = [p for n, p in self.named_parameters() if p.ndim <= 1]
        groups = [dict(params=decay, weight_decay=c.weight_decay), dict(params=no_decay, weight_decay=0.0)]
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
        total = max(1, int(self.trainer.estimated_stepping_batches))
        warm = min(total - 1, int(round(c.warmup_epochs * total / c.epochs)))

        def cosine(step):
            if step < warm:
                return (step + 1) / (warm + 1)
            return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))
        sched = torch.optim.lr_scheduler.LambdaLR(opt, cosine)
        return [opt], [dict(scheduler=sched, interval="step")]


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
    cfg, name = params.train, params.model.name
    L.seed_everything(params.base.seed, workers=True, verbose=False)
    torch.set_num_threads(cfg.threads or os.cpu_count() or 1)
    classes = read_classes(params.paths.annotations)
    size = params.model.size
    spec = input_spec(name, size)
    if spec.kind == "rgb":
        spec = dataclasses.replace(spec, crop=cfg.crop_to)
    model = build_model(name, len(classes), size, pretrained=params.model.pretrained)
    if params.model.weights:
        load_local(model, params.model.weights)
    train_ds, val_ds = make_dataset(params, spec, classes, "train"), make_dataset(params, spec, classes, "val")
    loader_cps = loader_throughput(train_ds, batch_size=cfg.batch_size)
    L.seed_everything(params.base.seed, workers=True, verbose=False)  # throughput probe used the RNG
    workers = dict(num_workers=cfg.num_workers, persistent_workers=cfg.num_workers > 0)
    train_dl = DataLoader(train_ds, batch_size=cfg.batch_size, shuffle=True, drop_last=len(train_ds) > cfg.batch_size,
                          **workers)
    val_dl = DataLoader(val_ds, batch_size=cfg.batch_size, **workers)

    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
    from lightning.pytorch.loggers import MLFlowLogger
    cuda = torch.cuda.is_available() and cfg.accelerator in ("auto", "gpu", "cuda")
    precision = cfg.precision or ("16-mixed" if cuda else "32-true")
    logger = MLFlowLogger(experiment_name=EXPERIMENT, run_name=f"{name}-{size}",
                          tracking_uri=tracking_uri(params.paths.mlruns),
                          artifact_location=artifact_location(params.paths.mlruns),
                          tags={"model": name, "size": size, "family": MODELS[name].family})
    logger.log_hyperparams(flatten({s: asdict(getattr(params, s)) for s in
                                    ("base", "data", "trim", "frames", "pose", "model", "train")}))
    history = History()
    with tempfile.TemporaryDirectory() as tmp:
        best = ModelCheckpoint(dirpath=tmp, filename="best", monitor="val_acc", mode="max", save_top_k=1,
                               save_weights_only=True)
        callbacks = [best, history]
        if cfg.early_stopping_patience:
            callbacks.append(EarlyStopping(monitor="val_acc", mode="max", patience=cfg.early_stopping_patience))
        trainer = L.Trainer(max_epochs=cfg.epochs, accelerator=cfg.accelerator, devices=cfg.devices,
                            strategy=cfg.strategy, num_nodes=cfg.num_nodes, precision=precision,
                            deterministic=True if not cuda else "warn", logger=logger, callbacks=callbacks,
                            default_root_dir=tmp, num_sanity_val_steps=0, log_every_n_steps=1,
                            enable_model_summary=False)
        lit = LitClassifier(model, cfg)
        t0 = time.perf_counter()
        trainer.fit(lit, train_dl, val_dl)
        train_seconds = time.perf_counter() - t0
        if best.best_model_path:
            lit.load_state_dict(torch.load(best.best_model_path, map_location="cpu", weights_only=False)["state_dict"])
    model = lit.model.cpu().eval()
    example = val_ds[0][0][:1]
    figures = dict(
        model=name, size=size, family=MODELS[name].family, input=spec.kind,
        epochs_run=int(trainer.current_epoch), best_val_acc=float(best.best_model_score or 0.0),
        train_seconds=round(train_seconds, 2),
        train_clips_per_s=round(history.clips / max(1e-9, history.busy), 2),
        loader_clips_per_s=round(loader_cps, 1),
        parameters=int(sum(p.numel() for p in model.parameters())),
        gflops_per_view=round(count_flops(model, example) / 1e9, 4),
        train_clips=len(train_ds), val_clips=len(val_ds), mlflow_run_id=logger.run_id)
    if trainer.is_global_zero:
        save_checkpoint(paths.checkpoint, model, name=name, size=size, classes=classes, spec=spec,
                        params_hash=params_hash(params),
                        # preprocessing travels with the model, so src.predict needs no params.yaml
                        config={"model": asdict(params.model), "train": asdict(cfg),
                                "trim": asdict(params.trim), "frames": asdict(params.frames),
                                "pose": asdict(params.pose)},
                        mlflow_run_id=logger.run_id, train_metrics=figures)
        write_json(paths.train_json, figures)
        write_csv(paths.history, pd.DataFrame(history.rows))
        client = logger.experiment
        for k in ("best_val_acc", "train_seconds", "train_clips_per_s", "loader_clips_per_s", "gflops_per_view"):
            client.log_metric(logger.run_id, k, float(figures[k]))
        client.log_metric(logger.run_id, "parameters", float(figures["parameters"]))
        client.log_artifact(logger.run_id, str(paths.train_json))
        client.log_artifact(logger.run_id, str(paths.checkpoint))
    print(f"[train] {name} ({size}): best val acc {figures['best_val_acc']:.3f} after {figures['epochs_run']} "
          f"epochs, {train_seconds:.1f} s, {figures['train_clips_per_s']} train clips/s, "
          f"loader {figures['loader_clips_per_s']} clips/s", flush=True)
    return figures
