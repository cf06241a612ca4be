"""Comparison of the models trained under the same data, split and budget:
metrics/compare.json, reports/compare.md (table + verdict in words), reports/compare.png."""
from __future__ import annotations

from pathlib import Path

from src.utils import atomic_path, read_json, write_json

COLUMNS = [("top1", "top-1"), ("top5", "top-5"), ("mean_class_accuracy", "mean class acc"),
           ("macro_precision", "macro P"), ("macro_recall", "macro R"), ("macro_f1", "macro F1"),
           ("order_pair_accuracy", "order-pair acc"), ("test_clips", "test clips"),
           ("train_seconds", "train s"), ("train_clips_per_s", "train clips/s"),
           ("loader_clips_per_s", "loader clips/s"), ("inference_clips_per_s", "infer clips/s"),
           ("parameters", "params"), ("gflops_per_clip", "GFLOPs/clip")]
FAMILY_NAMES = {"frame": "per-frame image model", "temporal": "temporal RGB model", "pose": "pose model"}


def collect(names: list[str], metrics_root: Path) -> dict:
    rows = {}
    for name in names:
        ev = read_json(metrics_root / "compare" / name / "eval.json")
        rows[name] = {k: ev.get(k) for k, _ in COLUMNS} | {"family": ev.get("family"),
                                                         "per_class_f1": ev.get("per_class_f1", {}),
                                                         "order_pair": ev.get("order_pair")}
    return rows


def verdict(rows: dict) -> dict:
    best = max(rows, key=lambda n: (rows[n]["top1"], rows[n]["macro_f1"]))
    by_family = {}
    for name, r in rows.items():
        fam = r["family"]
        if fam not in by_family or r["top1"] > rows[by_family[fam]]["top1"]:
            by_family[fam] = name
    out = dict(best_model=best, best_family=rows[best]["family"], best_top1=rows[best]["top1"],
               best_per_family=by_family)
    frame, temporal = by_family.get("frame"), by_family.get("temporal")
    if frame and temporal and rows[frame].get("order_pair_accuracy") is not None:
        best_temporal_pair = max((n for n in rows if rows[n]["family"] == "temporal"
                                  and rows[n].get("order_pair_accuracy") is not None),
                                 key=lambda n: rows[n]["order_pair_accuracy"])
        out.update(order_pair=rows[frame]["order_pair"], frame_model=frame,
                   frame_order_pair_accuracy=rows[frame]["order_pair_accuracy"],
                   best_temporal_on_pair=best_temporal_pair,
                   temporal_order_pair_accuracy=rows[best_temporal_pair]["order_pair_accuracy"],
                   temporal_beats_frame_on_pair=bool(rows[best_temporal_pair]["order_pair_accuracy"]
                                                     > rows[frame]["order_pair_accuracy"]),
                   temporal_above_chance_on_pair=bool(rows[best_temporal_pair]["order_pair_accuracy"] > 0.5))
    return out


def _fmt(v) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.3f}" if v < 100 else f"{v:.0f}"
    if isinstance(v, int) and v >= 10_000:
        return f"{v / 1e6:.2f}M"
    return str(v)


def markdown(rows: dict, v: dict) -> str:
    head = "| model | family | " + " | ".join(label for _, label in COLUMNS) + " |"
    lines = ["# Model comparison", "", "Same data, split, training budget and evaluation views for every model.", "",
             head, "|" + "---|" * (len(COLUMNS) + 2)]
    for name, r in sorted(rows.items(), key=lambda kv: -kv[1]["top1"]):
        lines.append(f"| {name} | {r['family']} | " + " | ".join(_fmt(r[k]) for k, _ in COLUMNS) + " |")
    lines += ["", "## Verdict", ""]
    lines.append(f"The {FAMILY_NAMES.get(v['best_family'], v['best_family'])} family won: **{v['best_model']}** "
                 f"reached the highest test top-1 ({v['best_top1']:.3f}).")
    best_per = ", ".join(f"{FAMILY_NAMES.get(f, f)}: {n} ({rows[n]['top1']:.3f})"
                         for f, n in v["best_per_family"].items())
    lines.append(f"Best of each family: {best_per}.")
    if "temporal_beats_frame_on_pair" in v:
        pair = " vs ".join(v["order_pair"])
        if not v["temporal_beats_frame_on_pair"]:
            word = "did not beat the frame model"
        elif v["temporal_order_pair_accuracy"] <= 0.5:
            word = "scored higher than the frame model but no better than chance"
        else:
            word = "beat the frame model"
        lines.append(
            f"On the pair that only the order of poses separates ({pair}), temporal RGB models {word}: "
            f"{v['best_temporal_on_pair']} scored {v['temporal_order_pair_accuracy']:.3f} against "
            f"{v['frame_model']}'s {v['frame_order_pair_accuracy']:.3f} (0.5 is chance on the pair).")
        pose = [n for n in rows if rows[n]["family"] == "pose" and rows[n].get("order_pair_accuracy") is not None]
        if pose:
            lines.append(f"The pose model {pose[0]} scored {rows[pose[0]]['order_pair_accuracy']:.3f} on the pair.")
    lines.append("")
    return "\n".join(lines)


def plot(rows: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    colors = {"frame": "tab:orange", "temporal": "tab:blue", "pose": "tab:green"}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, key, label in ((axes[0], "gflops_per_clip", "GFLOPs per test clip (all views)"),
                           (axes[1], "inference_clips_per_s", "inference clips/s (CPU)")):
        for name, r in rows.items():
            x = max(r.get(key) or 1e-4, 1e-4)
            ax.scatter(x, r["top1"], color=colors.get(r["family"], "gray"), s=60)
            ax.annotate(name, (x, r["top1"]), textcoords="offset points", xytext=(5, 4), fontsize=8)
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("test top-1")
        ax.grid(alpha=0.3)
    handles = [plt.Line2D([], [], marker="o", ls="", color=c, label=FAMILY_NAMES[f]) for f, c in colors.items()]
    axes[0].legend(handles=handles, loc="lower right", fontsize=8)
    fig.suptitle("Accuracy against inference cost")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def compare(names: list[str], metrics_root: Path, reports: Path) -> dict:
    rows = collect(names, metrics_root)
    v = verdict(rows)
    write_json(metrics_root / "compare.json", {"models": rows, "verdict": v})
    with atomic_path(reports / "compare.md") as tmp:
        tmp.write_text(markdown(rows, v))
    plot(rows, reports / "compare.png")
    return v
