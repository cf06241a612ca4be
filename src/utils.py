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


# Figures that differ between identical reruns (timings, throughputs, MLflow run ids), by key suffix. They stay
# out of every file DVC hashes, or an identical `dvc repro` would change dvc.lock and git-tracked reports; they
# go to reports/timings/ instead (gitignored, no stage's output), mirroring the report they belong to.
VOLATILE = ("seconds", "_per_s", "_ms_per_frame", "overhead_pct", "run_id")
TIMINGS = "timings"


def split_volatile(figures: dict) -> tuple[dict, dict]:
    """(what a rerun reproduces byte for byte, what it does not), nested dicts split alike."""
    stable, volatile = {}, {}
    for k, v in figures.items():
        if isinstance(v, dict):
            s, t = split_volatile(v)
            stable[k] = s
            if t:
                volatile[k] = t
        elif str(k).endswith(VOLATILE):
            volatile[k] = v
        else:
            stable[k] = v
    return stable, volatile


def timings_path(path: str | Path, reports: str | Path) -> Path:
    """Where the volatile half of `path` (a file under reports/) goes: reports/timings/<the same relative path>,
    under the real repository root (so `dvc exp run --temp` keeps them)."""
    return repo_root() / Path(reports) / TIMINGS / Path(path).relative_to(reports)


def write_figures(path: str | Path, figures: dict, reports: str | Path) -> None:
    """Write a report's figures: the reproducible ones to `path`, timings and run ids to timings_path."""
    stable, volatile = split_volatile(figures)
    write_json(path, stable)
    if volatile:
        write_json(timings_path(path, reports), volatile)


def _merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out.get(k) or {}, v) if isinstance(v, dict) else v
    return out


def read_figures(path: str | Path, reports: str | Path) -> dict:
    """A report's figures with its timings merged back in (where this machine has them)."""
    t = timings_path(path, reports)
    return _merge(read_json(path), read_json(t) if t.exists() else {})


class StageReport:
    """Times a stage, then prints its one-line summary and writes two files: metrics/<stage>.json, the
    handful of figures DVC tracks as metrics, and reports/stages/<stage>.json, every figure, its timings and
    throughput split off to reports/timings/stages/ (write_figures)."""

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
        write_figures(self.details, figures, self.details.parent.parent)
        print(f"[{self.stage}] {ok} clips ok, {failed} failed, {seconds:.1f} s "
              f"({figures['clips_per_s']} clips/s, {bytes_written / 1e6:.1f} MB written)", flush=True)
        return figures
