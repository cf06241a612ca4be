"""Kinetics-format annotation tables and the per-stage manifests built on them.

Annotations: `label,youtube_id,time_start,time_end,split` (one CSV per split),
`classes.txt`, and `pairs.json`: the known-answer class pairs the source
declares (pairs that only the order of events separates; evaluation reports
accuracy on them, so no learning code depends on one data source). Every later file is named by `clip_id`, Kinetics' own
`<youtube_id>_<start:06d>_<end:06d>` convention. Each stage writes a
`manifest.csv` listing every clip it was given with `status` (ok/failed) and
`reason`, so a failure is recorded, never silently dropped.
"""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pandas as pd

from src.errors import UserError
from src.splits import SPLITS
from src.utils import atomic_path, read_json, write_csv, write_json

COLUMNS = ["label", "youtube_id", "time_start", "time_end", "split"]
MANIFEST = "manifest.csv"
PAIRS = "pairs.json"


class StageError(UserError, RuntimeError):
    """A stage cannot produce a usable output (too few clips survived, bad input table)."""


# what a clip id (and so a file name under every stage's folder) may be: no separator, no leading dot, not `..`
ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,199}")
INVALID_ID = "invalid id"
MAX_NAME = 100  # a class name is a label in tables, plots and file names, not a paragraph


def clip_id(youtube_id: str, time_start: float, time_end: float) -> str:
    return f"{youtube_id}_{int(time_start):06d}_{int(time_end):06d}"


def valid_id(text: str) -> bool:
    """A clip id built from external data (an annotation row) that can name a file inside its folder."""
    return isinstance(text, str) and ID.fullmatch(text) is not None


def confined(folder: str | Path, name: str) -> Path:
    """folder/name, refused unless name is a valid id-like file name that resolves inside folder."""
    path = Path(folder) / name
    if not valid_id(name) or path.resolve().parent != Path(folder).resolve():
        raise StageError(f"{INVALID_ID} {shown(name)!s}: a file name under {folder} must match {ID.pattern}")
    return path


def name_problem(name: str) -> str:
    """Why a class name cannot be used ("" when it can): names reach classes.txt (one per line), the terminal,
    markdown and the HTML plots page, whose data DVC inlines into a <script> unescaped."""
    if not isinstance(name, str) or not name.strip():
        return "is empty"
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
        return "holds a control character (tab, newline, escape sequence)"
    if "<" in name or ">" in name:
        return "holds < or > (the plots page would read it as HTML)"
    if len(name) > MAX_NAME:
        return f"is {len(name)} characters long (at most {MAX_NAME})"
    return ""


def shown(text) -> str:
    """text with non-printable characters escaped (\\x1b, \\t, \\n): safe to print to a terminal."""
    text = str(text)
    return text if text.isprintable() else "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def md(text) -> str:
    """text for a markdown table or line: printable, and the characters markdown or HTML would read escaped."""
    return re.sub(r"([\\`*_\[\]<>|&])", r"\\\1", shown(text))


def safe_name(text: str) -> str:
    """File-system-safe version of a class name or id (spaces, quotes, accents)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "x"


def write_annotations(folder: str | Path, df: pd.DataFrame, classes: list[str],
                      order_pairs: list | tuple = ()) -> None:
    folder = Path(folder)
    bad = {c: name_problem(c) for c in classes if name_problem(c)}
    if bad:
        raise StageError("class name(s) refused: " + "; ".join(f"{shown(c)!r} {why}" for c, why in bad.items()))
    for split in SPLITS:
        extra = [c for c in df.columns if c not in COLUMNS]  # e.g. the folder source's `source` path
        write_csv(folder / f"{split}.csv", df[df["split"] == split][COLUMNS + extra])
    with atomic_path(folder / "classes.txt") as tmp:
        tmp.write_text("".join(f"{c}\n" for c in classes))
    unknown = [c for pair in order_pairs for c in pair if c not in classes]
    if unknown:
        raise StageError(f"data.order_pairs names class(es) not in the data: {', '.join(map(repr, unknown))}; "
                         f"classes: {', '.join(classes)}")
    write_json(folder / PAIRS, {"order_pairs": [list(p) for p in order_pairs]})


def read_classes(folder: str | Path) -> list[str]:
    return [line for line in (Path(folder) / "classes.txt").read_text().splitlines() if line]


def read_order_pairs(folder: str | Path) -> list[tuple[str, str]]:
    """The class pairs the source declared that only the order of events separates (may be none)."""
    path = Path(folder) / PAIRS
    return [tuple(p) for p in read_json(path)["order_pairs"]] if path.exists() else []


def read_annotations(folder: str | Path) -> pd.DataFrame:
    """All splits as one table with a `clip_id` column; bad tables raise StageError naming the file."""
    frames = []
    for split in SPLITS:
        path = Path(folder) / f"{split}.csv"
        if not path.exists():
            raise StageError(f"{path} missing: run the fetch stage first")
        df = pd.read_csv(path, dtype={"youtube_id": str, "label": str, "source": str}, keep_default_na=False)
        missing = [c for c in COLUMNS if c not in df.columns]
        if missing:
            raise StageError(f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}")
        frames.append(df)
    df = pd.concat(frames, ignore_index=True)
    df["clip_id"] = [clip_id(y, s, e) for y, s, e in zip(df.youtube_id, df.time_start, df.time_end)]
    return df


def write_manifest(folder: str | Path, rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    if len(df):
        df = df.sort_values("clip_id").reset_index(drop=True)
    write_csv(Path(folder) / MANIFEST, df)
    return df


def read_ok(folder: str | Path) -> pd.DataFrame:
    """The clips an upstream stage produced successfully."""
    path = Path(folder) / MANIFEST
    if not path.exists():
        raise StageError(f"{path} missing: run the upstream stage first")
    df = pd.read_csv(path, dtype={"youtube_id": str, "label": str, "reason": str})
    return df[df["status"] == "ok"].reset_index(drop=True)


def check_survivors(stage: str, ok: pd.DataFrame, classes: list[str], min_per_class: int,
                    failed: pd.DataFrame | None = None) -> None:
    """Fail the stage, naming the classes that fell short, when too few clips survived."""
    counts = ok["label"].value_counts() if len(ok) else pd.Series(dtype=int)
    short = {c: int(counts.get(c, 0)) for c in classes if counts.get(c, 0) < min_per_class}
    if short:
        detail = ", ".join(f"{c!r}: {n}" for c, n in short.items())
        reasons = ""
        if failed is not None and len(failed):
            top = failed["reason"].value_counts().head(3)
            reasons = "; most common failures: " + "; ".join(f"{r} ({n})" for r, n in top.items())
        raise StageError(f"[{stage}] too few clips survived (data.min_clips_per_class={min_per_class}): "
                         f"{detail}{reasons}")
