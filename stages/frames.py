"""frames: decode each clip once into the H.264 frame store plus its index (manifest.csv)."""
from src.annotations import read_ok
from src.config import Params, load_params
from src.errors import run_cli
from src.prepare.frame_store import extract_all
from src.prepare.runner import finish_clip_stage
from src.utils import StageReport


def main(params: Params) -> None:
    report = StageReport("frames", params.paths.metrics, params.paths.reports / "stages")
    rows = read_ok(params.paths.clips).to_dict("records")
    manifest = extract_all(rows, params.paths.clips, params.paths.frames, params.frames, params.compute)
    clip_bytes = sum(int(r["bytes"]) for r in rows)
    ok = manifest[manifest["status"] == "ok"]
    finish_clip_stage(report, params, manifest, frames_stored=int(ok["num_frames"].sum()),
                      clips_bytes=clip_bytes,
                      store_to_clips_ratio=round(float(ok["bytes"].sum()) / max(1, clip_bytes), 3))


if __name__ == "__main__":
    run_cli(lambda: main(load_params()))
