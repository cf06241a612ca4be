"""The MLflow model of a training run, without pickle: MLflow's "models from code".

MLflow's pytorch flavour stores a model as a pickle, or as a torch.export program ("pt2"), which cannot trace
every architecture here (SlowFast's list of two pathways, the LSTMs' packed state); a pyfunc PythonModel
object is cloudpickled. A model from code is this file plus artifacts: MLflow runs this file to build the
model, and the model reads the run's safetensors checkpoint (src/learning/checkpoint.py), so logging and
loading the MLflow model pickle nothing. src/reporting/tracking.py logs it.

Input: the model's input as float32 (B×C×T×H×W clips or B×T×33×4 keypoint sequences, normalised as
evaluation feeds them; for the fusion model a dict of both, "rgb" and "pose"); output: B×K class
probabilities, in the checkpoint's class order.
"""
import mlflow
import numpy as np
from mlflow.pyfunc import PythonModel


class CheckpointModel(PythonModel):
    def load_context(self, context):
        from src.learning.checkpoint import load_checkpoint
        self.model, self.spec, self.meta = load_checkpoint(context.artifacts["checkpoint"])

    def predict(self, context, model_input: np.ndarray, params=None) -> np.ndarray:
        # np.ndarray: MLflow validates the input against the logged signature (its type hint adds nothing)
        import torch

        def tensor(a):
            return torch.as_tensor(np.asarray(a, dtype=np.float32))
        x = (tensor(model_input["rgb"]), tensor(model_input["pose"])) if isinstance(model_input, dict) \
            else tensor(model_input)
        with torch.inference_mode():
            return self.model(x).float().softmax(-1).numpy()


mlflow.models.set_model(CheckpointModel())
