"""ablation: where pose accuracy is lost. The pose models of the comparison (ablation.models: stgcn and pose_lstm
where compared) trained and tested again on the renderer's true joints (the truth stage) instead of
MediaPipe's, same clips, recipe and seeds; the compare stage sets each beside its MediaPipe run (paired tests on
the test and the shifted split: "the front-end costs X points").

Runs land in reports/ablation/<model>/seed<S>/ and models/ablation/; with no true joints (not the synthetic
source) or no pose model compared, a none.json marker in both folders says why.
"""
import dataclasses
import shutil

from src.config import Params, load_params
from src.errors import run_cli
from src.learning.runs import RunPaths, comparison_params
from src.utils import write_json
from stages.truth import truth_root

POSE_MODELS = ("stgcn", "pose_lstm")


def ablation_paths(params: Params, name: str, seed: int) -> RunPaths:
    """A comparison run's paths, moved under models/ablation and reports/ablation."""
    paths = RunPaths(comparison_params(params, name, seed), compare=True)
    paths.checkpoint = params.paths.models / "ablation" / name / f"seed{seed}.safetensors"
    paths.details = params.paths.reports / "ablation" / name / f"seed{seed}"
    paths.train_json, paths.eval_json = paths.details / "train.json", paths.details / "eval.json"
    paths.predictions, paths.history = paths.details / "predictions.csv", paths.details / "history.csv"
    paths.confusion_csv = paths.details / "confusion.csv"
    return paths


def main(params: Params) -> dict:
    out = params.paths.reports / "ablation"
    for folder in (out, params.paths.models / "ablation"):
        shutil.rmtree(folder, ignore_errors=True)
    models = [m for m in POSE_MODELS if m in params.compare.models]
    truth = truth_root(params)
    why = ((truth / "none.json").exists() and "no true joints for this data source (the truth stage)") or \
        (not models and f"no pose model ({', '.join(POSE_MODELS)}) in compare.models")
    if why:  # both declared outputs still exist, each with a marker that says why (DVC requires them)
        for folder in (out, params.paths.models / "ablation"):
            write_json(folder / "none.json", {"why": why})
        print(f"[ablation] skipped: {why}")
        return {}
    from src.learning.evaluate import evaluate_run  # torch, Lightning and the models: only with work to do
    from src.learning.train import train_model
    oracle = dataclasses.replace(params, paths=dataclasses.replace(
        params.paths, pose=truth / "pose", shifted=truth / "shifted"))
    figures = {}
    for name in models:
        for seed in params.compare.seeds:
            run = comparison_params(oracle, name, seed)
            paths = ablation_paths(run, name, seed)
            train_model(run, paths)
            figures[f"{name}/seed{seed}"] = evaluate_run(run, paths)
    print(f"[ablation] {', '.join(models)} trained and tested on the renderer's joints "
          f"({len(params.compare.seeds)} seed(s)); compare.md sets them beside MediaPipe's", flush=True)
    return figures


if __name__ == "__main__":
    run_cli(lambda: main(load_params()))
