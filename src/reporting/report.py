"""reports/compare.md: a short table, the verdict in words, then pictures of what the models saw and got
wrong; the wide table goes to an appendix. Figures are drawn with matplotlib (and scikit-learn's
ConfusionMatrixDisplay) into reports/figures/, one function each, saved by one helper."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from src.annotations import md
from src.reporting.compare import FAMILIES, Runs, p_text
from src.utils import atomic_path, timings_path

FAMILY_COLORS = {"temporal": "tab:blue", "frame": "tab:orange", "pose": "tab:green"}


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig, path: Path) -> str:
    """The one way a report figure is written: PNG, atomically; returns its name for the markdown."""
    plt = _plt()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path.name


# --- the markdown -----------------------------------------------------------------------------
def _fmt(s: dict | None) -> str:
    if not s:
        return "n/a"
    sd = f" ± {s['sd']:.3f}" if len(s.get("per_seed", [])) > 1 else ""
    return f"{s['mean']:.3f}{sd} [{s['ci'][0]:.2f}, {s['ci'][1]:.2f}]"


def _num(v, digits: int = 2) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, int) and v >= 10_000:
        return f"{v / 1e6:.2f}M"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def markdown(a: dict, figures: dict[str, str], seeds: list[int]) -> str:
    m = a["models"]
    order = sorted(m, key=lambda n: -m[n]["top1"]["mean"])
    seed_note = (f"mean ± sd over {len(seeds)} training seeds {seeds}" if len(seeds) > 1
                 else f"one training seed ({seeds[0]})")
    lines = ["# Model comparison", "",
             f"Same data, split, training budget per model and evaluation views; {a['test_clips']} test clips "
             f"({a['min_clips_per_class']} or more per class), {seed_note}. Brackets: 95% bootstrap interval "
             f"over test clips. The shifted split shows scenes and camera distances training never saw.", "",
             "| model | family | top-1 | shifted top-1 | order pair | params | GFLOPs | train TFLOPs |",
             "|---|---|---|---|---|---|---|---|"]
    for n in order:
        r = m[n]
        lines.append(f"| {n} | {r['family']} | {_fmt(r['top1'])} | {_fmt(r.get('shifted_top1'))} | "
                     f"{_fmt(r.get('order_pair'))} | {_num(r['parameters'])} | {_num(r['gflops_per_clip'])} | "
                     f"{_num(r['train_tflops'], 1)} |")
    lines += ["", "## Verdict", ""]
    if a["too_few_clips"]:
        n = a["min_clips_per_class"]
        lines.append(f"**The test set is too small to name a winner**: a class has only {n} test "
                     f"clip{'s' if n != 1 else ''} (fewer than 10). The figures above are shown, not ranked.")
    else:
        lines.append(f"Highest mean test top-1: **{a['best_model']}** ({FAMILIES.get(a['best_family'])}). "
                     f"Against it, on the same test clips (McNemar's exact test, Holm-corrected):")
    lines.append("")
    lines += [f"- {t['verdict']}" for t in a["versus_best"]]
    lines += ["", "**Video, frame or pose?** The best model of each family, paired on the same clips:", ""]
    lines += [f"- {t['verdict']}" for t in a["families"]] or ["- only one family was compared"]
    if "order_pair" in a:
        op = a["order_pair"]
        pairs = "; ".join(" vs ".join(map(md, p)) for p in op["pairs"])  # class names: escaped for markdown
        lines += ["", f"**Known-answer probe** ({pairs}: the same poses in opposite order, {op['clips']} test clips; "
                      "only a model that reads time can separate them):", ""]
        lines += [f"- {t['verdict']}" for t in op["tests"]]
    for q in a.get("questions", []):
        lines += ["", f"**{q['question']}**", ""]
        lines += [f"- {t.get('split', 'test')}: {t['verdict']}" for t in q["tests"]]
    if a.get("ablation"):
        lines += ["", "## Where pose accuracy is lost: the front-end against true joints", "",
                  "The pose models trained and tested again on the joints the renderer drew (stages/ablation.py), "
                  "the same clips, recipe and seeds; the difference is what MediaPipe and the tracker cost "
                  "(paired bootstrap interval, McNemar's exact test, Holm-corrected):", "",
                  "| model | split | MediaPipe joints | true joints | front-end cost | 95% CI | p (Holm) |",
                  "|---|---|---|---|---|---|---|"]
        for t in a["ablation"]:
            lines.append(f"| {t['model']} | {t['split']} | {t['mediapipe_top1']:.3f} | {t['truth_top1']:.3f} | "
                         f"{t['diff']:+.3f} | [{t['ci'][0]:+.3f}, {t['ci'][1]:+.3f}] | {p_text(t['p_holm'])} |")
        lines += [""] + [f"- {t['split']}: {t['verdict']}" for t in a["ablation"]]
    lines += ["", "## Pictures", ""]
    captions = {"cost": "Accuracy against cost (error bars: 95% intervals)",
                "per_class": "Per-class F1 of every model",
                "confusion": "Confusion matrices of the best model and the per-frame model",
                "strips": "What the models saw: one test clip per class, MediaPipe's skeleton drawn over it",
                "mistakes": "The test clips most models got wrong, with what they were taken for"}
    for key, caption in captions.items():
        if key in figures:
            lines += [f"### {caption}", "", f"![{caption}](figures/{figures[key]})", ""]
    lines += ["Every figure of every model: [compare_appendix.md](compare_appendix.md).", ""]
    return "\n".join(lines)


APPENDIX = [("top1", "top-1"), ("macro_f1", "macro F1"), ("order_pair", "order pair"),
            ("shifted_top1", "shifted top-1")]


def appendix(a: dict, runs: dict[str, Runs], curves: str | None = None) -> str:
    m = a["models"]
    head = ["model", "family", "seeds"] + [label for _, label in APPENDIX] + \
           ["top-5", "mean class acc", "macro P", "macro R", "params", "GFLOPs/clip", "train TFLOPs"]
    lines = ["# Model comparison: every figure", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for n in sorted(m, key=lambda n: -m[n]["top1"]["mean"]):
        evs = runs[n].evals
        mean = lambda k: float(np.mean([e.get(k) or 0 for e in evs]))  # noqa: E731
        cells = [n, m[n]["family"], ",".join(map(str, m[n]["seeds"]))] + [_fmt(m[n].get(k)) for k, _ in APPENDIX]
        cells += [f"{mean('top5'):.3f}", f"{mean('mean_class_accuracy'):.3f}", f"{mean('macro_precision'):.3f}",
                  f"{mean('macro_recall'):.3f}", _num(m[n]["parameters"]), _num(m[n]["gflops_per_clip"]),
                  _num(m[n]["train_tflops"], 1)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "## Every paired test against the best model", "",
              "| model | difference | 95% CI | McNemar p | Holm p | discordant clips (best right / other right) |",
              "|---|---|---|---|---|---|"]
    for t in a["versus_best"]:
        lines.append(f"| {t['b']} | {t['diff']:+.3f} | [{t['ci'][0]:+.3f}, {t['ci'][1]:+.3f}] | {t['p']:.4f} | "
                     f"{t['p_holm']:.4f} | {t['table'][0][1]} / {t['table'][1][0]} |")
    lines.append("")
    if curves:
        lines += ["## Learning curves", "",
                  "Training accuracy (dashed) and validation accuracy (solid) on the left axis, training and "
                  "validation loss on the right: both accuracies low means the model underfits (more epochs or a "
                  "better recipe), training high and validation low means it overfits (regularise, more clips).",
                  "", f"![Learning curves](figures/{curves})", ""]
    return "\n".join(lines)


# --- the pictures -----------------------------------------------------------------------------------
def cost_figure(a: dict) -> object:
    plt = _plt()
    m = a["models"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4))
    for ax, key, label in ((axes[0], "gflops_per_clip", "GFLOPs per test clip (all views)"),
                           (axes[1], "train_tflops", "training TFLOPs (forward + backward, every epoch)")):
        for n, r in m.items():
            x = max(r.get(key) or 1e-3, 1e-3)
            t = r["top1"]
            ax.errorbar(x, t["mean"], yerr=[[t["mean"] - t["ci"][0]], [t["ci"][1] - t["mean"]]], fmt="o",
                        color=FAMILY_COLORS.get(r["family"], "gray"), capsize=3)
            ax.annotate(n, (x, t["mean"]), textcoords="offset points", xytext=(5, 4), fontsize=8)
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("test top-1 (95% interval)")
        ax.grid(alpha=0.3)
    handles = [plt.Line2D([], [], marker="o", ls="", color=c, label=FAMILIES[f]) for f, c in FAMILY_COLORS.items()]
    axes[0].legend(handles=handles, loc="lower right", fontsize=8)
    fig.suptitle("Accuracy against cost")
    return fig


def per_class_figure(a: dict) -> object:
    plt = _plt()
    m, classes = a["models"], a["classes"]
    names = sorted(m, key=lambda n: -m[n]["top1"]["mean"])
    grid = np.array([[m[n]["per_class_f1"][c] for c in classes] for n in names])
    fig, ax = plt.subplots(figsize=(1.2 + 0.9 * len(classes), 1.0 + 0.45 * len(names)))
    im = ax.imshow(grid, cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(len(classes)), classes, rotation=35, ha="right", fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    for (i, j), v in np.ndenumerate(grid):
        ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7, color="white" if v < 0.6 else "black")
    fig.colorbar(im, ax=ax, label="F1")
    ax.set_title("Per-class F1 (test)")
    return fig


def confusion_figure(a: dict, runs: dict[str, Runs], names: list[str]) -> object:
    from sklearn.metrics import ConfusionMatrixDisplay
    plt = _plt()
    classes = a["classes"]
    fig, axes = plt.subplots(1, len(names), figsize=(6.2 * len(names), 5.6))
    for ax, n in zip(np.atleast_1d(axes), names):
        r = runs[n]
        ConfusionMatrixDisplay.from_predictions(r.truth("test"), r.preds["test"][0], labels=list(range(len(classes))),
                                                display_labels=classes, ax=ax, colorbar=False, cmap="Blues")
        ax.set_xticklabels(classes, rotation=40, ha="right", fontsize=7)
        ax.set_yticklabels(classes, fontsize=7)
        ax.set_title(f"{n} (seed {r.seeds[0]}): top-1 {a['models'][n]['top1']['per_seed'][0]:.3f}", fontsize=10)
    return fig


def strip(frames: np.ndarray, kps: np.ndarray | None, n: int = 5) -> np.ndarray:
    """n evenly spaced frames side by side, with the MediaPipe skeleton drawn where one was found."""
    import cv2
    from mediapipe.python.solutions.pose_connections import POSE_CONNECTIONS
    idx = np.linspace(0, len(frames) - 1, n).round().astype(int)
    tiles = []
    for i in idx:
        img = np.ascontiguousarray(frames[i]).copy()
        h, w = img.shape[:2]
        if kps is not None and np.isfinite(kps[i, :, :2]).all():
            pts = [(int(x * w), int(y * h)) for x, y in kps[i, :, :2]]
            for a, b in POSE_CONNECTIONS:
                cv2.line(img, pts[a], pts[b], (255, 255, 0), 1, cv2.LINE_AA)
            for p in pts:
                cv2.circle(img, p, 1, (255, 0, 0), -1, cv2.LINE_AA)
        tiles.append(img)
    return np.concatenate(tiles, axis=1)


def _clip(frames_dir: Path, pose_dir: Path, clip_id: str):
    from src.prepare.frame_store import ClipFrames
    from src.prepare.pose_store import load_pose
    clip = ClipFrames(frames_dir / f"{clip_id}.mp4")
    frames = clip.frames(range(len(clip)))
    pose = pose_dir / f"{clip_id}.npz"
    return frames, load_pose(pose)[0] if pose.exists() else None


def strips_figure(a: dict, runs: dict[str, Runs], frames_dir: Path, pose_dir: Path) -> object:
    plt = _plt()
    first = next(iter(runs.values()))
    y, ids, classes = first.truth("test"), first.clip_ids["test"], a["classes"]
    rows = [(c, ids[int(np.flatnonzero(y == k)[0])]) for k, c in enumerate(classes) if (y == k).any()]
    fig, axes = plt.subplots(len(rows), 1, figsize=(10, 2.0 * len(rows)))
    for ax, (c, clip_id) in zip(np.atleast_1d(axes), rows):
        ax.imshow(strip(*_clip(frames_dir, pose_dir, clip_id)))
        ax.set_title(f"{c}  ({clip_id})", fontsize=9, loc="left")
        ax.axis("off")
    return fig


def mistakes_figure(a: dict, runs: dict[str, Runs], frames_dir: Path, pose_dir: Path, n: int = 6):
    """The clips most models got wrong (in most seeds), each with its true label and the wrong answers."""
    plt = _plt()
    first = next(iter(runs.values()))
    y, ids, classes = first.truth("test"), first.clip_ids["test"], a["classes"]
    wrong = np.stack([r.correct("test").mean(0) <= 0.5 for r in runs.values()])  # models x clips
    order = np.argsort(-wrong.sum(0), kind="stable")[:n]
    order = [i for i in order if wrong[:, i].sum() > 0]
    if not order:
        return None
    fig, axes = plt.subplots(len(order), 1, figsize=(10, 2.2 * len(order)))
    for ax, i in zip(np.atleast_1d(axes), order):
        guesses = {}
        for r in runs.values():
            p = int(np.bincount(r.preds["test"][:, i], minlength=len(classes)).argmax())
            if p != y[i]:
                guesses.setdefault(classes[p], []).append(r.name)
        said = "; ".join(f"{c} ({', '.join(ms)})" for c, ms in guesses.items())
        ax.imshow(strip(*_clip(frames_dir, pose_dir, ids[i])))
        ax.set_title(f"true: {classes[y[i]]}; {int(wrong[:, i].sum())} of {len(runs)} models wrong: {said}",
                     fontsize=8, loc="left")
        ax.axis("off")
    return fig


CURVES = ("train_acc", "val_acc", "train_loss", "val_loss")


def read_histories(models, history_dir: Path, seed: int) -> dict:
    """Per-epoch curves of the models that train by epochs (a fusion model fits one weight: it has none)."""
    import pandas as pd
    return {n: pd.read_csv(history_dir / f"{n}-seed{seed}.csv") for n in models
            if (history_dir / f"{n}-seed{seed}.csv").exists()}


def curves_figure(hist: dict, seed: int) -> object:
    """One panel per model: training and validation accuracy (left axis) and loss (right axis) per epoch, so
    under- and overfitting show at a glance: train and validation accuracy both low is underfitting, train high
    and validation low is overfitting."""
    plt = _plt()
    n = len(hist)
    cols = min(4, n)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.7 * rows), squeeze=False)
    for ax, (name, h) in zip(axes.ravel(), hist.items()):
        ax.plot(h["epoch"], h["train_acc"], color="tab:blue", ls="--", label="train acc")
        ax.plot(h["epoch"], h["val_acc"], color="tab:blue", label="val acc")
        ax.set_ylim(0, 1.02)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("epoch", fontsize=8)
        ax.tick_params(labelsize=7)
        loss = ax.twinx()
        loss.plot(h["epoch"], h["train_loss"], color="tab:red", ls="--", label="train loss")
        loss.plot(h["epoch"], h["val_loss"], color="tab:red", label="val loss")
        loss.tick_params(labelsize=7, colors="tab:red")
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    handles = [plt.Line2D([], [], color=c, ls=ls, label=lbl) for c, ls, lbl in
               (("tab:blue", "--", "train accuracy"), ("tab:blue", "-", "validation accuracy"),
                ("tab:red", "--", "train loss (right axis)"), ("tab:red", "-", "validation loss (right axis)"))]
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=8, bbox_to_anchor=(0.5, -0.02))
    fig.suptitle(f"Learning curves (training seed {seed})", fontsize=10)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def write_report(a: dict, runs: dict[str, Runs], seeds: list[int], reports: Path, frames_dir: Path,
                 pose_dir: Path, history_dir: Path | None = None) -> dict[str, str]:
    """reports/compare.md, reports/compare_appendix.md and reports/figures/*.png; returns the figures."""
    out = reports / "figures"
    figures = {"cost": save_figure(cost_figure(a), out / "cost.png"),
               "per_class": save_figure(per_class_figure(a), out / "per_class_f1.png")}
    shown = [a["best_model"]] + [n for n in [a["best_per_family"].get("frame")] if n and n != a["best_model"]]
    figures["confusion"] = save_figure(confusion_figure(a, runs, shown), out / "confusion.png")
    figures["strips"] = save_figure(strips_figure(a, runs, frames_dir, pose_dir), out / "clips.png")
    fig = mistakes_figure(a, runs, frames_dir, pose_dir)
    if fig is not None:
        figures["mistakes"] = save_figure(fig, out / "mistakes.png")
    hist = read_histories(a["models"], history_dir, seeds[0]) if history_dir else {}
    if hist:
        figures["curves"] = save_figure(curves_figure(hist, seeds[0]), out / "curves.png")
    with atomic_path(reports / "compare.md") as tmp:
        tmp.write_text(markdown(a, figures, seeds))
    with atomic_path(reports / "compare_appendix.md") as tmp:
        tmp.write_text(appendix(a, runs, figures.get("curves")))
    with atomic_path(timings_path(reports / "compare.md", reports)) as tmp:
        tmp.write_text(timings_markdown(a, runs))
    return figures


def timings_markdown(a: dict, runs: dict[str, Runs]) -> str:
    """reports/timings/compare.md: what each compared model cost in seconds on this machine. Not in git and no
    stage's output (a rerun never reproduces seconds); compare.md gives the reproducible cost, TFLOPs."""
    lines = ["# What the comparison cost on this machine", "",
             "Measured by the last `dvc repro` here (not kept in git: seconds differ between identical reruns).", "",
             "| model | train s | train clips/s | loader clips/s | test inference s | inference clips/s |",
             "|---|---|---|---|---|---|"]
    for n in sorted(a["models"], key=lambda n: -a["models"][n]["top1"]["mean"]):
        ev = runs[n].evals[0]
        lines.append("| " + " | ".join([n] + [_num(ev.get(k), 1) for k in (
            "train_seconds", "train_clips_per_s", "loader_clips_per_s", "inference_seconds",
            "inference_clips_per_s")]) + " |")
    return "\n".join(lines + [""])


def write_plot_data(a: dict, history_dir: Path, curves_dir: Path, seed: int) -> None:
    """The data `dvc plots show` draws: every compared model's curves side by side (one column per model,
    seed `seed`), and accuracy against cost with intervals."""
    import pandas as pd

    from src.utils import write_csv
    hist = read_histories(a["models"], history_dir, seed)
    for metric in CURVES:
        wide = pd.DataFrame({"epoch": sorted({e for h in hist.values() for e in h["epoch"]})})
        for n, h in hist.items():
            wide = wide.merge(h[["epoch", metric]].rename(columns={metric: n}), on="epoch", how="left")
        write_csv(curves_dir / f"{metric}.csv", wide.round(4))
    m = a["models"]
    write_csv(curves_dir / "cost.csv", pd.DataFrame(
        [dict(model=n, family=r["family"], gflops_per_clip=r["gflops_per_clip"], top1=r["top1"]["mean"],
              ci_low=r["top1"]["ci"][0], ci_high=r["top1"]["ci"][1]) for n, r in m.items()]))
