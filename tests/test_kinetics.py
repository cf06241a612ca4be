"""The Kinetics source against a real HTTP server on 127.0.0.1: annotation archive, then real yt-dlp +
ffmpeg segment downloads with the failures the network gives (404, truncation, stall)."""
from __future__ import annotations

import dataclasses
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time

import pandas as pd
import pytest
import yaml

from src.annotations import StageError, read_annotations, write_annotations
from src.config import ParamError
from src.prepare.download import download_all
from src.sources.youtube import classify_failure
from src.media import probe
from tests.conftest import ROOT, make_video
from tests.loopback import LoopbackServer, Route

DANCE = ["tap dancing", "breakdancing", "salsa dancing"]
OTHER = ["abseiling", "massaging person's head"]
HEADER = "label,youtube_id,time_start,time_end,split\n"


def kinetics_csv(split: str, per_class: int) -> str:
    rows = [f'"{c}",Kin-{c[:3].replace(" ", "")}{split[0]}{i:03d},{10 * i},{10 * i + 10},{split}\n'
            for c in DANCE + OTHER for i in range(per_class)]  # 11 characters, as YouTube's ids
    return HEADER + "".join(rows)


def archive_bytes(per_class: int = 12) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        files = {"train.csv": kinetics_csv("train", per_class), "validate.csv": kinetics_csv("validate", per_class),
                 "test.csv": "youtube_id,time_start,time_end,split\nzzz,0,10,test\n", "train.json": "{}"}
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"kinetics700_2020/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def server():
    with LoopbackServer() as srv:
        srv.routes["/kinetics700_2020.tar.gz"] = Route(archive_bytes(), "application/gzip")
        srv.routes["/oops.tar.gz"] = Route(b"<!DOCTYPE html><html><body>Sign in</body></html>", "text/html")
        yield srv


def kinetics_params(tiny_params, srv, **data):
    d = dataclasses.replace(tiny_params.data, **{**dict(source="kinetics", classes=(), clips_per_class=4,
                                                        split_ratios=(0.5, 0.25, 0.25)), **data})
    k = dataclasses.replace(tiny_params.kinetics, archive_url=srv.url("/kinetics700_2020.tar.gz"),
                            csv_url=srv.url("/csv/{split}.csv"))
    dl = dataclasses.replace(tiny_params.download, url_template=srv.url("/v/{youtube_id}.mp4"), workers=1,
                             sleep_interval=0, max_sleep_interval=0, sleep_requests=0, socket_timeout=2,
                             retries=1, backoff_seconds=0.1, min_success_ratio=0.0)
    return dataclasses.replace(tiny_params, data=d, kinetics=k, download=dl)


def test_fetch_selects_dance_classes_samples_deterministically_and_caches(tiny_params, server):
    from src.sources import fetch_annotations
    p = kinetics_params(tiny_params, server)
    df, classes, _ = fetch_annotations(p)
    assert classes == sorted(DANCE)  # the word filter: "dancing" inside the name, breakdancing included
    counts = df.groupby(["label", "split"]).size().unstack()
    assert (counts["train"] == 2).all() and (counts["val"] == 1).all() and (counts["test"] == 1).all()
    # test is carved from validate and never overlaps val; train comes from Kinetics train
    assert df[df.split == "test"].youtube_id.str[-4].eq("v").all()
    assert df[df.split == "train"].youtube_id.str[-4].eq("t").all()
    assert not set(df[df.split == "test"].youtube_id) & set(df[df.split == "val"].youtube_id)
    again, _, _ = fetch_annotations(p)
    assert again.equals(df) and server.hits["/kinetics700_2020.tar.gz"] == 1  # second read: the cache
    other_seed = fetch_annotations(dataclasses.replace(p, data=dataclasses.replace(p.data, seed=7)))[0]
    assert not other_seed.equals(df)
    # a cached archive that no longer matches its recorded checksum is fetched again
    cached = next((p.paths.cache / "annotations").rglob("*.tar.gz"))
    cached.write_bytes(b"garbage")
    assert fetch_annotations(p)[0].equals(df) and server.hits["/kinetics700_2020.tar.gz"] == 2


