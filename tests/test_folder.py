"""The folder source on real generated videos, with the clutter real folders have."""
from __future__ import annotations

import dataclasses
import os
import re

import pandas as pd
import pytest

from src.annotations import StageError, read_annotations, write_annotations
from src.config import ParamError
from src.prepare.download import download_all
from src.sources import fetch_annotations
from tests.conftest import make_video
from tests.dvc_repo import tiny_repo

TANGO = "tango 'n' café"


def make_folder(root, counts: dict, ext: str = ".mp4") -> None:
    for c, n in counts.items():
        (root / c).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            make_video(root / c / f"clip {i}{ext}", frames=24, size=(48, 32), fps=8, seed=i)


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "videos"
    make_folder(root, {"salsa dancing": 5, TANGO: 5, "lonely": 1})
    (root / "salsa dancing" / "notes.txt").write_text("not a video")
    (root / TANGO / "broken.mp4").write_bytes(os.urandom(2000))
    return root


def folder_params(tiny_params, root, **data):
    d = dataclasses.replace(tiny_params.data, **{**dict(source="folder", folder=str(root), classes=(),
                                                        split_ratios=(0.6, 0.2, 0.2), min_clips_per_class=2), **data})
    return dataclasses.replace(tiny_params, data=d)


def test_fetch_reports_clutter_and_splits_stratified(tiny_params, folder):
    p = folder_params(tiny_params, folder)
    df, classes, notes = fetch_annotations(p)
    assert classes == ["salsa dancing", TANGO]
    skipped = {s["path"]: s["reason"] for s in notes["files_skipped"]}
    assert skipped["salsa dancing/notes.txt"].startswith("not a video file")
    assert skipped[f"{TANGO}/broken.mp4"].startswith("unreadable video")
    assert notes["classes_dropped"] == {"lonely": 1}
    counts = df.groupby(["label", "split"]).size().unstack()
    assert counts.loc[:, "train"].eq(3).all() and counts.loc[:, "val"].eq(1).all() and counts.loc[:, "test"].eq(1).all()
    assert df.time_end.round(1).eq(3.0).all()  # whole videos by default
    write_annotations(p.paths.annotations, df, classes)
    ann = read_annotations(p.paths.annotations)
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+", c) for c in ann.clip_id)  # safe file names
    assert ann.clip_id.is_unique
    assert fetch_annotations(p)[0].equals(df)  # deterministic


def test_download_copies_unchanged_and_reruns_copy_only_changes(tiny_params, folder):
    p = folder_params(tiny_params, folder)
    df, classes, _ = fetch_annotations(p)
    write_annotations(p.paths.annotations, df, classes)
    manifest, reuse = download_all(p)
    assert (manifest.status == "ok").all() and reuse["clips_attempted"] == 10
    for row in read_annotations(p.paths.annotations).itertuples():
        copy = p.paths.raw / f"{row.clip_id}.mp4"
        assert copy.read_bytes() == (folder / row.source).read_bytes()
    assert download_all(p)[1] == dict(clips_reused=10, clips_attempted=0)
    edited = folder / "salsa dancing" / "clip 0.mp4"
    make_video(edited, frames=24, size=(48, 32), fps=8, seed=99)
    assert download_all(p)[1] == dict(clips_reused=9, clips_attempted=1)


def test_segments_csv_and_its_errors(tiny_params, folder, tmp_path):
    seg = tmp_path / "segments.csv"
    seg.write_text("path,time_start,time_end\n" + "".join(
        f"{c}/clip {i}.mp4,{s},{s + 1}\n" for c in ("salsa dancing", TANGO) for i in range(5) for s in (0, 1.5)))
    p = folder_params(tiny_params, folder, segments=str(seg))
    df, _, _ = fetch_annotations(p)
    assert len(df) == 20 and df.groupby("source").split.nunique().eq(1).all()  # a video's segments stay together
    seg.write_text("path,start\nx,1\n")
    with pytest.raises(StageError, match=r"segments.csv: missing column\(s\) time_start, time_end"):
        fetch_annotations(p)
    seg.write_text("path,time_start,time_end\nsalsa dancing/clip 0.mp4,0,1\nsalsa dancing/clip 1.mp4,2,1\n")
    with pytest.raises(StageError, match=r"segments.csv row 3: needs 0 <= time_start < time_end"):
        fetch_annotations(p)
    seg.write_text("path,time_start,time_end\nsalsa dancing/nope.mp4,0,1\n")
    with pytest.raises(StageError, match=r"row 2: 'salsa dancing/nope.mp4' is not a readable video"):
        fetch_annotations(p)


