"""The comparison's parent run in MLflow and its winner in the Model Registry.

Apart from src/reporting/tracking.py, which every training stage imports, so that changing how the winner is
registered reruns only the compare stage.
"""
from __future__ import annotations

from src.reporting.tracking import CHAMPION, REGISTERED_MODEL, flatten, new_run, run_tags


def comparison_run(params, runs: dict[str, list[str]], best: str, figures: dict) -> str:
    """One parent run for the comparison: the model runs nested under it, its figures logged, and the best
    model registered as REGISTERED_MODEL@champion. runs: model -> MLflow run ids (one per seed)."""
    c, pid = new_run(params, "comparison", kind="comparison", best_model=best)
    for model, ids in runs.items():
        for rid in ids:
            if rid:
                c.set_tag(rid, "mlflow.parentRunId", pid)  # how MLflow nests a run under another
    for k, v in flatten(figures).items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            c.log_metric(pid, k, float(v))
    champion = runs[best][0]
    if champion:
        try:
            c.get_registered_model(REGISTERED_MODEL)
        except Exception:
            c.create_registered_model(REGISTERED_MODEL)
        version = c.create_model_version(REGISTERED_MODEL, f"runs:/{champion}/model", run_id=champion,
                                         tags=run_tags(model=best))
        c.set_registered_model_alias(REGISTERED_MODEL, CHAMPION, version.version)
        c.set_tag(pid, "champion_version", version.version)
    c.set_terminated(pid)
    return pid
