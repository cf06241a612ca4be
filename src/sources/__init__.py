"""Where clips come from (`data.source`): each source builds the annotation tables
(fetch stage) and puts one clip's video into data/raw (download stage).

A source says how to build the annotation tables, which class pairs only the
order of events separates (the known-answer probe evaluation reports), how to
acquire one clip, and a per-clip fingerprint of the settings its file depends
on (a rerun of the download stage keeps a file only while its fingerprint holds).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from src.annotations import StageError
from src.config import ParamError, Params
from src.sources import folder, kinetics, synthetic


def user_order_pairs(params: Params, classes: list[str]) -> list[tuple[str, str]]:
    """Sources with no built-in pairs declare the ones the user names in data.order_pairs."""
    return [tuple(p) for p in params.data.order_pairs]


@dataclass(frozen=True)
class Source:
    annotations: Callable   # params -> (annotation table, classes, notes for metrics/fetch.json)
    acquire: Callable       # (row, params, dest path) -> extra manifest fields (raw_offset, ...)
    fingerprint: Callable   # (row, params) -> str; a kept file must match it
    suffix: Callable = lambda row: ".mp4"
    order_pairs: Callable = user_order_pairs  # (params, classes) -> [(class, class)]


SOURCES = {
    "synthetic": Source(synthetic.synthetic_annotations, synthetic.synthetic_acquire, synthetic.synthetic_fingerprint,
                        order_pairs=synthetic.synthetic_order_pairs),
    "kinetics": Source(kinetics.kinetics_annotations, kinetics.kinetics_acquire, kinetics.kinetics_fingerprint),
    "folder": Source(folder.folder_annotations, folder.folder_acquire, folder.folder_fingerprint,
                     suffix=lambda row: Path(row["source"]).suffix.lower()),
}


def get_source(name: str) -> Source:
    if name not in SOURCES:
        raise ParamError(f"params.yaml: data.source: got {name!r}; allowed values: {', '.join(SOURCES)}")
    return SOURCES[name]


def fetch_annotations(params: Params) -> tuple[pd.DataFrame, list[str], dict]:
    df, classes, notes = get_source(params.data.source).annotations(params)
    if df.empty:
        raise StageError(f"data.source={params.data.source}: no annotation rows selected")
    return df, classes, notes


def order_pairs(params: Params, classes: list[str]) -> list[tuple[str, str]]:
    return get_source(params.data.source).order_pairs(params, classes)