def test_explicit_classes_with_apostrophes_and_the_csv_mirror(tiny_params, server):
    from src.sources import fetch_annotations
    server.routes["/csv/train.csv"] = Route(kinetics_csv("train", 6).encode(), "text/csv")
    server.routes["/csv/val.csv"] = Route(kinetics_csv("validate", 6).encode(), "text/csv")
    p = kinetics_params(tiny_params, server, classes=("massaging person's head", "tap dancing"))
    p = dataclasses.replace(p, kinetics=dataclasses.replace(p.kinetics, annotations="csv", test_from="train"))
    df, classes, _ = fetch_annotations(p)
    assert classes == ["massaging person's head", "tap dancing"]
    assert not set(df[df.split == "test"].youtube_id) & set(df[df.split == "train"].youtube_id)
    write_annotations(p.paths.annotations, df, classes)
    ids = read_annotations(p.paths.annotations).clip_id
    assert all("'" not in i and " " not in i for i in ids)


@pytest.mark.parametrize("change, message", [
    (dict(data=dict(classes=("tap dansing",))), "did you mean 'tap dancing'"),
    (dict(data=dict(class_filter="yodelling")), "data.class_filter='yodelling' matches no Kinetics class"),
    (dict(kinetics=dict(archive_url="/oops.tar.gz")), "HTML page"),
    (dict(kinetics=dict(archive_url="/missing.tar.gz")), "HTTP Error 404"),
])
def test_bad_annotation_input_names_the_param_or_url(tiny_params, server, change, message):
    from src.sources import fetch_annotations
    p = kinetics_params(tiny_params, server, **change.get("data", {}))
    if "kinetics" in change:
        p = dataclasses.replace(p, kinetics=dataclasses.replace(
            p.kinetics, archive_url=server.url(change["kinetics"]["archive_url"])))
    with pytest.raises((ParamError, StageError), match=message):
        fetch_annotations(p)


def test_bad_csv_names_the_file(tiny_params, server):
    from src.sources import fetch_annotations
    server.routes["/csv/train.csv"] = Route(b"label,youtube_id,time_start\nx,a,1\n", "text/csv")
    server.routes["/csv/val.csv"] = Route(kinetics_csv("validate", 4).encode(), "text/csv")
    p = kinetics_params(tiny_params, server)
    p = dataclasses.replace(p, kinetics=dataclasses.replace(p.kinetics, annotations="csv"))
    with pytest.raises(StageError, match="train.csv: missing column.*time_end"):
        fetch_annotations(p)


# hostile rows: each is skipped and counted by its reason, and never becomes a path
HOSTILE = {"../../../../../tmp/x": "invalid id", "a/b/c/d/e/f": "invalid id", "Kin-tap0000\x1b": "invalid id",
           "..": "invalid id", "abc": "invalid id"}


def test_malformed_rows_are_skipped_counted_and_bounded_by_the_threshold(tiny_params, server, tmp_path):
    from src.sources import fetch_annotations
    bad = [f'"tap dancing",{yid},0,10,train\n' for yid in HOSTILE]
    bad += ['"tap dancing",Kin-badt001,zero,10,train\n', '"tap dancing",Kin-badt002,10,5,train\n',
            '"tap dancing",Kin-badt003,-4,5,train\n', '"tap\tdancing",Kin-badt004,0,10,train\n',
            '"<b>tap</b> dancing",Kin-badt005,0,10,train\n', ',Kin-badt006,0,10,train\n']
    body = kinetics_csv("train", 400) + "".join(bad)  # 2,000 good rows, 11 malformed
    server.routes["/csv/train.csv"] = Route(body.encode(), "text/csv")
    server.routes["/csv/val.csv"] = Route(kinetics_csv("validate", 4).encode(), "text/csv")
    p = kinetics_params(tiny_params, server)
    p = dataclasses.replace(p, kinetics=dataclasses.replace(p.kinetics, annotations="csv"))
    df, classes, notes = fetch_annotations(p)
    assert notes["malformed_rows"] == {"invalid id": 5, "invalid label": 3, "invalid time": 2,
                                       "time_end <= time_start": 1}
    assert notes["annotation_rows"] == 2000 + 20 + 11
    assert classes == sorted(DANCE) and df.youtube_id.str.fullmatch(r"[A-Za-z0-9_-]{11}").all()
    # past data.max_malformed_ratio the stage stops and says why
    strict = dataclasses.replace(p, data=dataclasses.replace(p.data, max_malformed_ratio=0.001))
    with pytest.raises(StageError, match=r"11 of 2031 annotation rows are malformed.*data.max_malformed_ratio=0.001"
                                         r".*invalid id 5"):
        fetch_annotations(strict)


