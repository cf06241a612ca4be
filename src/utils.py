"""Shared plumbing: atomic writes, JSON/CSV output, stage summaries."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from pathlib import Path

import pandas as pd


def repo_root() -> Path:
    """The repository a stage works for: DVC's root when DVC runs the stage (also for `dvc exp run --temp`
    and queued experiments, which run in a temporary copy), else the working directory."""
    return Path(os.environ.get("DVC_ROOT") or ".").resolve()


@contextlib.contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary sibling path; rename it onto `path` only if the block succeeds.

    An interrupted write leaves a `.tmp-*` file that never passes as done.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json(path: str | Path, obj) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: str | Path):
    return json.loads(Path(path).read_text())


def write_csv(path: str | Path, df: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


def file_digest(path: str | Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in 1 MiB blocks (hashlib's file_digest needs Python 3.11)."""
    import hashlib
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def clean_tmp(folder: str | Path) -> None:
    """Remove leftovers of interrupted atomic writes."""
    for p in Path(folder).glob(".tmp-*"):
        shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)


class StageReport:
    """Times a stage, then prints its one-line summary and writes two files: metrics/<stage>.json, the
    handful of figures DVC tracks as metrics (no timings, so an identical rerun changes nothing), and
    reports/stages/<stage>.json, every figure including timings and throughput."""

    def __init__(self, stage: str, metrics_dir: str | Path, details_dir: str | Path):
        self.stage = stage
        self.path = Path(metrics_dir) / f"{stage}.json"
        self.details = Path(details_dir) / f"{stage}.json"
        self.t0 = time.perf_counter()
        self.extra: dict = {}

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def finish(self, ok: int, failed: int, bytes_written: int = 0, metrics: dict | None = None, **extra) -> dict:
        seconds = self.elapsed()
        curated = dict(clips_ok=ok, clips_failed=failed, **(metrics or {}))
        figures = dict(curated, seconds=round(seconds, 2), clips_per_s=round(ok / seconds, 2) if seconds > 0 else 0.0,
                       bytes_written=int(bytes_written), **self.extra, **extra)
        write_json(self.path, curated)
        write_json(self.details, figures)
        print(f"[{self.stage}] {ok} clips ok, {failed} failed, {seconds:.1f} s "
              f"({figures['clips_per_s']} clips/s, {bytes_written / 1e6:.1f} MB written)", flush=True)
        return figures
