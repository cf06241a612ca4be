"""What a rerun reproduces stays apart from what it does not (timings, throughputs, MLflow run ids)."""
import json

from src.utils import read_figures, split_volatile, write_figures


def test_timings_and_run_ids_are_split_off_nested_too():
    stable, volatile = split_volatile({"top1": 0.5, "train_seconds": 3.2, "clips_per_s": 9.0, "seconds": 1.0,
                                       "mlflow_run_id": "abc", "mediapipe_ms_per_frame": 28.0,
                                       "videomae": {"loss_last_epoch": 0.4, "seconds": 7.0}, "seed": 0})
    assert stable == {"top1": 0.5, "videomae": {"loss_last_epoch": 0.4}, "seed": 0}
    assert volatile == {"train_seconds": 3.2, "clips_per_s": 9.0, "seconds": 1.0, "mlflow_run_id": "abc",
                        "mediapipe_ms_per_frame": 28.0, "videomae": {"seconds": 7.0}}


def test_a_report_and_its_timings_round_trip(tmp_path):
    reports = tmp_path / "reports"
    path = reports / "runs" / "compare" / "m" / "seed0" / "eval.json"
    figures = {"top1": 0.75, "inference_seconds": 2.0, "shifted": {"top1": 0.5, "seconds": 1.0}}
    write_figures(path, figures, reports)
    assert json.loads(path.read_text()) == {"top1": 0.75, "shifted": {"top1": 0.5}}
    assert json.loads((reports / "timings/runs/compare/m/seed0/eval.json").read_text()) == {
        "inference_seconds": 2.0, "shifted": {"seconds": 1.0}}
    assert read_figures(path, reports) == figures
    before = path.read_bytes()
    write_figures(path, dict(figures, inference_seconds=5.0), reports)  # a rerun, slower
    assert path.read_bytes() == before
