"""fusion: the late fusion of fusion.rgb and fusion.pose for one training seed, its weight chosen on validation
clips, evaluated like every compared model (src/learning/fusion.py)."""
import argparse

from src.config import Params, load_params
from src.errors import run_cli
from src.utils import write_json


def skip_reason(params: Params) -> str:
    """Why this run has no fusion model ('' when it has one)."""
    if not params.fusion.enabled:
        return "fusion.enabled is false"
    missing = [f"fusion.{k}={v}" for k, v in (("rgb", params.fusion.rgb), ("pose", params.fusion.pose))
               if v not in params.compare.models]
    return f"{' and '.join(missing)} not in compare.models" if missing else ""


def main(params: Params, seed: int) -> dict:
    why = skip_reason(params)
    if why:
        import shutil

        from src.learning.runs import RunPaths, comparison_params
        paths = RunPaths(comparison_params(params, "fusion", seed), compare=True)
        for folder in (paths.checkpoint.parent, paths.details):
            shutil.rmtree(folder, ignore_errors=True)
            write_json(folder / "none.json", {"why": why})
        print(f"[fusion] no fusion model in this comparison: {why}", flush=True)
        return {}
    from src.learning.fusion import fuse  # torch and the models: only when there is work to do
    return fuse(params, seed)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, required=True, help="the training seed of the fused runs")
    args = parser.parse_args()
    run_cli(lambda: main(load_params(), args.seed))
