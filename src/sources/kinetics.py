"""Kinetics-700-2020 source: the official annotations (fetch); clips come from YouTube through
src/sources/youtube.py (download).

Annotations come from DeepMind's archive (train/validate/test CSV + JSON) or the
CVDF mirror's per-split CSVs, downloaded once into `paths.cache` with a SHA-256
sidecar so a rerun (a changed class list, say) reads the cached copy. Kinetics'
test split has no labels, so our labelled test split is carved from validate (or
train), never overlapping the clips chosen for the other splits.
"""
from __future__ import annotations

import difflib
import hashlib
import io
import random
import re
import tarfile
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from src.annotations import COLUMNS, INVALID_ID, StageError, name_problem, valid_id
from src.config import ParamError, Params
from src.sources.youtube import DownloadFailure, download_segment
from src.splits import clip_seed, split_counts
from src.utils import atomic_path, file_digest

KINETICS_SPLITS = ("train", "validate")
MIRROR_SPLIT = {"train": "train", "validate": "val"}  # the CVDF mirror names validate "val"
REQUIRED = ["label", "youtube_id", "time_start", "time_end"]
YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")  # what YouTube's video ids are; anything else never reaches a path


# --- annotation files ------------------------------------------------------------------------
def cached_download(url: str, cache_dir: Path, expected_sha256: str | None = None, timeout: float = 60) -> Path:
    """Download `url` once into cache_dir (keyed by the URL) and verify it by SHA-256.

    The sidecar `<file>.sha256` records the hash of the finished download; a
    cached file whose hash no longer matches is fetched again.
    """
    key = hashlib.sha256(url.encode()).hexdigest()[:12]
    name = url.rstrip("/").rsplit("/", 1)[-1].split("?")[0]
    name = name if valid_id(name) else "download"  # a URL's last part (`..`, say) never leaves cache_dir
    path = Path(cache_dir) / key / name
    sidecar = path.with_name(path.name + ".sha256")
    if path.exists() and sidecar.exists():
        recorded = sidecar.read_text().strip()
        if file_digest(path) == recorded and (not expected_sha256 or recorded == expected_sha256.lower()):
            return path
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, atomic_path(path) as tmp:
            ctype = resp.headers.get("Content-Type", "")
            with open(tmp, "wb") as out:
                while block := resp.read(1 << 20):
                    out.write(block)
            if "text/html" in ctype:
                raise StageError(f"{url} returned an HTML page (Content-Type {ctype}), not the annotation "
                                 f"file: check kinetics.archive_url / kinetics.csv_url")
            digest = file_digest(tmp)
            if expected_sha256 and digest != expected_sha256.lower():
                raise StageError(f"{url}: SHA-256 {digest} does not match kinetics.archive_sha256 "
                                 f"{expected_sha256}")
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise StageError(f"cannot download {url}: {exc}") from exc
    with atomic_path(sidecar) as tmp:
        tmp.write_text(digest + "\n")
    return path


