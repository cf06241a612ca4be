"""Every registered model can fit a handful of real training clips (src/learning/learnability.py): a preset
or recipe that cannot fit at all fails here, in seconds, instead of after a 25-minute run at chance."""
import dataclasses

import pytest
import torch

from src.learning.data import fixed_views
from src.learning.learnability import overfit
from src.models.build import build_model
from src.models.registry import MODELS
from tests.conftest import prepared_profile

MAX_STEPS = 60


@pytest.fixture(scope="module")
def learn_data(tmp_path_factory):
    """All 8 classes x 2 rendered clips through the real data stages (fetch to pose)."""
    return prepared_profile("learn", tmp_path_factory.mktemp("learn_data"))


@pytest.mark.parametrize("name", list(MODELS))
def test_every_model_overfits_a_few_clips(learn_data, name):
    torch.manual_seed(0)
    x, y = fixed_views(learn_data, name)
    assert len(y) == 16 and len(set(y.tolist())) == 8 and len(x if isinstance(x, torch.Tensor) else x[0]) == 16
    model = build_model(name, num_classes=8)
    result = overfit(model, x, y, MODELS[name].recipe, max_steps=MAX_STEPS)
    assert result["fits"], f"{name} did not fit 16 clips in {MAX_STEPS} steps: {result}"


def test_the_check_fails_a_model_that_cannot_learn(learn_data):
    """A check that cannot fail is no check: with a learning rate of zero nothing fits."""
    torch.manual_seed(0)
    x, y = fixed_views(learn_data, "pose_lstm")
    recipe = dataclasses.replace(MODELS["pose_lstm"].recipe, lr=1e-12)
    result = overfit(build_model("pose_lstm", num_classes=8), x, y, recipe, max_steps=10)
    assert not result["fits"] and result["steps"] == 10
