"""A per-clip function for the Ray executor test, in a module Ray's workers can import."""
import os
from pathlib import Path


def dies_once(row: dict, marker_dir: str, out_dir: str) -> dict:
    """Kills its own worker the first time it meets clip 0, mid-write; succeeds when retried."""
    from src.utils import atomic_path
    marker = Path(marker_dir) / f"{row['clip_id']}.seen"
    with atomic_path(Path(out_dir) / f"{row['clip_id']}.bin") as tmp:
        tmp.write_bytes(b"half")
        if row["clip_id"] == "c0" and not marker.exists():
            marker.touch()
            os._exit(1)  # the worker process dies here, its temporary file half-written
        tmp.write_bytes(b"whole")
    return dict(clip_id=row["clip_id"], label="x", split="train", status="ok", reason="", bytes=5)
