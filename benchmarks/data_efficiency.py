"""Data-efficiency curves: test top-1 against training clips per class, one model of each family.

For each size (default 10, 20, 40, 80 clips per class) the training split is cut to that many clips per class
(drawn once with a fixed seed, nested: the 10 are among the 20), validation and test stay whole; each model
trains with its own recipe (the epochs of the default run, so fewer clips also mean fewer steps, as for a user
with that many clips) under seed compare.seeds[0] and is tested like the comparison (same views, same clips).
Where a size holds every training clip, the comparison's own run is that run and is read, not retrained.
Intervals: 95% bootstrap over test clips. The models: frame_cnn, cnn_lstm, the best 3D CNN of the last
comparison (reports/compare.json), stgcn. Needs a finished `dvc repro`; runs in a temporary folder (MLflow
store included) and writes reports/data_efficiency.{json,md,png}.

    python -m benchmarks.data_efficiency [--sizes 10 20 40 80] [--models frame_cnn cnn_lstm c3d stgcn]
"""
from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from src.annotations import read_classes
from src.config import load_params
from src.learning.runs import RunPaths, comparison_params
from src.reporting.compare import interval
from src.utils import atomic_path, read_json, write_json

MANIFEST = "manifest.csv"
CNN3D = ("c3d", "r3d_18", "mc3_18", "r2plus1d_18", "x3d_xs", "x3d_s", "x3d_m", "slowfast_r50")


def best_3d_cnn(reports: Path) -> str:
    models = read_json(reports / "compare.json")["models"]
    return max((m for m in models if m in CNN3D), key=lambda m: models[m]["top1"]["mean"])


def subset_store(frames: Path, out: Path, per_class: int, seed: int = 0) -> int:
    """A frame store in `out` whose manifest keeps `per_class` training clips of each class (the first of one
    fixed shuffle, so sizes nest) and every other split; the clip files are links to the real store's."""
    df = pd.read_csv(frames / MANIFEST, dtype={"label": str, "reason": str})
    order = np.random.default_rng(seed).permutation(len(df))
    train = df.iloc[order][(df.iloc[order]["split"] == "train") & (df.iloc[order]["status"] == "ok")]
    keep = train.groupby("label", sort=False).head(per_class).index
    sub = df[(df["split"] != "train") | df.index.isin(keep)]
    out.mkdir(parents=True)
    for p in sub["path"]:
        (out / p).symlink_to((frames / p).resolve())
    sub.to_csv(out / MANIFEST, index=False)
    return int(sub["split"].eq("train").sum())


def test_correct(predictions: Path) -> tuple[np.ndarray, list[str]]:
    df = pd.read_csv(predictions, dtype={"clip_id": str, "label": str, "predicted": str})
    df = df[df["split"] == "test"].sort_values("clip_id")
    return (df["label"] == df["predicted"]).to_numpy(), list(df["clip_id"])


