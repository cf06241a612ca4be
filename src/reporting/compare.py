"""The comparison: every (model, seed) run's test predictions turned into figures that can be trusted.

Per model: top-1, macro F1, order-pair accuracy and shifted top-1 as mean ± standard deviation over
training seeds, each with a 95% bootstrap interval that resamples test clips (scipy.stats.bootstrap,
the same resamples for every model, so intervals are paired). Every model is tested against the best
one on the same clips: McNemar's exact test on clip-level correctness (statsmodels), a paired
bootstrap interval of the accuracy difference, and Holm's correction over the comparisons. A verdict
says only what the data shows: "A beats B by d (95% CI [a, b], p = ...)", "no significant
difference", or "too few test clips to tell".

With several seeds, a clip's correctness is the share of seeds that got it right (bootstrap), and
"right in most seeds" for McNemar's binary table.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from src.utils import read_figures

FAMILIES = {"frame": "per-frame image model", "temporal": "video model", "pose": "pose model",
            "fusion": "RGB+pose fusion"}
MIN_CLIPS_PER_CLASS = 10   # fewer test clips per class than this: too few to name a winner
ALPHA = 0.05
N_RESAMPLES = 2000


class CompareError(RuntimeError):
    """A run the comparison needs is missing or does not match the others."""


@dataclass
class Runs:
    """The test predictions of one model under every seed, aligned on the same clips."""
    name: str
    family: str
    seeds: list[int]
    truths: dict                  # split -> clips' true class indices
    preds: dict                   # split -> (seeds x clips) predicted class indices
    evals: list[dict]             # eval.json of each seed
    clip_ids: dict                # split -> clip ids, in order

    def correct(self, split: str = "test") -> np.ndarray:
        """seeds x clips booleans."""
        return self.preds[split] == self.truths[split][None, :]

    def truth(self, split: str) -> np.ndarray:
        return self.truths[split]


def load_runs(names: list[str], seeds: list[int], runs_root: Path, classes: list[str],
              reports: Path | None = None) -> dict[str, Runs]:
    """Read every (model, seed) run under runs_root (reports/runs/compare); a missing one stops the stage,
    naming it. Each eval.json comes with its timings (reports/timings/) where this machine has them."""
    reports = Path(reports) if reports is not None else Path(runs_root).parent.parent
    out = {}
    for name in names:
        preds, truth, ids, evals = {}, {}, {}, []
        for seed in seeds:
            run = runs_root / name / f"seed{seed}"
            ev_path, pred_path = run / "eval.json", run / "predictions.csv"
            missing = [str(p) for p in (ev_path, pred_path) if not p.exists()]
            if missing:
                raise CompareError(f"[compare] the run {name} (seed {seed}) is missing: {', '.join(missing)}; "
                                   f"run `dvc repro compare_run@{name}-{seed}`")
            evals.append(read_figures(ev_path, reports))
            df = pd.read_csv(pred_path, dtype={"clip_id": str, "label": str, "predicted": str})
            for split, g in df.groupby("split"):
                g = g.sort_values("clip_id")
                if split in ids and list(g["clip_id"]) != ids[split]:
                    raise CompareError(f"[compare] {name} seed {seed} was tested on other {split} clips than seed "
                                       f"{seeds[0]}: rerun its evaluation")
                ids[split] = list(g["clip_id"])
                truth[split] = np.array([classes.index(c) for c in g["label"]])
                preds.setdefault(split, []).append(np.array([classes.index(c) for c in g["predicted"]]))
        out[name] = Runs(name, evals[0].get("family") or "temporal", list(seeds), truth,
                         {k: np.stack(v) for k, v in preds.items()}, evals, ids)
    first = next(iter(out.values()))
    for r in out.values():
        if r.clip_ids.get("test") != first.clip_ids.get("test"):
            raise CompareError(f"[compare] {r.name} and {first.name} were tested on different clips: "
                               f"rerun their evaluations on the same data")
    return out


def _macro_f1(y, pred, k) -> float:
    from sklearn.metrics import f1_score
    return float(f1_score(y, pred, labels=list(range(k)), average="macro", zero_division=0))


def interval(stat, n: int, seed: int = 0, resamples: int = N_RESAMPLES) -> tuple[np.ndarray, np.ndarray]:
    """95% percentile bootstrap interval of stat(clip indices) -> vector, resampling n test clips."""
    from scipy.stats import bootstrap
    res = bootstrap((np.arange(n),), lambda i: np.atleast_1d(stat(i)), vectorized=False, paired=False,
                    n_resamples=resamples, confidence_level=0.95, method="percentile", random_state=seed)
    return np.atleast_1d(res.confidence_interval.low), np.atleast_1d(res.confidence_interval.high)


def model_figures(runs: dict[str, Runs], classes: list[str], pairs: list) -> dict:
    """Mean ± sd over seeds and paired 95% bootstrap intervals for top-1, macro F1, order pair, shifted."""
    names = list(runs)
    k = len(classes)
    out = {n: {"family": runs[n].family, "seeds": runs[n].seeds} for n in names}
    pair_idx = [classes.index(c) for p in pairs for c in p]
    for split in ("test", "shifted"):
        have = [n for n in names if split in runs[n].preds]
        if not have:
            continue
        y = runs[have[0]].truth(split)
        acc = np.stack([runs[n].correct(split).mean(0) for n in have])  # models x clips: share of seeds right
        lo, hi = interval(lambda i: acc[:, i].mean(1), len(y))
        key = "top1" if split == "test" else "shifted_top1"
        for j, n in enumerate(have):
            per_seed = runs[n].correct(split).mean(1)
            out[n][key] = _summary(per_seed, lo[j], hi[j])
        if split != "test":
            continue
        f1_seeds = {n: [_macro_f1(y, p, k) for p in runs[n].preds["test"]] for n in have}
        lo, hi = interval(lambda i: np.array([np.mean([_macro_f1(y[i], p[i], k) for p in runs[n].preds["test"]])
                                              for n in have]), len(y), resamples=N_RESAMPLES // 2)
        for j, n in enumerate(have):
            out[n]["macro_f1"] = _summary(np.array(f1_seeds[n]), lo[j], hi[j])
        mask = np.isin(y, pair_idx)
        if mask.any():
            sub = acc[:, mask]
            lo, hi = interval(lambda i: sub[:, i].mean(1), int(mask.sum()))
            for j, n in enumerate(have):
                out[n]["order_pair"] = _summary(runs[n].correct("test")[:, mask].mean(1), lo[j], hi[j])
    for n in names:
        ev = runs[n].evals[0]
        out[n].update(parameters=ev.get("parameters"), gflops_per_clip=ev.get("gflops_per_clip"),
                      train_tflops=_mean([e.get("train_tflops") for e in runs[n].evals]),
                      train_seconds=_mean([e.get("train_seconds") for e in runs[n].evals]),
                      per_class_f1={c: round(float(np.mean([e["per_class_f1"][c] for e in runs[n].evals])), 4)
                                    for c in classes})
    return out


def _summary(per_seed: np.ndarray, lo: float, hi: float) -> dict:
    return dict(mean=round(float(per_seed.mean()), 4), sd=round(float(per_seed.std(ddof=1)), 4)
                if len(per_seed) > 1 else 0.0, ci=[round(float(lo), 4), round(float(hi), 4)],
                per_seed=[round(float(v), 4) for v in per_seed])


def _mean(values):
    values = [v for v in values if v is not None]
    return round(float(np.mean(values)), 1) if values else None


def paired_test(a: Runs, b: Runs, mask: np.ndarray | None = None, seed: int = 0, split: str = "test") -> dict:
    """a against b on the same clips of `split`: accuracy difference with its paired bootstrap interval and
    McNemar's exact p (clip right in most seeds)."""
    from statsmodels.stats.contingency_tables import mcnemar
    ca, cb = a.correct(split).mean(0), b.correct(split).mean(0)
    if mask is not None:
        ca, cb = ca[mask], cb[mask]
    lo, hi = interval(lambda i: ca[i].mean() - cb[i].mean(), len(ca), seed)
    ra, rb = ca > 0.5, cb > 0.5
    table = [[int(np.sum(ra & rb)), int(np.sum(ra & ~rb))], [int(np.sum(~ra & rb)), int(np.sum(~ra & ~rb))]]
    p = float(mcnemar(table, exact=True).pvalue)
    return dict(a=a.name, b=b.name, diff=round(float(ca.mean() - cb.mean()), 4), split=split,
                ci=[round(float(lo[0]), 4), round(float(hi[0]), 4)], p=p, table=table, clips=int(len(ca)))


