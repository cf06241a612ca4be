"""The model registry: `MODELS` and `build_model` (see registry.py)."""
from src.models.registry import MODELS, InputSpec, ModelEntry, build_model, input_spec

__all__ = ["MODELS", "InputSpec", "ModelEntry", "build_model", "input_spec"]
