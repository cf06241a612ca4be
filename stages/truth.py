"""truth: the renderer's joints as a pose store beside MediaPipe's (data/pose_truth), for the oracle-pose
ablation (stages/ablation.py). Synthetic source only: kinetics and folder clips have no known joints, and the
stage says so in data/pose_truth/none.json.

Layout: pose/ holds the main clips (same files and manifest rows as data/pose, keypoints from the renderer);
shifted/ is a shifted store for src.prepare.shifted.shifted_params: its frame-store manifest (a copy: which
clips the split holds) and pose/. Also measures how far MediaPipe's landmarks lie from the drawn joints,
the check that the two layouts agree.
"""
import shutil

import numpy as np
import pandas as pd
from tqdm import tqdm

from src.annotations import read_annotations
from src.config import Params, load_params
from src.errors import run_cli
from src.prepare.pose_store import load_pose, save_pose
from src.prepare.shifted import shifted_params
from src.sources.truth import landmark_error, stored_keypoints
from src.utils import StageReport, write_csv, write_json

MANIFEST = "manifest.csv"


def truth_root(params: Params):
    """data/pose_truth beside the pose store (dvc.yaml names it too)."""
    return params.paths.pose.with_name("pose_truth")


def write_store(params: Params, out, errors: list) -> tuple[int, int]:
    """The true keypoints of every clip MediaPipe's store holds (same manifest); returns (clips, bytes)."""
    manifest = pd.read_csv(params.paths.pose / MANIFEST, dtype={"label": str, "reason": str})
    annotations = read_annotations(params.paths.annotations).set_index("clip_id").to_dict("index")
    n = nbytes = 0
    for row in tqdm(manifest[manifest["status"] == "ok"].to_dict("records"), desc=f"truth {out.parent.name}",
                    unit="clip"):
        found, det = load_pose(params.paths.pose / row["path"])
        kps = stored_keypoints(params, {**annotations[row["clip_id"]], "label": row["label"]}, len(det))
        nbytes += save_pose(out / row["path"], dict(keypoints=kps, detected=np.ones(len(kps), bool),
                                                     person=np.zeros(len(kps), np.int16),
                                                     people=np.ones(len(kps), np.int16),
                                                     confidence=np.ones(len(kps), np.float32)))
        if det.any():
            errors.append(landmark_error(kps, found, det, params.synthetic.height / params.synthetic.width))
        n += 1
    write_csv(out / MANIFEST, manifest)
    return n, nbytes


def main(params: Params) -> dict:
    root = truth_root(params)
    shutil.rmtree(root, ignore_errors=True)
    report = StageReport("truth", params.paths.metrics, params.paths.reports / "stages")
    if params.data.source != "synthetic":
        write_json(root / "none.json", {"why": f"data.source is {params.data.source}: only the synthetic "
                                                "renderer knows where its dancer's joints are"})
        print(f"[truth] no true keypoints for data.source={params.data.source}; the ablation is skipped")
        return report.finish(0, 0)
    main_err, shifted_err = [], []
    n, nbytes = write_store(params, root / "pose", main_err)
    shifted = shifted_params(params)
    if (shifted.paths.pose / MANIFEST).exists():
        (root / "shifted" / "frames").mkdir(parents=True)
        shutil.copyfile(shifted.paths.frames / MANIFEST, root / "shifted" / "frames" / MANIFEST)
        m, b = write_store(shifted, root / "shifted" / "pose", shifted_err)
        n, nbytes = n + m, nbytes + b
    med = {k: round(float(np.median(np.concatenate(v))), 4) for k, v in
           (("main", main_err), ("shifted", shifted_err)) if v}
    print(f"[truth] MediaPipe's body landmarks lie a median {med.get('main', float('nan')):.3f} (main) and "
          f"{med.get('shifted', float('nan')):.3f} (shifted) of the frame width from the drawn joints")
    return report.finish(n, 0, nbytes, metrics={"mediapipe_median_error": med})


if __name__ == "__main__":
    run_cli(lambda: main(load_params()))
