"""The one per-clip runner every per-clip stage (download, trim, frames, pose) shares.

A stage hands it one function that turns an input row into a manifest row and
catches its own per-clip errors (a bad clip is a recorded `failed` row, never
the end of the run). The runner maps it over the clips in parallel with a
progress bar, writes the manifest atomically, prints the stage's one-line
summary and its skipped clips, and fails the stage only when a class falls
below `data.min_clips_per_class`.

Where the clips run is `compute.executor`: `local`, a process pool of the
stage's `workers`, or `ray`, the same function as Ray tasks on a cluster
(src/prepare/ray_executor.py). Both give the same manifests and files.
"""
from __future__ import annotations

import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Callable, Iterator

import pandas as pd
from tqdm import tqdm

from src.annotations import INVALID_ID, check_survivors, read_classes, shown, valid_id, write_manifest
from src.config import Params
from src.utils import StageReport, clean_tmp


def map_clips(fn: Callable[[dict], dict], rows: list[dict], workers: int, desc: str, initializer=None,
              initargs=(), start_method: str | None = None, compute=None) -> Iterator[tuple[dict, dict]]:
    """Apply fn to rows over `workers` processes (or Ray tasks, when `compute.executor` is ray) with a tqdm
    bar; yields (row, result) as each finishes.

    Results come back in completion order; fn must catch its own per-clip errors and return them.
    `start_method="spawn"` for workers that must not inherit the parent's state (MediaPipe graphs).
    """
    bar = tqdm(total=len(rows), desc=desc, unit="clip", dynamic_ncols=True)
    try:
        if compute is not None and compute.executor == "ray":
            from src.prepare.ray_executor import map_ray
            for row, result in map_ray(fn, rows, workers, compute, initializer, initargs):
                yield row, result
                bar.update()
            return
        if workers <= 1 or len(rows) <= 1:
            if initializer:
                initializer(*initargs)
            for row in rows:
                yield row, fn(row)
                bar.update()
            return
        import multiprocessing
        ctx = multiprocessing.get_context(start_method) if start_method else None
        with ProcessPoolExecutor(max_workers=workers, initializer=initializer, initargs=initargs,
                                 mp_context=ctx) as ex:
            futures = {ex.submit(fn, row): row for row in rows}
            try:
                for fut in as_completed(futures):
                    yield futures[fut], fut.result()
                    bar.update()
            except BaseException:  # a full disk (or a kill): the clips not started yet never start
                ex.shutdown(wait=False, cancel_futures=True)
                raise
    finally:
        bar.close()


def prepare_output(folder: Path) -> None:
    """Create the stage's folder, remove what an interrupted run left half-written, and try one write there, so a
    read-only folder ends the stage at once with one line (src/errors.py), not one failed record per clip."""
    folder.mkdir(parents=True, exist_ok=True)
    clean_tmp(folder)
    probe_file = folder / f".tmp-{os.getpid()}-writable"
    probe_file.write_bytes(b"")
    probe_file.unlink()


def refuse_invalid_ids(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """(rows whose clip id can name a file inside the stage's folder, a failed record for each other row): an id
    from an annotation table is external data, and `../x` or `a/b` must not write outside the folder."""
    good = [r for r in rows if valid_id(r["clip_id"])]
    bad = [{**{k: r[k] for k in ("clip_id", "label", "split", "time_start", "time_end") if k in r},
            "status": "failed", "reason": INVALID_ID, "category": "invalid", "transient": False, "bytes": 0}
           for r in rows if not valid_id(r["clip_id"])]
    for r in bad:
        print(f"[{INVALID_ID}] {shown(r['clip_id'])!r}: skipped", file=sys.stderr)
    return good, bad


def run_clips(fn: Callable[[dict], dict], rows: list[dict], out_dir: Path, workers: int, desc: str,
              timing: tuple = (), **pool) -> pd.DataFrame:
    """Map fn over rows into out_dir (leftovers of an interrupted run removed first); writes
    out_dir/manifest.csv, sorted by clip_id and without the `timing` columns, so the same inputs give
    the same bytes; returns the manifest with the timing columns (for the stage's summary)."""
    out_dir = Path(out_dir)
    prepare_output(out_dir)
    rows, results = refuse_invalid_ids(rows)
    results += [result for _, result in map_clips(fn, rows, workers, desc, **pool)]
    clean_tmp(out_dir)  # what a killed worker left half-written never becomes part of the output
    write_manifest(out_dir, [{k: v for k, v in r.items() if k not in timing} for r in results])
    df = pd.DataFrame(results)
    return df.sort_values("clip_id").reset_index(drop=True) if len(df) else df


def finish_clip_stage(report: StageReport, params: Params, manifest: pd.DataFrame, extra_check=None,
                      **extra) -> dict:
    """Report ok/failed/bytes (failure reasons counted), then fail if a class fell short."""
    ok = manifest[manifest["status"] == "ok"]
    failed = manifest[manifest["status"] != "ok"]
    reasons = {str(k): int(v) for k, v in failed["reason"].value_counts().items()} if len(failed) else {}
    figures = report.finish(ok=len(ok), failed=len(failed), bytes_written=int(ok["bytes"].sum()),
                            failure_reasons=reasons, **extra)
    for _, row in failed.iterrows():
        print(f"[{report.stage}] skipped {shown(row['clip_id'])}: {shown(row['reason'])}")
    if extra_check:
        extra_check()
    check_survivors(report.stage, ok, read_classes(params.paths.annotations), params.data.min_clips_per_class,
                    failed)
    return figures