def test_bad_folder_input(tiny_params, folder, tmp_path):
    with pytest.raises(ParamError, match="data.folder=.*is not a folder"):
        fetch_annotations(folder_params(tiny_params, tmp_path / "nowhere"))
    with pytest.raises(ParamError, match="data.classes: no folder for \\['tap'\\].*class folders found: lonely"):
        fetch_annotations(folder_params(tiny_params, folder, classes=("tap",)))
    with pytest.raises(StageError, match="fewer than 2 classes"):
        fetch_annotations(folder_params(tiny_params, folder, min_clips_per_class=6))


@pytest.mark.parametrize("name, why", [("salsa\x1b[31m red", "control character"), ("tab\tdancing", "control character"),
                                       ("<script>alert(1)</script>", "holds < or >"), ("x" * 255, "255 characters")])
def test_a_class_folder_name_that_would_reach_a_terminal_or_page_raw_is_refused(tiny_params, folder, name, why):
    make_folder(folder, {name: 3})
    with pytest.raises(StageError, match=re.escape(why)) as err:
        fetch_annotations(folder_params(tiny_params, folder))
    message = str(err.value)
    assert "rename" in message and str(folder) in message and "\x1b" not in message and "\t" not in message


def test_names_are_escaped_for_the_terminal_and_markdown():
    from src.annotations import md, shown
    assert shown("a\x1b[31mb\tc") == "a\\x1b[31mb\\tc" and shown(TANGO) == TANGO
    assert md("a|b *c* <i>&") == "a\\|b \\*c\\* \\<i\\>\\&" and md("salsa dancing") == "salsa dancing"


def test_folder_source_end_to_end_to_the_compare_report(tmp_path):
    """`dvc repro` on a folder of the user's own videos (.mkv and .mp4, awkward class names) runs every stage to
    compare.md; the stages with nothing to do for this source (no true joints: truth, ablation) write markers."""
    videos = tmp_path / "videos"
    make_folder(videos, {"salsa dancing": 3})
    make_folder(videos, {TANGO: 3}, ext=".mkv")
    repo = tiny_repo(tmp_path / "repo", data=dict(source="folder", folder=str(videos), classes=[],
                                                  split_ratios=[0.34, 0.33, 0.33]))
    log = repo.dvc("repro")
    for stage in ("fetch", "download", "trim", "frames", "pose", "truth", "ablation", "train", "evaluate",
                  "compare"):
        assert f"Running stage '{stage}'" in log
    assert "no true joints" in (repo.path / "models/ablation/none.json").read_text()
    report = (repo.path / "reports/compare.md").read_text()
    assert "| frame_cnn |" in report and "| fusion |" in report
    raw = pd.read_csv(repo.path / "data/raw/manifest.csv")
    assert (raw.status == "ok").all() and raw.path.str.endswith(".mkv").sum() == 3
    ev = pd.read_json(repo.path / "reports/runs/main/eval.json", typ="series")
    assert ev["test_clips"] == 2 and set(ev["per_class_f1"]) == {"salsa dancing", TANGO}
    assert "didn't change" in repo.dvc("repro", "evaluate") or "up to date" in repo.dvc("status")
    make_video(videos / "salsa dancing" / "clip 3.mp4", frames=24, size=(48, 32), fps=8, seed=5)
    assert "Running stage 'fetch'" in repo.dvc("repro", "fetch")  # a new video reruns fetch
