import pytest

from src.config import ParamError, params_from_dict


def test_defaults_load_from_params_yaml():
    from src.config import load_params
    from tests.conftest import ROOT
    p = load_params(ROOT / "params.yaml")
    assert p.data.source == "synthetic" and p.trim.short_side > 0


@pytest.mark.parametrize("raw, names", [
    ({"trim": {"fsp": 8}}, ["trim", "fsp", "short_side"]),
    ({"data": {"source": "youtube"}}, ["data.source", "youtube", "synthetic"]),
    ({"trim": {"short_side": -64}}, ["trim.short_side", "-64"]),
    ({"frames": {"max_frames": 0}}, ["frames.max_frames"]),
    ({"pose": {"model_complexity": 3}}, ["pose.model_complexity", "0, 1, 2"]),
    ({"data": {"split_ratios": [0.5, 0.5, 0.5]}}, ["data.split_ratios"]),
    ({"bogus": {}}, ["bogus", "allowed sections"]),
    ({"compare": {"seeds": []}}, ["compare.seeds", "at least one"]),
    ({"compare": {"seeds": [0, 1, 0]}}, ["compare.seeds", "twice"]),
    ({"compare": {"seeds": [0, 1.5]}}, ["compare.seeds", "integer"]),
])
def test_bad_parameter_names_key_and_allowed_values(raw, names):
    with pytest.raises(ParamError) as exc:
        params_from_dict(raw)
    for name in names:
        assert name in str(exc.value)


def test_unknown_synthetic_class_is_rejected(tiny_params):
    import dataclasses

    from src.sources import fetch_annotations
    p = dataclasses.replace(tiny_params, data=dataclasses.replace(tiny_params.data, classes=("tap dancing",)))
    with pytest.raises(ParamError, match="tap dancing.*allowed values: belly dancing"):
        fetch_annotations(p)
