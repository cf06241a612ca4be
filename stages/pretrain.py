"""pretrain: self-supervised pretraining of every model in pretrain.models on the training clips.

Writes one folder per registered model under paths.pretrain: the pretrained encoder (a Hugging Face
model folder) for the models pretrained, a `none.json` marker for the others, so each training
stage depends on its own model's folder only and reruns only when that one changes.
"""
import shutil

from src.config import Params, load_params
from src.errors import run_cli
from src.models.registry import MODELS
from src.utils import write_figures, write_json


def pretrainer(name: str):
    """The pretraining function of a model; imported only when there is pretraining to do (Lightning and
    the models cost this process about 5 s to import)."""
    from src.learning.pretrain import pretrain_videomae
    return {"videomae": pretrain_videomae}[name]


def main(params: Params) -> dict:
    root, figures = params.paths.pretrain, {}
    curves = params.paths.plots / "pretrain"
    curves.mkdir(parents=True, exist_ok=True)  # a declared output, empty when nothing is pretrained
    for name in MODELS:
        out = root / name
        shutil.rmtree(out, ignore_errors=True)
        if name in params.pretrain.models:
            figures[name] = pretrainer(name)(params, out, curves / f"{name}.csv")
        else:
            write_json(out / "none.json", {"model": name, "pretrained": False,
                                           "why": "not in pretrain.models" if MODELS[name].selfsup
                                           else "no self-supervised pretraining for this model"})
    write_figures(params.paths.reports / "stages" / "pretrain.json", figures, params.paths.reports)
    print(f"[pretrain] pretrained {', '.join(figures) or 'nothing'} (pretrain.models); "
          f"{len(MODELS) - len(figures)} other models start as model.init says", flush=True)
    return figures


if __name__ == "__main__":
    run_cli(lambda: main(load_params()))
