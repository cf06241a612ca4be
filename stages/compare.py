"""compare: every (model, seed) run of the comparison, with intervals, paired tests, a verdict and pictures; the
winner registered in MLflow's Model Registry (src/reporting/champion.py)."""
from pathlib import Path

from src.annotations import read_classes, read_order_pairs
from src.config import Params, load_params
from src.errors import run_cli
from src.learning.runs import RunPaths, comparison_params
from src.reporting.compare import ablation, analyse, curated, load_runs
from src.reporting.report import write_plot_data, write_report
from src.reporting.champion import comparison_run
from src.utils import read_figures, write_figures, write_json


def main(params: Params) -> dict:
    c = params.compare
    if not c.models:
        raise SystemExit("compare.models is empty: list the models to compare in params.yaml")
    classes = read_classes(params.paths.annotations)
    runs_root = params.paths.reports / "runs" / "compare"
    fused = all((runs_root / "fusion" / f"seed{s}" / "eval.json").exists() for s in c.seeds)
    models = list(c.models) + (["fusion"] if fused else [])  # stages/fusion.py says when and why there is none
    runs = load_runs(models, list(c.seeds), runs_root, classes, params.paths.reports)
    fusion_parts = {"rgb": params.fusion.rgb, "pose": params.fusion.pose} if fused else None
    analysis = analyse(runs, classes, read_order_pairs(params.paths.annotations), fusion_parts)
    oracle = params.paths.reports / "ablation"  # stages/ablation.py: the pose models on true joints
    if oracle.is_dir() and not (oracle / "none.json").exists():
        truth = load_runs(sorted(d.name for d in oracle.iterdir() if d.is_dir()), list(c.seeds), oracle, classes,
                          params.paths.reports)
        analysis["ablation"] = ablation(truth, runs, len(classes))
    write_figures(params.paths.reports / "compare.json", analysis, params.paths.reports)
    write_json(params.paths.metrics / "compare.json", curated(analysis))
    write_report(analysis, runs, list(c.seeds), params.paths.reports, params.paths.frames, params.paths.pose,
                 params.paths.plots / "history")
    write_plot_data(analysis, params.paths.plots / "history", params.paths.plots / "curves", c.seeds[0])
    run_ids = {n: [read_figures(runs_root / n / f"seed{s}" / "train.json", params.paths.reports).get("mlflow_run_id") for s in c.seeds]
               for n in runs}
    # the winner's first seed is registered; src/serving.py answers videos with it (a file MLflow runs)
    champion = RunPaths(comparison_params(params, analysis["best_model"], c.seeds[0]), compare=True).checkpoint
    comparison_run(params, run_ids, analysis["best_model"], curated(analysis), champion,
                   Path(__file__).resolve().parents[1] / "src" / "serving.py")
    best = analysis["models"][analysis["best_model"]]["top1"]
    print(f"[compare] {len(runs)} models x {len(c.seeds)} seed(s); best {analysis['best_model']} (top-1 "
          f"{best['mean']:.3f}, 95% CI [{best['ci'][0]:.3f}, {best['ci'][1]:.3f}]); report in "
          f"{params.paths.reports / 'compare.md'}", flush=True)
    return analysis


if __name__ == "__main__":
    run_cli(lambda: main(load_params()))