@pytest.mark.parametrize("message, category, transient", [
    ("ERROR: [youtube] abc: Video unavailable. This video has been removed by the uploader", "removed", False),
    ("ERROR: [youtube] abc: Private video. Sign in if you've been granted access", "private", False),
    ("ERROR: [youtube] abc: Sign in to confirm your age. This video may be inappropriate", "age_restricted", False),
    ("ERROR: [youtube] abc: Sign in to confirm you’re not a bot", "bot_check", False),
    ("The uploader has not made this video available in your country", "geo_blocked", False),
    ("ERROR: Unable to download webpage: HTTP Error 429: Too Many Requests", "rate_limited", True),
    ("ERROR: [youtube] abc: Video unavailable", "unavailable", False),
    ("Read timed out. (read timeout=30)", "timeout", True),
    ("ffmpeg exited with code 183 | Connection reset by peer", "other", True),
    ("something odd", "other", False),
])
def test_failure_classification(message, category, transient):
    assert classify_failure(message) == (category, transient)


# --- download through real yt-dlp ---------------------------------------------------------------
def serve_videos(srv, ann: pd.DataFrame, tmp_path, broken: dict) -> None:
    """A 12 s video for every annotated id; `broken` maps an id to 404 / truncate / stall."""
    for i, yid in enumerate(sorted(ann.youtube_id.unique())):
        data = make_video(tmp_path / f"{yid}.mp4", frames=96, size=(64, 48), fps=8, seed=i).read_bytes()
        kind = broken.get(yid)
        srv.routes[f"/v/{yid}.mp4"] = (Route(status=404) if kind == "404" else
                                       Route(data, "video/mp4", truncate_at=len(data) // 3) if kind == "truncate" else
                                       Route(data, "video/mp4", stall_s=8) if kind == "stall" else
                                       Route(data, "video/mp4"))


def short_segments(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["time_start"], df["time_end"] = 2.0, 6.0  # inside the 12 s served videos
    return df


def test_download_classifies_failures_and_a_rerun_fetches_only_what_is_missing(tiny_params, server, tmp_path):
    from src.sources import fetch_annotations
    p = kinetics_params(tiny_params, server, classes=("tap dancing", "salsa dancing"))
    df, classes, _ = fetch_annotations(p)
    df = short_segments(df)
    write_annotations(p.paths.annotations, df, classes)
    ids = sorted(df.youtube_id)
    broken = {ids[0]: "404", ids[1]: "truncate", ids[2]: "stall"}
    serve_videos(server, df, tmp_path, broken)

    manifest, reuse = download_all(p)
    by_id = manifest.set_index(manifest.clip_id.str.rsplit("_", n=2).str[0])
    assert by_id.loc[ids[0], "category"] == "unavailable" and by_id.loc[ids[0], "transient"] in (False, "False")
    assert by_id.loc[ids[1], "status"] == "failed" and by_id.loc[ids[1], "transient"] in (True, "True")
    assert by_id.loc[ids[2], "category"] == "timeout"
    assert int(by_id.loc[ids[2], "attempts"]) == 2  # retried once (download.retries=1)
    ok = manifest[manifest.status == "ok"]
    assert len(ok) == len(ids) - 3 and reuse == dict(clips_reused=0, clips_attempted=len(ids))
    for path in ok.path:  # only the annotated segment was fetched, cut exactly
        assert abs(probe(p.paths.raw / path).duration - 4.0) < 0.3
    assert ok.raw_offset.astype(float).eq(2.0).all()
    assert not list(p.paths.raw.glob(".tmp-*")) and not list(p.paths.raw.glob("*.part"))

    hits = dict(server.hits)
    for yid in ids[1:3]:  # the network recovers
        server.routes[f"/v/{yid}.mp4"] = Route((tmp_path / f"{yid}.mp4").read_bytes(), "video/mp4")
    manifest, reuse = download_all(p)
    assert reuse == dict(clips_reused=len(ids) - 2, clips_attempted=2)  # the 404 is permanent: not retried
    assert (manifest.status == "ok").sum() == len(ids) - 1
    for yid in ids[3:] + ids[:1]:
        assert server.hits[f"/v/{yid}.mp4"] == hits[f"/v/{yid}.mp4"], yid

    p_retry = dataclasses.replace(p, download=dataclasses.replace(p.download, retry_failed=True))
    _, reuse = download_all(p_retry)
    assert reuse == dict(clips_reused=len(ids) - 1, clips_attempted=1)


def test_interrupted_download_stage_resumes(tiny_params, server, tmp_path):
    """Kill `python -m stages.download` mid-run; the rerun fetches only the clips that never landed."""
    from src.sources import fetch_annotations
    p = kinetics_params(tiny_params, server, classes=("tap dancing",))
    df, classes, _ = fetch_annotations(p)
    df = short_segments(df)
    ids = sorted(df.youtube_id)
    serve_videos(server, df, tmp_path, {ids[1]: "stall"})
    work = tmp_path / "work"
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["paths"] = {k: str(tmp_path / "out" / k) for k in raw["paths"]}
    raw["data"].update(source="kinetics", classes=["tap dancing"], clips_per_class=4, split_ratios=[0.5, 0.25, 0.25],
                       min_clips_per_class=1)
    raw["download"].update({k: v for k, v in dataclasses.asdict(p.download).items()} | dict(socket_timeout=60))
    raw["kinetics"].update(archive_url=p.kinetics.archive_url)
    work.mkdir()
    (work / "params.yaml").write_text(yaml.safe_dump(raw))
    ann_dir = tmp_path / "out" / "annotations"
    write_annotations(ann_dir, df, classes)
    raw_dir = tmp_path / "out" / "raw"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "stages.download"], cwd=work, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not list(raw_dir.glob(f"{ids[0]}_*.mp4")):
            time.sleep(0.2)
        while time.time() < deadline and server.hits[f"/v/{ids[1]}.mp4"] < 2:
            time.sleep(0.2)  # the second clip is now hanging inside ffmpeg
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert list(raw_dir.glob(f"{ids[0]}_*.mp4")) and not (raw_dir / "manifest.csv").exists()
    journal = [json.loads(line) for line in (raw_dir / ".journal.jsonl").read_text().splitlines()]
    assert [r["status"] for r in journal] == ["ok"]

    server.routes[f"/v/{ids[1]}.mp4"] = Route((tmp_path / f"{ids[1]}.mp4").read_bytes(), "video/mp4")
    before = server.hits[f"/v/{ids[0]}.mp4"]
    res = subprocess.run([sys.executable, "-m", "stages.download"], cwd=work, env=env, capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "1 clip(s) kept from an earlier run" in res.stdout
    assert server.hits[f"/v/{ids[0]}.mp4"] == before
    manifest = pd.read_csv(raw_dir / "manifest.csv")
    assert (manifest.status == "ok").all() and len(manifest) == len(ids)
    assert not (raw_dir / ".journal.jsonl").exists() and not list(raw_dir.glob(".tmp-*"))
    figures = json.loads((tmp_path / "out" / "reports" / "stages" / "download.json").read_text())
    assert figures["availability"]["tap dancing"]["available"] == 1.0


def test_too_few_clips_arrived_stops_naming_the_class(tiny_params, server, tmp_path):
    from src.prepare.download import check_success_ratio
    from src.sources import fetch_annotations
    p = kinetics_params(tiny_params, server, classes=("tap dancing", "salsa dancing"))
    df, classes, _ = fetch_annotations(p)
    df = short_segments(df)
    write_annotations(p.paths.annotations, df, classes)
    serve_videos(server, df, tmp_path, {y: "404" for y in df[df.label == "salsa dancing"].youtube_id})
    manifest, _ = download_all(p)
    with pytest.raises(StageError, match=r"only 50% of clips arrived.*'salsa dancing': 0/4.*unavailable 4"):
        check_success_ratio(manifest, classes, 0.75)
    check_success_ratio(manifest, classes, 0.5)


def test_hostile_ids_in_an_edited_annotation_table_write_nothing_outside(tiny_params, server, tmp_path):
    """A table edited by hand (or a mirror) can hold any id: each bad row is recorded `invalid id` and skipped."""
    from src.sources import fetch_annotations
    p = kinetics_params(tiny_params, server, classes=("tap dancing", "salsa dancing"))
    df, classes, _ = fetch_annotations(p)
    df = short_segments(df)
    serve_videos(server, df, tmp_path, {})
    escape = tmp_path / "escaped"
    hostile = [f"../../../../../../../../{escape}/x", "a/b", "..", ".hidden", "abc"]  # "abc": a file name, not a YouTube id
    df = pd.concat([df, pd.DataFrame([dict(label="tap dancing", youtube_id=y, time_start=2.0, time_end=6.0,
                                           split="train") for y in hostile])], ignore_index=True)
    write_annotations(p.paths.annotations, df, classes)
    before = {q for q in tmp_path.rglob("*")}
    manifest, _ = download_all(p)
    failed = manifest[manifest.status != "ok"]
    assert sorted(failed.clip_id.str.rsplit("_", n=2).str[0]) == sorted(hostile)
    assert set(failed.reason) == {"invalid id"}
    assert (manifest.status == "ok").sum() == len(df) - len(hostile)
    created = {q for q in tmp_path.rglob("*")} - before
    assert created and all(p.paths.raw in q.parents or q == p.paths.raw for q in created), created
    assert not escape.exists() and not (p.paths.raw / "a").exists()
