"""Download stage: put every annotated clip's source video into data/raw through the chosen source."""
from __future__ import annotations

import functools
from pathlib import Path

from src.annotations import read_annotations, write_manifest
from src.config import Params
from src.media import MediaError, probe
from src.sources import get_source
from src.utils import atomic_path, clean_tmp, parallel_map


def _acquire_one(row: dict, params: Params, raw_dir: Path) -> dict:
    _, acquire = get_source(params.data.source)
    dest = raw_dir / f"{row['clip_id']}.mp4"
    out = dict(clip_id=row["clip_id"], label=row["label"], split=row["split"],
               time_start=row["time_start"], time_end=row["time_end"], path=dest.name)
    try:
        with atomic_path(dest) as tmp:
            extra = acquire(row, params, tmp)
            probe(tmp)  # a file that does not probe never passes as downloaded
        return {**out, **extra, "status": "ok", "reason": "", "bytes": dest.stat().st_size}
    except (MediaError, RuntimeError, OSError) as exc:
        return {**out, "status": "failed", "reason": str(exc)[:300], "bytes": 0, "raw_offset": 0.0}


def download_all(params: Params):
    """Acquire every annotated clip in parallel; returns the manifest."""
    raw_dir = params.paths.raw
    raw_dir.mkdir(parents=True, exist_ok=True)
    clean_tmp(raw_dir)
    rows = read_annotations(params.paths.annotations).to_dict("records")
    fn = functools.partial(_acquire_one, params=params, raw_dir=raw_dir)
    results = [res for _, res in parallel_map(fn, rows, params.download.workers, "download")]
    return write_manifest(raw_dir, results)
