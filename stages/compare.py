"""compare: table, verdict and cost plot over every model in compare.models."""
from src.reporting.compare import compare
from src.config import Params, load_params


def main(params: Params) -> dict:
    if not params.compare.models:
        raise SystemExit("compare.models is empty: list the models to compare in params.yaml")
    v = compare(list(params.compare.models), params.paths.metrics, params.paths.reports)
    print(f"[compare] {len(params.compare.models)} models; best {v['best_model']} "
          f"(top-1 {v['best_top1']:.3f}); report in {params.paths.reports / 'compare.md'}", flush=True)
    return v


if __name__ == "__main__":
    main(load_params())