def holm(tests: list[dict]) -> list[dict]:
    """Adds p_holm: Holm's step-down adjustment over these comparisons (statsmodels)."""
    from statsmodels.stats.multitest import multipletests
    if tests:
        adjusted = multipletests([t["p"] for t in tests], alpha=ALPHA, method="holm")[1]
        for t, p in zip(tests, adjusted):
            t["p_holm"] = float(p)
    return tests


def verdict(test: dict, too_few: bool) -> dict:
    """One of three outcomes, in words, from a paired test."""
    if too_few:
        outcome, words = "too_few", f"{test['a']} vs {test['b']}: too few test clips to tell"
    elif test["p_holm"] < ALPHA and (test["ci"][0] > 0 or test["ci"][1] < 0):
        winner, loser = (test["a"], test["b"]) if test["diff"] > 0 else (test["b"], test["a"])
        outcome = "beats"
        lo, hi = sorted(abs(c) for c in test["ci"])
        words = (f"{winner} beats {loser} by {abs(test['diff']):.3f} (95% CI [{lo:.3f}, {hi:.3f}], "
                 f"p {p_text(test['p_holm'])})")
    else:
        outcome, words = "no_difference", (f"no significant difference between {test['a']} and {test['b']} "
                                           f"(difference {test['diff']:+.3f}, 95% CI [{test['ci'][0]:+.3f}, "
                                           f"{test['ci'][1]:+.3f}], p {p_text(test['p_holm'])})")
    return {**test, "outcome": outcome, "verdict": words}


