"""Download stage: put every annotated clip's source video into data/raw through the chosen source.

Resumable: `data/raw` persists between runs (dvc.yaml `persist: true`), and
each finished clip is journalled the moment it lands, so a rerun, even after an
interrupted one, fetches only what is missing. A kept file must still match
its source fingerprint; an earlier failure is retried only when it was
transient or `download.retry_failed` is set. Files land atomically: a partial
download never passes as done.
"""
from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path

import pandas as pd

from src.annotations import MANIFEST, StageError, confined, read_annotations, write_manifest
from src.config import Params
from src.errors import machine_error
from src.media import MediaError, probe
from src.prepare.runner import map_clips, prepare_output, refuse_invalid_ids
from src.sources import get_source
from src.sources.youtube import DownloadFailure, classify_failure
from src.utils import atomic_path

JOURNAL = ".journal.jsonl"


def _acquire_one(row: dict, params: Params, raw_dir: Path) -> dict:
    source = get_source(params.data.source)
    dest = confined(raw_dir, f"{row['clip_id']}{source.suffix(row)}")
    out = dict(clip_id=row["clip_id"], label=row["label"], split=row["split"], time_start=row["time_start"],
               time_end=row["time_end"], path=dest.name, fingerprint=_fingerprint(source, row, params))
    try:
        with atomic_path(dest) as tmp:
            extra = source.acquire(row, params, tmp)
            probe(tmp)  # a file that does not probe never passes as downloaded
        return {**out, "raw_offset": 0.0, "attempts": 1, **extra, "status": "ok", "reason": "", "category": "",
                "transient": False, "bytes": dest.stat().st_size}
    except Exception as exc:  # one clip's failure, whatever it is, is recorded and never ends the run
        if machine_error(exc):  # ... but a full disk is the machine's: it ends the stage, and a rerun resumes
            raise
        if isinstance(exc, DownloadFailure):
            category, transient, reason = exc.category, exc.transient, str(exc)
        elif isinstance(exc, MediaError):  # the file arrived but is not a video
            category, transient, reason = "other", False, str(exc)
        else:
            category, transient = classify_failure(str(exc))
            reason = f"{type(exc).__name__}: {exc}"
        return {**out, "status": "failed", "reason": reason[:400], "category": category, "transient": transient,
                "attempts": getattr(exc, "attempts", 1), "bytes": 0, "raw_offset": 0.0}


def _fingerprint(source, row: dict, params: Params) -> str:
    try:
        return source.fingerprint(row, params)
    except OSError as exc:
        return f"unavailable: {exc}"


def previous_records(raw_dir: Path) -> dict[str, dict]:
    """What earlier runs recorded: the last manifest, then the journal of an interrupted run on top."""
    records = {}
    if (raw_dir / MANIFEST).exists():
        prev = pd.read_csv(raw_dir / MANIFEST, dtype=str, keep_default_na=False)
        records = {r["clip_id"]: r for r in prev.to_dict("records")}
    if (raw_dir / JOURNAL).exists():
        for line in (raw_dir / JOURNAL).read_text().splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by the interruption
            records[rec["clip_id"]] = rec
    return records


def _reusable(prev: dict | None, fingerprint: str, raw_dir: Path, retry_failed: bool) -> bool:
    if not prev or str(prev.get("fingerprint")) != fingerprint:
        return False
    if prev["status"] == "ok":
        return (raw_dir / prev["path"]).exists()
    transient = str(prev.get("transient")).lower() == "true"
    return not transient and not retry_failed


def plan(rows: list[dict], params: Params, raw_dir: Path) -> tuple[list[dict], list[dict]]:
    """(records kept from earlier runs, rows to acquire now); files nothing refers to are removed."""
    source, previous = get_source(params.data.source), previous_records(raw_dir)
    kept, todo = [], []
    for row in rows:
        prev = previous.get(row["clip_id"])
        if _reusable(prev, _fingerprint(source, row, params), raw_dir, params.download.retry_failed):
            kept.append({**prev, "label": row["label"], "split": row["split"]})
        else:
            todo.append(row)
    keep_files = {r["path"] for r in kept if r["status"] == "ok"} | {MANIFEST, JOURNAL}
    for p in raw_dir.iterdir():
        if p.name not in keep_files:
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    return kept, todo


def download_all(params: Params) -> tuple[pd.DataFrame, dict]:
    """Acquire every annotated clip not already here; returns the manifest and what was reused."""
    raw_dir = params.paths.raw
    prepare_output(raw_dir)
    rows, invalid = refuse_invalid_ids(read_annotations(params.paths.annotations).to_dict("records"))
    kept, todo = plan(rows, params, raw_dir)
    if kept:
        print(f"[download] {len(kept)} clip(s) kept from an earlier run, {len(todo)} to fetch")
    fn = functools.partial(_acquire_one, params=params, raw_dir=raw_dir)
    results = []
    with open(raw_dir / JOURNAL, "a") as journal:
        for _, res in map_clips(fn, todo, params.download.workers, "download", compute=params.compute):
            journal.write(json.dumps(res, default=str) + "\n")
            journal.flush()
            results.append(res)
    write_manifest(raw_dir, kept + invalid + results)  # an invalid id is recorded, never handed to the source
    (raw_dir / JOURNAL).unlink()
    manifest = pd.read_csv(raw_dir / MANIFEST, keep_default_na=False,
                           dtype={c: str for c in ("clip_id", "label", "split", "path", "reason", "category",
                                                   "fingerprint")})
    return manifest, dict(clips_reused=len(kept), clips_attempted=len(todo))


def availability(manifest: pd.DataFrame, classes: list[str]) -> dict:
    """Per class: requested, arrived, share, and failures by category (Kinetics loses ~10% of videos)."""
    out = {}
    for c in classes:
        m = manifest[manifest["label"] == c]
        ok = int((m["status"] == "ok").sum())
        failed = m[m["status"] != "ok"]
        out[c] = dict(requested=len(m), ok=ok, available=round(ok / len(m), 4) if len(m) else 0.0,
                      failures={str(k): int(v) for k, v in failed["category"].value_counts().items()})
    return out


def check_success_ratio(manifest: pd.DataFrame, classes: list[str], min_ratio: float) -> None:
    """Stop when fewer than `download.min_success_ratio` of the clips arrived, naming the classes short."""
    ratio = float((manifest["status"] == "ok").mean()) if len(manifest) else 0.0
    if ratio >= min_ratio:
        return
    per_class = availability(manifest, classes)
    short = {c: v for c, v in per_class.items() if v["available"] < min_ratio}
    detail = ", ".join(f"{c!r}: {v['ok']}/{v['requested']}" for c, v in short.items())
    cats = manifest.loc[manifest["status"] != "ok", "category"].value_counts()
    raise StageError(f"[download] only {ratio:.0%} of clips arrived (download.min_success_ratio={min_ratio}); "
                     f"classes short: {detail}; failures: " + ", ".join(f"{k} {v}" for k, v in cats.items()))