def read_split_csv(data: bytes, source: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """One Kinetics split CSV: (its well-formed rows, the malformed ones counted by reason). A malformed row is
    skipped, never the end of the fetch (the stage fails only past data.max_malformed_ratio); a file that is not a
    Kinetics CSV at all is a StageError naming it. Checked column-wise: a million rows take about a second."""
    head = data[:512].lstrip().lower()
    if head.startswith(b"<!doctype html") or head.startswith(b"<html"):
        raise StageError(f"{source}: is an HTML page, not a CSV")
    try:
        df = pd.read_csv(io.BytesIO(data), dtype={"youtube_id": str, "label": str}, keep_default_na=False,
                         low_memory=False)  # one dtype per column, whatever a bad row holds
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise StageError(f"{source}: not a readable CSV ({exc})") from exc
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise StageError(f"{source}: missing column(s) {', '.join(missing)}; a Kinetics CSV has "
                         f"{', '.join(COLUMNS)}")
    times = df[["time_start", "time_end"]].apply(pd.to_numeric, errors="coerce")
    labels = df["label"].astype(str)
    label_ok = {name: not name_problem(name) for name in labels.unique()}  # a few hundred names, not a million
    checks = [  # the first failing check names the row's reason
        (INVALID_ID, ~df["youtube_id"].astype(str).str.fullmatch(YOUTUBE_ID.pattern)),
        ("invalid label", ~labels.map(label_ok)),
        ("invalid time", ~np.isfinite(times).all(axis=1) | (times["time_start"] < 0)),  # NaN is not finite
        ("time_end <= time_start", times["time_end"] <= times["time_start"]),
    ]
    reason = pd.Series("", index=df.index)
    for why, bad in checks:
        reason = reason.mask((reason == "") & bad.fillna(True), why)
    counts = {str(k): int(v) for k, v in reason[reason != ""].value_counts().items()}
    good = reason == ""
    out = df.loc[good, REQUIRED].copy()
    out[["time_start", "time_end"]] = times[good]
    return out.reset_index(drop=True), counts


def read_archive(path: Path) -> dict[str, tuple[pd.DataFrame, dict]]:
    """train/validate tables (and their malformed rows by reason) from DeepMind's tar.gz (any top-level folder)."""
    if not tarfile.is_tarfile(path):
        head = path.read_bytes()[:256].lower()
        what = "an HTML page" if b"<html" in head or b"<!doctype" in head else "not a tar archive"
        raise StageError(f"{path} (from kinetics.archive_url) is {what}: expected kinetics700_2020.tar.gz")
    tables = {}
    with tarfile.open(path) as tar:
        members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
        for split in KINETICS_SPLITS:
            member = members.get(f"{split}.csv") or members.get(f"{MIRROR_SPLIT[split]}.csv")
            if member is None:
                raise StageError(f"{path}: no {split}.csv inside (found {', '.join(sorted(members)) or 'nothing'})")
            tables[split] = read_split_csv(tar.extractfile(member).read(), f"{path}:{member.name}")
    return tables


def load_kinetics_tables(params: Params) -> dict[str, tuple[pd.DataFrame, dict]]:
    """{split: (its well-formed rows, its malformed rows by reason)}."""
    k, cache = params.kinetics, params.paths.cache / "annotations"
    if k.annotations == "archive":
        return read_archive(cached_download(k.archive_url, cache, k.archive_sha256))
    tables = {}
    for split in KINETICS_SPLITS:
        url = k.csv_url.format(split=MIRROR_SPLIT[split])
        tables[split] = read_split_csv(cached_download(url, cache).read_bytes(), url)
    return tables


# --- class selection and sampling ---------------------------------------------------------------
def select_classes(available: list[str], classes: tuple, class_filter: str) -> list[str]:
    """An explicit `data.classes` list (each must exist), else every class containing `data.class_filter`."""
    if classes:
        unknown = [c for c in classes if c not in available]
        if unknown:
            hints = "; ".join(f"{c!r} (did you mean {', '.join(map(repr, difflib.get_close_matches(c, available, 3)))}?)"
                              if difflib.get_close_matches(c, available, 3) else repr(c) for c in unknown)
            raise ParamError(f"params.yaml: data.classes: not Kinetics class(es): {hints}")
        return list(classes)
    word = class_filter.strip().lower()
    chosen = sorted(c for c in available if word in c.lower())
    if not chosen:
        raise ParamError(f"params.yaml: data.class_filter={class_filter!r} matches no Kinetics class "
                         f"(of {len(available)}); set data.classes to a list instead")
    return chosen


def sample(ids: list[str], n: int, seed: int, key: str) -> list[str]:
    """n items of ids, the same for the same seed whatever the CSV order."""
    ids = sorted(ids)
    rng = random.Random(clip_seed(seed, key))
    return sorted(rng.sample(ids, min(n, len(ids))))


def check_malformed(tables: dict[str, tuple[pd.DataFrame, dict]], max_ratio: float) -> dict:
    """The fetch report's account of malformed rows; a StageError when their share passes max_ratio."""
    bad = dict(sorted(sum((Counter(c) for _, c in tables.values()), Counter()).items()))
    total = sum(len(df) for df, _ in tables.values()) + sum(bad.values())
    share = sum(bad.values()) / total if total else 0.0
    for why, n in bad.items():
        print(f"[fetch] skipped {n} malformed annotation row(s): {why}")
    if share > max_ratio:
        raise StageError(f"[fetch] {sum(bad.values())} of {total} annotation rows are malformed ({share:.1%} > "
                         f"data.max_malformed_ratio={max_ratio}): " + ", ".join(f"{k} {v}" for k, v in bad.items())
                         + "; check kinetics.archive_url / kinetics.csv_url")
    return dict(annotation_rows=total, malformed_rows=bad)


def kinetics_annotations(params: Params) -> tuple[pd.DataFrame, list[str], dict]:
    loaded = load_kinetics_tables(params)
    notes = check_malformed(loaded, params.data.max_malformed_ratio)
    tables = {split: df for split, (df, _) in loaded.items()}
    available = sorted(set(tables["train"]["label"]) | set(tables["validate"]["label"]))
    classes = select_classes(available, params.data.classes, params.data.class_filter)
    d = params.data
    n_train, n_val, n_test = split_counts(d.clips_per_class, d.split_ratios)
    # our split -> (Kinetics table it is drawn from, how many per class)
    plan = [("train", "train", n_train), ("val", "validate", n_val), ("test", params.kinetics.test_from, n_test)]
    rows, short = [], {}
    for label in classes:
        used: set[str] = set()
        for split, source, n in plan:
            table = tables[source]
            pool = table[(table["label"] == label)]
            pool = pool[~pool["youtube_id"].isin(used)].drop_duplicates("youtube_id")
            by_id = pool.set_index("youtube_id")
            chosen = sample(list(by_id.index), n, d.seed, f"kinetics:{split}:{label}")
            if len(chosen) < n:
                short[f"{label}/{split}"] = f"{len(chosen)} of {n} (Kinetics {source} has no more)"
            for yid in chosen:
                used.add(yid)
                r = by_id.loc[yid]
                rows.append(dict(label=label, youtube_id=yid, time_start=float(r.time_start),
                                 time_end=float(r.time_end), split=split))
    for key, msg in short.items():
        print(f"[fetch] {key}: {msg}")
    return pd.DataFrame(rows, columns=COLUMNS), classes, {"splits_short": short, **notes}


def kinetics_acquire(row: dict, params: Params, dest: Path) -> dict:
    """Download one clip's segment from YouTube (the raw file then starts at the segment)."""
    d = params.download
    if not YOUTUBE_ID.fullmatch(str(row["youtube_id"])):  # an edited annotation table: no URL or path is built
        raise DownloadFailure(INVALID_ID, category="invalid", transient=False)
    url = d.url_template.format(youtube_id=row["youtube_id"])
    start, end = float(row["time_start"]), float(row["time_end"])
    attempts = download_segment(url, dest, start, end, d)
    return {"raw_offset": start, "attempts": attempts}


def kinetics_fingerprint(row: dict, params: Params) -> str:
    """A kept download is redone when the URL or the height limit changes."""
    return f"{params.download.url_template}|{params.download.max_height}"
