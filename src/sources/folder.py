"""Folder source: the user's own labelled videos, `data.folder/<class name>/*.{mp4,avi,mkv,mov,webm}`.

fetch probes every file, reports (does not fail on) non-video files, unreadable
videos and classes with too few clips, and splits stratified by class. Splits
are drawn per source video, so segments of one video never land in both train
and test. Whole videos by default; `data.segments` names a CSV
(`path,time_start,time_end`, path relative to data.folder) to use segments instead.
download copies the files into data/raw unchanged (a copy, not a link: DVC
makes cached files read-only, which must never reach the user's originals).
"""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pandas as pd

from src.annotations import COLUMNS, StageError, name_problem, safe_name, shown
from src.config import ParamError, Params
from src.media import MediaError, probe
from src.splits import assign_splits

VIDEO_EXTS = (".mp4", ".avi", ".mkv", ".mov", ".webm")
SEGMENT_COLUMNS = ["path", "time_start", "time_end"]


def video_id(label: str, rel: str) -> str:
    """File-system-safe, unique id for one source video (the hash keeps 'a b' and 'a_b' apart)."""
    stem = safe_name(Path(rel).stem)[:40]
    return f"{safe_name(label)[:30]}-{stem}-{hashlib.sha1(rel.encode()).hexdigest()[:8]}"


def scan_folder(root: Path, classes: tuple) -> tuple[dict[str, list[tuple[str, float]]], list[dict]]:
    """{class: [(relative path, duration s)]} of readable videos, and the files skipped with reasons."""
    if not root.is_dir():
        raise ParamError(f"params.yaml: data.folder={str(root)!r} is not a folder; expected "
                         f"<folder>/<class name>/<video files>")
    found = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    refused = {name: name_problem(name) for name in found if name_problem(name)}
    if refused:  # a folder's name is the class name every report prints
        raise StageError("class folder name(s) refused, rename them: " + "; ".join(
            f"{shown(root / name)} {why}" for name, why in refused.items()))
    if classes:
        unknown = [c for c in classes if c not in found]
        if unknown:
            raise ParamError(f"params.yaml: data.classes: no folder for {unknown} under {root}; "
                             f"class folders found: {', '.join(found) or 'none'}")
        found = list(classes)
    videos: dict[str, list[tuple[str, float]]] = {}
    skipped = []
    for label in found:
        videos[label] = []
        for path in sorted(p for p in (root / label).rglob("*") if p.is_file() and not p.name.startswith(".")):
            rel = path.relative_to(root).as_posix()
            if path.suffix.lower() not in VIDEO_EXTS:
                skipped.append(dict(path=rel, reason=f"not a video file (expected {', '.join(VIDEO_EXTS)})"))
                continue
            try:
                videos[label].append((rel, probe(path).end))
            except MediaError as exc:
                skipped.append(dict(path=rel, reason=f"unreadable video: {exc}"))
    return videos, skipped


def read_segments(csv_path: Path, durations: dict[str, tuple[str, float]]) -> list[dict]:
    """Segments CSV rows -> items; every error names the file and the row."""
    try:
        df = pd.read_csv(csv_path, dtype={"path": str}, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise StageError(f"{csv_path} (data.segments): not a readable CSV ({exc})") from exc
    missing = [c for c in SEGMENT_COLUMNS if c not in df.columns]
    if missing:
        raise StageError(f"{csv_path}: missing column(s) {', '.join(missing)}; expected {', '.join(SEGMENT_COLUMNS)}")
    items = []
    for i, r in enumerate(df.to_dict("records")):
        where = f"{csv_path} row {i + 2}"
        try:
            start, end = float(r["time_start"]), float(r["time_end"])
        except (TypeError, ValueError):
            raise StageError(f"{where}: time_start/time_end must be numbers, got {r['time_start']!r}, "
                             f"{r['time_end']!r}") from None
        if not end > start >= 0:
            raise StageError(f"{where}: needs 0 <= time_start < time_end, got {start}, {end}")
        if r["path"] not in durations:
            raise StageError(f"{where}: {r['path']!r} is not a readable video under data.folder "
                             f"(paths are relative to it, e.g. <class>/<file>.mp4)")
        label, _ = durations[r["path"]]
        items.append(dict(label=label, source=r["path"], time_start=start, time_end=end))
    return items


def folder_annotations(params: Params) -> tuple[pd.DataFrame, list[str], dict]:
    d = params.data
    root = Path(d.folder)
    videos, skipped = scan_folder(root, d.classes)
    if d.segments:
        durations = {rel: (label, dur) for label, vs in videos.items() for rel, dur in vs}
        items = read_segments(Path(d.segments), durations)
    else:
        items = [dict(label=label, source=rel, time_start=0.0, time_end=round(dur, 3))
                 for label, vs in videos.items() for rel, dur in vs]
    counts = pd.Series([it["label"] for it in items], dtype=str).value_counts()
    short = {c: int(counts.get(c, 0)) for c in videos if counts.get(c, 0) < d.min_clips_per_class}
    classes = [c for c in videos if c not in short]
    if len(classes) < 2:
        raise StageError(f"data.folder={str(root)!r}: fewer than 2 classes with at least "
                         f"data.min_clips_per_class={d.min_clips_per_class} clips (classes with too few: "
                         f"{short or 'none'}; files skipped: {len(skipped)})")
    items = [it for it in items if it["label"] in classes]
    per_label = {c: sorted({it["source"] for it in items if it["label"] == c}) for c in classes}
    splits = assign_splits(classes, per_label, d.split_ratios, d.seed)  # by source video
    rows = [dict(label=it["label"], youtube_id=video_id(it["label"], it["source"]), time_start=it["time_start"],
                 time_end=it["time_end"], split=splits[it["source"]], source=it["source"]) for it in items]
    df = pd.DataFrame(rows, columns=COLUMNS + ["source"])
    notes = dict(files_skipped=skipped, classes_dropped=short)
    for s in skipped:
        print(f"[fetch] skipped {shown(s['path'])}: {shown(s['reason'])}")
    for c, n in short.items():
        print(f"[fetch] dropped class {c!r}: {n} clip(s) < data.min_clips_per_class={d.min_clips_per_class}")
    return df, classes, notes


def folder_acquire(row: dict, params: Params, dest: Path) -> dict:
    src = Path(params.data.folder) / row["source"]
    shutil.copyfile(src, dest)
    return {"raw_offset": 0.0}


def folder_fingerprint(row: dict, params: Params) -> str:
    """Changes when the source file does, so a rerun copies only new or edited videos."""
    st = (Path(params.data.folder) / row["source"]).stat()
    return f"{Path(params.data.folder).resolve()}|{row['source']}|{st.st_size}|{st.st_mtime_ns}"