def figure(rows: pd.DataFrame, out: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for m, g in rows.groupby("model", sort=False):
        g = g.sort_values("clips_per_class")
        ax.errorbar(g["clips_per_class"], g["top1"], yerr=[g["top1"] - g["ci_low"], g["ci_high"] - g["top1"]],
                    marker="o", capsize=3, label=f"{m} ({g['family'].iloc[0]})")
    ax.set_xscale("log", base=2)
    ax.set_xticks(sorted(rows["clips_per_class"].unique()), [str(v) for v in sorted(rows["clips_per_class"].unique())])
    ax.set_xlabel("training clips per class")
    ax.set_ylabel("test top-1 (95% interval)")
    ax.axhline(1 / rows["classes"].iloc[0], color="gray", ls=":", lw=1, label="chance")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("How many clips each family needs")
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", nargs="+", type=int, default=[10, 20, 40, 80])
    ap.add_argument("--models", nargs="+", default=None)
    args = ap.parse_args()
    params = load_params()
    from src.learning.evaluate import evaluate_run
    from src.learning.train import train_model
    from src.models.registry import MODELS
    models = args.models or ["frame_cnn", "cnn_lstm", best_3d_cnn(params.paths.reports), "stgcn"]
    seed = params.compare.seeds[0]
    classes = read_classes(params.paths.annotations)
    full = pd.read_csv(params.paths.frames / MANIFEST)
    per_class_max = int(full[(full["split"] == "train") & (full["status"] == "ok")]["label"].value_counts().min())
    rows, ids = [], None
    with tempfile.TemporaryDirectory() as tmp:
        for n in sorted(args.sizes):
            frames = Path(tmp) / f"frames{n}"
            clips = subset_store(params.paths.frames, frames, n)
            for m in models:
                t0 = time.perf_counter()
                own = RunPaths(comparison_params(params, m, seed), compare=True)
                if n >= per_class_max and own.predictions.exists():
                    predictions, how = own.predictions, "the comparison's run"
                else:
                    run = dataclasses.replace(params, paths=dataclasses.replace(
                        params.paths, frames=frames, models=Path(tmp) / "models", reports=Path(tmp) / "reports",
                        plots=Path(tmp) / "plots", metrics=Path(tmp) / "metrics", mlruns=Path(tmp) / "mlruns"))
                    run = comparison_params(run, m, seed)
                    paths = RunPaths(run, compare=True)
                    train_model(run, paths)
                    evaluate_run(run, paths)
                    predictions, how = paths.predictions, "trained here"
                correct, clip_ids = test_correct(predictions)
                if ids is not None and clip_ids != ids:
                    raise SystemExit(f"{m} at {n} clips per class was tested on other clips than the others")
                ids = clip_ids
                lo, hi = interval(lambda i: np.atleast_1d(correct[i].mean()), len(correct))
                rows.append(dict(model=m, family=MODELS[m].family, clips_per_class=n, train_clips=clips,
                                 top1=round(float(correct.mean()), 4), ci_low=round(float(lo[0]), 4),
                                 ci_high=round(float(hi[0]), 4), test_clips=len(correct), classes=len(classes),
                                 source=how))
                print(f"[data efficiency] {m} with {n} clips/class ({clips} clips): test top-1 "
                      f"{correct.mean():.3f} [{lo[0]:.3f}, {hi[0]:.3f}] ({how}, {time.perf_counter() - t0:.0f} s)",
                      flush=True)
    df = pd.DataFrame(rows)
    reports = params.paths.reports
    write_json(reports / "data_efficiency.json", {"seed": seed, "rows": rows})
    figure(df, reports / "data_efficiency.png")  # not under figures/: that folder is the compare stage's output
    table = df.pivot(index="model", columns="clips_per_class", values="top1").loc[models]
    ci = df.set_index(["model", "clips_per_class"])
    lines = ["# Data efficiency: test top-1 against training clips per class", "",
             f"`python -m benchmarks.data_efficiency` after `dvc repro`: training seed {seed}, each model's own recipe "
             f"and epochs, validation and test whole ({len(ids)} test clips); 95% bootstrap interval over test "
             "clips in brackets.", "",
             "| model | family | " + " | ".join(f"{n} clips/class" for n in table.columns) + " |",
             "|---|---|" + "---|" * len(table.columns)]
    for m in models:
        cells = [f"{ci.loc[(m, n), 'top1']:.3f} [{ci.loc[(m, n), 'ci_low']:.2f}, {ci.loc[(m, n), 'ci_high']:.2f}]"
                 for n in table.columns]
        lines.append(f"| {m} | {MODELS[m].family} | " + " | ".join(cells) + " |")
    lines += ["", "![Data efficiency](data_efficiency.png)", ""]
    with atomic_path(reports / "data_efficiency.md") as tmp:
        tmp.write_text("\n".join(lines))
    print(f"[data efficiency] {len(models)} models x {len(args.sizes)} sizes: {reports / 'data_efficiency.md'}")


if __name__ == "__main__":
    main()
