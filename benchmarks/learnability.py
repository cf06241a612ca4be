"""The learnability check on the prepared data: can each model overfit a few fixed training clips?

Per model: `--clips` training clips per class (the first by clip id, one centred view each, no augmentation),
the model's own recipe (optimizer, learning rate held constant, weight decay; bf16 where the recipe and the
CPU say so), full-batch steps until training accuracy reaches 0.95 or `--max-steps` pass
(src/learning/learnability.py). Prints the step it got there and the seconds it took. Needs `dvc repro pose`.

    python -m benchmarks.learnability [--models c3d videomae] [--clips 4] [--max-steps 100]
"""
from __future__ import annotations

import argparse
import torch

from src.annotations import read_classes
from src.config import load_params
from src.learning.data import fixed_views
from src.learning.learnability import overfit
from src.learning.train import cpu_has_bf16
from src.models.build import build_model
from src.models.registry import MODELS


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="*", default=list(MODELS))
    ap.add_argument("--clips", type=int, default=4, help="training clips per class")
    ap.add_argument("--max-steps", type=int, default=100)
    args = ap.parse_args()
    params = load_params()
    torch.set_num_threads(params.train.threads or torch.get_num_threads())
    print(f"{'model':14} {'clips':>5} {'fits':>5} {'steps':>6} {'train acc':>9} {'loss':>7} {'seconds':>8} {'precision':>9}")
    for name in args.models:
        torch.manual_seed(0)
        x, y = fixed_views(params, name, args.clips)
        recipe = MODELS[name].recipe
        bf16 = recipe.bf16 and cpu_has_bf16()
        r = overfit(build_model(name, len(read_classes(params.paths.annotations))), x, y, recipe, max_steps=args.max_steps, bf16=bf16)
        print(f"{name:14} {r['clips']:5d} {'yes' if r['fits'] else 'NO':>5} {r['steps']:6d} {r['train_acc']:9.3f} "
              f"{r['loss']:7.3f} {r['seconds']:8.1f} {'bf16' if bf16 else 'fp32':>9}", flush=True)


if __name__ == "__main__":
    main()
