"""A full disk and a read-only folder, made real: a small tmpfs mounted in a user namespace (`unshare`), the stages
run as `python -m stages.<name>` on it. Each ends with one line and no traceback; after space is freed, the rerun
gives the bytes of a clean run."""
from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, load_profile


def _can_mount() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                            "mount -t tmpfs -o size=64k tmpfs /mnt 2>/dev/null || mount -t tmpfs -o size=64k tmpfs /tmp"],
                           capture_output=True)
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(not _can_mount(), reason="needs unshare with user and mount namespaces (a tmpfs)")


def project(root: Path, out: Path) -> Path:
    """A working folder whose params.yaml (the tiny profile) puts every output under `out`."""
    raw = load_profile("tiny")
    raw["paths"] = {k: str(out / k) for k in raw["paths"]}
    root.mkdir(parents=True, exist_ok=True)
    (root / "params.yaml").write_text(yaml.safe_dump(raw))
    return root


def stage(name: str) -> str:
    return f"{sys.executable} -m stages.{name}"


def outputs(out: Path) -> list[str]:
    """The files the data stages produce (not the per-run reports: how many clips were reused differs)."""
    return sorted(str(p.relative_to(out)) for d in ("annotations", "raw", "clips") if (out / d).exists()
                  for p in (out / d).rglob("*") if p.is_file())


def error_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr[-3000:]
    lines = [line for line in stderr.replace("\r", "\n").splitlines() if line.startswith("error:")]
    assert len(lines) == 1, stderr[-3000:]
    return lines[0]


def test_full_disk_and_read_only_folder_end_with_one_line_and_the_rerun_is_byte_identical(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    clean_out = tmp_path / "clean"
    clean = project(tmp_path / "clean_work", clean_out)
    for name in ("fetch", "download", "trim"):
        subprocess.run(stage(name), shell=True, cwd=clean, env=env, check=True, capture_output=True)
    raw_bytes = sum((clean_out / "raw" / f).stat().st_size for f in os.listdir(clean_out / "raw"))

    out, logs = tmp_path / "small", tmp_path / "logs"
    out.mkdir()
    logs.mkdir()
    work = project(tmp_path / "work", out)
    # the disk holds the annotations and about half of the raw videos; then it grows ("space was freed"); then the
    # clips' folder cannot be written at all, then it can
    script = f"""
        set -u
        mount -t tmpfs -o size={raw_bytes // 2 + 64 * 1024} tmpfs {out}
        {stage('fetch')} >/dev/null 2>&1 || exit 10
        {stage('download')} >{logs}/full.out 2>{logs}/full.err; echo $? >{logs}/full.rc
        mount -o remount,size=64m {out}
        {stage('download')} >{logs}/rerun.out 2>{logs}/rerun.err || exit 11
        mkdir {out}/clips && mount -t tmpfs -o ro tmpfs {out}/clips
        {stage('trim')} >{logs}/ro.out 2>{logs}/ro.err; echo $? >{logs}/ro.rc
        umount {out}/clips
        {stage('trim')} >/dev/null 2>{logs}/trim.err || exit 12
        cp -r {out} {tmp_path}/copy
    """
    res = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script], cwd=work, env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, (res.returncode, res.stderr[-2000:],
                                 *(p.read_text()[-2000:] for p in sorted(logs.glob("*.err"))))
    full = error_line((logs / "full.err").read_text())
    assert int((logs / "full.rc").read_text()) == 2
    assert "no space left on the device holding" in full and str(out / "raw") in full and "rerun" in full
    read_only = error_line((logs / "ro.err").read_text())
    assert int((logs / "ro.rc").read_text()) == 2
    assert f"cannot write {out / 'clips'}" in read_only and "read-only file system" in read_only
    assert "kept from an earlier run" in (logs / "rerun.out").read_text()  # what landed before the disk filled

    copy = tmp_path / "copy"
    assert outputs(copy) == outputs(clean_out) and len(outputs(clean_out)) > 10
    match, mismatch, errors = filecmp.cmpfiles(clean_out, copy, outputs(clean_out), shallow=False)
    assert not mismatch and not errors, (mismatch, errors)
