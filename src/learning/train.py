"""Training with Lightning: seeded, deterministic on CPU, best checkpoint by val accuracy,
early stopping, mixed precision and DDP from params alone, every run logged to MLflow."""
from __future__ import annotations

import dataclasses
import os
import re
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
from src.config import ParamError, Params, Train
from src.learning.checkpoint import save_checkpoint
from src.learning.data import clip_seconds, make_dataset, model_spec
from src.learning.optim import make_optimizer, warmup_cosine
from src.learning.runs import RunPaths, params_hash, resolve_init
from src.models.build import build_model
from src.models.registry import MODELS, RECIPE_KEYS, Recipe
from src.models.weights import WeightsError, load_local
from src.reporting.metrics import count_flops
from src.reporting.tracking import flatten, log_checkpoint_model, mlflow_logger, quiet
from src.utils import file_digest, write_csv, write_figures

# per-step figures (the learning rate) go to MLflow every 10 steps: each MLflow write is a database
# transaction, and logging every step cost pose_lstm 6.8 s of its 23 s of training
LOG_EVERY_N_STEPS = 10


def load_selfsup(model: nn.Module, folder: Path) -> int:
    """Start from the encoder the pretrain stage saved in `folder` (a Hugging Face model folder)."""
    if not (folder / "config.json").exists():
        raise WeightsError(f"{folder} holds no pretrained encoder: run the pretrain stage (dvc repro pretrain) "
                           f"with this model in pretrain.models")
    n = model.load_encoder(folder)
    print(f"[train] initialised from the self-supervised encoder in {folder} ({n} tensors)", flush=True)
    return n


def cpu_has_bf16() -> bool:
    """Whether this CPU has bf16 units (avx512_bf16 or AMX), from the kernel's CPU flags (Linux)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return bool(re.search(r"\b(avx512_bf16|amx_bf16)\b", text))


def resolve_precision(cfg: Train, recipe: Recipe, cuda: bool) -> str:
    """train.precision when set; else 16-mixed on a GPU, and on a CPU bf16-mixed only where the CPU has bf16
    units and the model's recipe measured bf16 faster and safe (src/models/registry.py: Recipe.bf16): without
    those units bf16 is emulated and 1.3-3.7x slower."""
    if cfg.precision:
        return cfg.precision
    if cuda:
        return "16-mixed"
    return "bf16-mixed" if recipe.bf16 and cpu_has_bf16() else "32-true"


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
        opt = make_optimizer(self, c.optimizer, c.lr, c.weight_decay, c.momentum)
        if c.scheduler == "none":
            return opt
        if c.scheduler == "step":
            return [opt], [torch.optim.lr_scheduler.StepLR(opt, c.step_size, c.gamma)]
        return [opt], [warmup_cosine(opt, self.trainer, c.warmup_epochs, c.epochs)]


class BestWeights(L.Callback):
    """Keeps a copy of the weights of the best validation epoch (highest `val_acc`; the first one on a tie).

    In memory rather than Lightning's ModelCheckpoint, which writes them as a pickle file and would need it
    unpickled to read them back."""

    def __init__(self, monitor: str = "val_acc"):
        self.monitor, self.score, self.epoch, self.state = monitor, None, 0, None

    def on_validation_end(self, trainer, module):
        value = trainer.callback_metrics.get(self.monitor)
        if trainer.sanity_checking or value is None:
            return
        if self.score is None or float(value) > self.score:
            self.score, self.epoch = float(value), trainer.current_epoch + 1
            self.state = {k: v.detach().clone() for k, v in module.state_dict().items()}


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
    if MODELS[name].kind == "fusion":
        raise ParamError(f"params.yaml: model.name: fusion is made by the fusion stage from two compared models "
                         f"(params.yaml `fusion`), not trained here: run `dvc repro fusion` and read "
                         f"reports/runs/compare/fusion/; allowed values for model.name: "
                         f"{', '.join(n for n, e in MODELS.items() if e.kind != 'fusion')}")
    spec = model_spec(name, size, cfg.crop_to)
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

    from lightning.pytorch.callbacks import EarlyStopping, LearningRateMonitor
    cuda = torch.cuda.is_available() and cfg.accelerator in ("auto", "gpu", "cuda")
    precision = resolve_precision(cfg, recipe, cuda)
    cfg = dataclasses.replace(cfg, precision=precision)  # the checkpoint and MLflow record what ran
    logger = mlflow_logger(params, f"{name} seed{params.base.seed}", model=name, size=size, seed=params.base.seed,
                           family=MODELS[name].family, init=init)
    logger.log_hyperparams(flatten({s: asdict(getattr(params, s)) for s in
                                    ("base", "data", "trim", "frames", "pose", "model")} | {"train": asdict(cfg)}))
    history = History()
    with tempfile.TemporaryDirectory() as tmp:
        best = BestWeights()
        callbacks = [best, history, LearningRateMonitor(logging_interval="step")]
        if cfg.early_stopping_patience:
            callbacks.append(EarlyStopping(monitor="val_acc", mode="max", patience=cfg.early_stopping_patience))
        trainer = L.Trainer(max_epochs=cfg.epochs, accelerator=cfg.accelerator, devices=cfg.devices,
                            strategy=cfg.strategy, num_nodes=cfg.num_nodes, precision=precision,
                            deterministic=cfg.deterministic if not cuda else "warn", logger=logger,
                            callbacks=callbacks,
                            default_root_dir=tmp, num_sanity_val_steps=0, log_every_n_steps=LOG_EVERY_N_STEPS,
                            enable_model_summary=False, enable_checkpointing=False)
        lit = LitClassifier(model, cfg, channels_last=recipe.channels_last)
        t0 = time.perf_counter()
        trainer.fit(lit, train_dl, val_dl)
        train_seconds = time.perf_counter() - t0
        if best.state is not None:
            lit.load_state_dict(best.state)
    model = lit.model.cpu().to(memory_format=torch.contiguous_format).eval()
    example = val_ds[0][0][:1]
    figures = dict(
        model=name, size=size, init=init, family=MODELS[name].family, input=spec.kind, precision=precision,
        epochs_run=int(trainer.current_epoch), best_val_acc=float(best.score or 0.0), best_epoch=best.epoch,
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
                                "pose": asdict(params.pose), "clip": {"seconds": clip_seconds(params)}},
                        family=MODELS[name].family, init=init, best_val_acc=figures["best_val_acc"],
                        train_clips=len(train_ds),
                        history=history.rows)
        write_figures(paths.train_json, figures, params.paths.reports)
        write_csv(paths.history, pd.DataFrame(history.rows))
        client = logger.experiment
        for k in ("best_val_acc", "train_seconds", "train_clips_per_s", "loader_clips_per_s", "gflops_per_view"):
            client.log_metric(logger.run_id, k, float(figures[k]))
        client.log_metric(logger.run_id, "parameters", float(figures["parameters"]))
        client.set_tag(logger.run_id, "checkpoint_md5", file_digest(paths.checkpoint, "md5"))  # evaluate finds the run by it
        client.log_artifact(logger.run_id, str(paths.train_json))
        with torch.inference_mode():
            output = model(example).float().softmax(-1).numpy()
        log_checkpoint_model(params, logger.run_id, Path(__file__).with_name("mlflow_model.py"), paths.checkpoint,
                             example, output)
        print(f"[train] {name} ({size}): best val acc {figures['best_val_acc']:.3f} after {figures['epochs_run']} "
              f"epochs, {train_seconds:.1f} s, {figures['train_clips_per_s']} train clips/s, "
              f"loader {figures['loader_clips_per_s']} clips/s", flush=True)
    return figures
