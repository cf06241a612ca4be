"""shifted: the shifted test split (new scenes, farther camera), prepared like the main data (src/prepare/shifted.py
says what it is and where it lives)."""
import shutil

from src.annotations import write_annotations
from src.config import Params, load_params
from src.errors import run_cli
from src.prepare.download import download_all
from src.prepare.frame_store import extract_all as extract_frames
from src.prepare.pose import dancer_check, detection_summary, extract_all as extract_pose
from src.prepare.shifted import shifted_params
from src.prepare.trim import trim_all
from src.sources import order_pairs
from src.sources.synthetic import shifted_annotations
from src.utils import write_figures, write_json


def prepare_shifted(params: Params) -> dict:
    """Render, trim, store and pose the shifted test split; returns its summary figures."""
    p = shifted_params(params)
    shutil.rmtree(params.paths.shifted, ignore_errors=True)
    if params.data.source != "synthetic" or params.synthetic.shifted_clips_per_class == 0:
        why = (f"data.source={params.data.source} has no shifted scenes" if params.data.source != "synthetic"
               else "synthetic.shifted_clips_per_class is 0")
        write_json(params.paths.shifted / "none.json", {"why": why})  # evaluation then reports no shifted split
        print(f"[shifted] no shifted test split: {why}", flush=True)
        return dict(clips=0, why=why)
    df, classes = shifted_annotations(params)
    write_annotations(p.paths.annotations, df, classes, order_pairs(params, classes))
    raw, _ = download_all(p)
    ok = lambda m: m[m["status"] == "ok"].to_dict("records")  # noqa: E731
    clips = trim_all(ok(raw), p.paths.raw, p.paths.clips, p.trim, p.compute)
    frames = extract_frames(ok(clips), p.paths.clips, p.paths.frames, p.frames, p.compute)
    pose = extract_pose(ok(frames), p.paths.frames, p.paths.pose, p.pose, p.compute)
    shutil.rmtree(p.paths.raw), shutil.rmtree(p.paths.clips)  # evaluation reads the frame and pose stores
    steps = {"render": raw, "trim": clips, "frames": frames, "pose": pose}
    failed = {k: int((m["status"] != "ok").sum()) for k, m in steps.items()}
    summary = detection_summary(pose)
    truth = dancer_check(p, pose)
    figures = dict(clips=len(df), clips_ok=int((pose["status"] == "ok").sum()), failed=failed,
                   clips_per_split={k: int(v) for k, v in df["split"].value_counts().items()},
                   detection_rate=summary["detection_rate"],
                   detection_rate_per_split=summary["detection_rate_per_split"],
                   frames_with_several_people=summary["frames_with_several_people"], clip_notes=summary["clip_notes"],
                   clips_per_cue=summary["clips_per_cue"],
                   tracked_person_is_dancer=truth)
    on = truth.get("test", {}).get("on_dancer_rate")
    print(f"[shifted] {figures['clips_ok']} of {len(df)} shifted clips ready (failed per step: {failed}); the "
          f"front-end found the dancer in {figures['detection_rate']:.1%} of frames"
          + (f", and the tracked person is the dancer in {on:.1%} of the test frames with a pose" if on is not None
             else ""), flush=True)
    return figures


def main(params: Params) -> dict:
    figures = prepare_shifted(params)
    write_figures(params.paths.reports / "stages" / "shifted.json", figures, params.paths.reports)
    # curated: the front-end's detection rate on the shifted split (the main split's is in metrics/pose.json)
    write_json(params.paths.metrics / "shifted.json",
               {"detection_rate": figures["detection_rate"]} if figures.get("clips") else {})
    return figures


if __name__ == "__main__":
    run_cli(lambda: main(load_params()))