def p_text(p: float) -> str:
    """A p-value as the reports print it ("= 0.042", "< 0.001")."""
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def too_few_clips(y: np.ndarray, k: int, mask: np.ndarray | None = None) -> bool:
    """Fewer than MIN_CLIPS_PER_CLASS test clips in some class (of those tested)."""
    counts = np.bincount(y[mask] if mask is not None else y, minlength=k)
    present = counts[counts > 0]
    return bool(len(present) == 0 or present.min() < MIN_CLIPS_PER_CLASS)


def questions(runs: dict[str, Runs], figures: dict, few: bool, fusion_parts: dict | None) -> list[dict]:
    """The pose family's two questions, with the same paired tests: does the graph network beat the LSTM, and
    does fusion beat the better of its two parts, in-distribution (test) and on the shifted split."""
    out = []
    if "stgcn" in runs and "pose_lstm" in runs:
        tests = holm([paired_test(runs["stgcn"], runs["pose_lstm"])])
        out.append(dict(question="Does the graph network beat the LSTM? (stgcn vs pose_lstm, test split)",
                        tests=[verdict(t, few) for t in tests]))
    parts = [p for p in (fusion_parts or {}).values() if p in runs]
    if "fusion" in runs and len(parts) == 2:
        tests = []
        for split, key in (("test", "top1"), ("shifted", "shifted_top1")):
            if all(split in runs[n].preds for n in ["fusion"] + parts):
                best_part = max(parts, key=lambda n: figures[n].get(key, {}).get("mean", 0))
                tests.append(paired_test(runs["fusion"], runs[best_part], split=split))
        out.append(dict(question=f"Does fusion beat its better part? (fusion of {' and '.join(parts)}, against "
                                 f"whichever part is better on each split)",
                        tests=[{**verdict(t, few), "split": t["split"]} for t in holm(tests)]))
    return out


