"""trim / frames on tiny real videos, including the bad inputs a real data set has."""
import subprocess

import numpy as np
import pytest

from src.annotations import StageError, check_survivors
from src.prepare.frame_store import ClipFrames, extract_all
from src.media import MediaError, ffmpeg_exe, probe
from src.prepare.trim import trim_all, trim_clip
from tests.conftest import CONTAINERS, make_container, make_video, section


def test_trim_cuts_exact_segment_resamples_and_drops_audio(tmp_path):
    src = make_video(tmp_path / "a.mp4", frames=40, size=(48, 32), fps=10, audio=True)
    import av
    with av.open(str(src)) as c:
        assert c.streams.audio  # the input really has audio
    out = tmp_path / "cut.mp4"
    info = trim_clip(src, out, 1.0, 3.0, section("trim", fps=5, short_side=16))
    p = probe(out)
    assert info["frames"] == 10 and p.frames == 10          # 2 s at 5 fps
    assert abs(p.duration - 2.0) < 0.25
    assert (p.width, p.height) == (24, 16)                   # short side 16, aspect kept
    with av.open(str(out)) as c:
        assert not c.streams.audio


@pytest.mark.parametrize("name", CONTAINERS)
def test_trim_reads_every_container_from_the_start_and_from_within(tmp_path, name):
    """Every container and codec ffmpeg reads is cut, from 0 s (the whole video, as predict and the folder
    source ask) and from inside; a rotated phone video comes out upright (portrait)."""
    src = make_container(tmp_path, name)
    cfg = section("trim", fps=8, short_side=32)
    video = probe(src)
    for start, end in ((0.0, video.end), (video.start + 0.5, video.start + 1.5)):
        info = trim_clip(src, tmp_path / "cut.mp4", start, end, cfg)
        expected = end - max(start, video.start)  # the picture of late_video.mp4 starts at 0.8 s
        assert abs(info["duration"] - expected) <= 0.25 and info["frames"] >= 7, (start, info)
        assert (info["width"] < info["height"]) == (name == "rotated.mp4"), info


def _write_bad_inputs(raw):
    make_video(raw / "good.mp4", frames=24, fps=8)
    (raw / "empty.mp4").write_bytes(b"")
    good = (raw / "good.mp4").read_bytes()
    (raw / "corrupt.mp4").write_bytes(good[: len(good) // 3])
    (raw / "garbage.mp4").write_bytes(b"this is not a video" * 50)
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i", "sine=duration=2", "-c:a", "aac",
                    str(raw / "audio_only.m4a")], check=True)
    make_video(raw / "short.mp4", frames=8, fps=8)  # 1 s long


BAD = {"empty.mp4": "zero-byte", "corrupt.mp4": "", "garbage.mp4": "unreadable",
       "audio_only.m4a": "no video stream", "short.mp4": "past the end"}


def test_trim_records_each_bad_clip_with_reason_and_keeps_the_good_one(tmp_path):
    raw, clips = tmp_path / "raw", tmp_path / "clips"
    raw.mkdir()
    _write_bad_inputs(raw)
    rows = [dict(clip_id=p.split(".")[0], label="x", split="train", path=p, time_start=1.5, time_end=2.5)
            for p in ["good.mp4", *BAD]]
    manifest = trim_all(rows, raw, clips, section("trim", fps=8, short_side=16, workers=2))
    by_id = manifest.set_index("clip_id")
    assert by_id.loc["good", "status"] == "ok"
    for name, reason in BAD.items():
        row = by_id.loc[name.split(".")[0]]
        assert row["status"] == "failed" and isinstance(row["reason"], str) and row["reason"], name
        assert reason in row["reason"], (name, row["reason"])
    # failed clips leave nothing behind that could pass as done
    assert sorted(p.name for p in clips.iterdir()) == ["good.mp4", "manifest.csv"]


def test_frames_store_is_compact_and_reads_back(tmp_path):
    clips, store = tmp_path / "clips", tmp_path / "frames"
    clips.mkdir()
    make_video(clips / "a.mp4", frames=24, size=(64, 48), fps=8)
    (clips / "b.mp4").write_bytes(b"\x00" * 100)
    rows = [dict(clip_id=c, label="x", split="train", path=f"{c}.mp4") for c in ("a", "b")]
    manifest = extract_all(rows, clips, store, section("frames", short_side=32, max_frames=12, workers=1))
    ok = manifest[manifest.status == "ok"].iloc[0]
    assert ok.clip_id == "a" and ok.num_frames == 12 and (ok.height, ok.width) == (32, 42)
    assert manifest[manifest.clip_id == "b"].status.item() == "failed"
    clip = ClipFrames(store / "a.mp4")
    arr = clip.frames([0, 5, 11])
    assert arr.shape == (3, 32, 42, 3) and arr.dtype == np.uint8 and len(clip) == 12
    assert list(manifest.columns[:3]) == ["clip_id", "label", "split"]


def test_corrupt_store_file_raises_media_error(tmp_path):
    (tmp_path / "x.mp4").write_bytes(b"nope")
    with pytest.raises(MediaError):
        ClipFrames(tmp_path / "x.mp4")


def test_too_few_survivors_names_the_class():
    import pandas as pd
    ok = pd.DataFrame({"label": ["a", "a", "b"]})
    failed = pd.DataFrame({"label": ["b"], "reason": ["zero-byte file"]})
    with pytest.raises(StageError, match=r"'b': 1.*zero-byte file"):
        check_survivors("trim", ok, ["a", "b"], 2, failed)
    check_survivors("trim", ok, ["a", "b"], 1, failed)


def test_atomic_write_leaves_nothing_when_interrupted(tmp_path):
    from src.utils import atomic_path
    target = tmp_path / "out.bin"
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise KeyboardInterrupt
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_h264_encoding_is_repeatable_within_a_process(tmp_path):
    """The frame store must not depend on what the process encoded before (predict relies on it)."""
    from src.media import encode_h264
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (32, 48, 3), dtype=np.uint8) for _ in range(6)]
    sizes = [encode_h264(tmp_path / f"{i}.mp4", frames, 5.33, 23) for i in range(3)]
    blobs = [(tmp_path / f"{i}.mp4").read_bytes() for i in range(3)]
    assert sizes[0] > 0 and blobs[0] == blobs[1] == blobs[2]