def analyse(runs: dict[str, Runs], classes: list[str], pairs: list, fusion_parts: dict | None = None) -> dict:
    """Figures per model, every model against the best, the family question, the order-pair probe, and the
    pose family's questions (graph against LSTM, fusion against its parts)."""
    figures = model_figures(runs, classes, pairs)
    k, first = len(classes), next(iter(runs.values()))
    y = first.truth("test")
    few = too_few_clips(y, k)
    best = max(runs, key=lambda n: (figures[n]["top1"]["mean"], figures[n].get("macro_f1", {}).get("mean", 0)))
    vs_best = [verdict(t, few) for t in holm([paired_test(runs[best], runs[n]) for n in runs if n != best])]
    by_family = {}
    for n in runs:
        fam = runs[n].family
        if fam not in by_family or figures[n]["top1"]["mean"] > figures[by_family[fam]]["top1"]["mean"]:
            by_family[fam] = n
    fams = [f for f in ("temporal", "frame", "pose", "fusion") if f in by_family]
    family_tests = [verdict(t, few) for t in holm([paired_test(runs[by_family[a]], runs[by_family[b]])
                                                   for i, a in enumerate(fams) for b in fams[i + 1:]])]
    out = dict(best_model=best, best_family=runs[best].family, classes=classes, test_clips=int(len(y)),
               min_clips_per_class=int(np.bincount(y, minlength=k).min()), too_few_clips=few,
               models=figures, versus_best=vs_best, best_per_family=by_family, families=family_tests,
               questions=questions(runs, figures, few, fusion_parts))
    pair_idx = [classes.index(c) for p in pairs for c in p]
    mask = np.isin(y, pair_idx)
    if mask.any() and "frame" in by_family and any(runs[n].family == "temporal" for n in runs):
        # every temporal model against the per-frame one (best order-pair accuracy first): which of them read time
        temporal = sorted((n for n in runs if runs[n].family == "temporal"),
                          key=lambda n: -figures[n].get("order_pair", {}).get("mean", 0))
        probes = [paired_test(runs[n], runs[by_family["frame"]], mask) for n in temporal]
        if "pose" in by_family:
            probes.append(paired_test(runs[by_family["pose"]], runs[by_family["frame"]], mask))
        few_pair = too_few_clips(y, k, mask)
        out["order_pair"] = dict(pairs=[list(p) for p in pairs], clips=int(mask.sum()),
                                 tests=[verdict(t, few_pair) for t in holm(probes)])
    return out


def ablation(truth: dict[str, Runs], runs: dict[str, Runs], k: int) -> list[dict]:
    """The oracle-pose ablation: each pose model trained and tested on the renderer's true joints against the
    same model on MediaPipe's, paired on the same clips of the test and the shifted split (Holm over these
    tests; k: the number of classes). A positive difference is what the front-end costs."""
    tests = []
    for name, t in truth.items():
        mp = runs.get(name)
        if mp is None:
            continue
        t.name = f"{name} (true joints)"
        for split in ("test", "shifted"):
            if split not in t.preds or split not in mp.preds:
                continue
            if t.clip_ids[split] != mp.clip_ids[split]:
                raise CompareError(f"[compare] the ablation's {name} was tested on other {split} clips than the "
                                   f"comparison's: rerun `dvc repro ablation`")
            test = paired_test(t, mp, split=split)
            tests.append(dict(test, model=name, truth_top1=round(float(t.correct(split).mean()), 4),
                              mediapipe_top1=round(float(mp.correct(split).mean()), 4)))
    return [verdict(t, too_few_clips(runs[t["model"]].truth(t["split"]), k)) for t in holm(tests)]


def curated(analysis: dict) -> dict:
    """The figures `dvc metrics` shows for the comparison: each model's mean test top-1 (intervals, tests
    and everything else are in reports/compare.json)."""
    return dict(top1={n: m["top1"]["mean"] for n, m in analysis["models"].items()})
