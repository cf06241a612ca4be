"""`compute.executor: ray`: the per-clip stages on a Ray cluster this test starts on 127.0.0.1 with 2 CPUs
give byte-identical files and manifests to the local pool, and a killed worker loses nothing."""
import dataclasses
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from src.annotations import read_ok
from src.config import ParamError
from src.prepare import frame_store, pose, trim

RAY = str(Path(sys.executable).parent / "ray")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    port = free_port()
    # a throwaway cluster on 127.0.0.1: no token authentication between this test and its own cluster
    os.environ["RAY_AUTH_MODE"] = "disabled"
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    subprocess.run([RAY, "start", "--head", "--num-cpus", "2", "--node-ip-address", "127.0.0.1", "--port", str(port),
                    "--include-dashboard", "false", "--disable-usage-stats"], check=True, env=env,
                   capture_output=True)
    yield f"127.0.0.1:{port}"
    import ray
    ray.shutdown()
    subprocess.run([RAY, "stop", "--force"], env=env, capture_output=True)


def on(params, executor: str, address=None):
    return dataclasses.replace(params.compute, executor=executor, address=address)


def tree(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_every_per_clip_stage_gives_byte_identical_outputs(tiny_data, cluster, tmp_path):
    p = tiny_data
    rows = read_ok(p.paths.raw).to_dict("records")
    out = {}
    for name, compute in (("local", on(p, "local")), ("ray", on(p, "ray", cluster))):
        root = tmp_path / name
        clips = trim.trim_all(rows, p.paths.raw, root / "clips", p.trim, compute)
        frames = frame_store.extract_all(clips[clips.status == "ok"].to_dict("records"), root / "clips",
                                         root / "frames", p.frames, compute)
        pose.extract_all(frames[frames.status == "ok"].to_dict("records"), root / "frames", root / "pose", p.pose,
                         compute)
        out[name] = {d: tree(root / d) for d in ("clips", "frames", "pose")}
    for d in ("clips", "frames", "pose"):
        assert out["ray"][d].keys() == out["local"][d].keys(), d
        for f in out["local"][d]:
            assert out["ray"][d][f] == out["local"][d][f], f"{d}/{f} differs"
    assert len(out["ray"]["pose"]) == len(rows) + 1  # every clip's keypoints plus the manifest


def test_a_worker_killed_mid_task_loses_nothing(tiny_data, cluster, tmp_path):
    import functools

    from src.prepare.runner import run_clips
    from tests.ray_helpers import dies_once  # importable by Ray's workers (pytest imports test files by base name)
    fn = functools.partial(dies_once, marker_dir=str(tmp_path), out_dir=str(tmp_path / "out"))
    rows = [dict(clip_id=f"c{i}") for i in range(4)]
    manifest = run_clips(fn, rows, tmp_path / "out", 2, "test", compute=on(tiny_data, "ray", cluster))
    assert (manifest.status == "ok").all() and (tmp_path / "c0.seen").exists()  # it died once, then was retried
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == ["c0.bin", "c1.bin", "c2.bin", "c3.bin", "manifest.csv"]  # no half-written leftovers
    assert all((tmp_path / "out" / f).read_bytes() == b"whole" for f in files[:4])


def test_an_unreachable_address_fails_fast_naming_it(tiny_data):
    from src.prepare.ray_executor import connect
    import ray
    ray.shutdown()
    t0 = time.perf_counter()
    with pytest.raises(ParamError, match=r"compute.address: cannot reach a Ray cluster at '127.0.0.1:9'"):
        connect(on(tiny_data, "ray", "127.0.0.1:9"))
    assert time.perf_counter() - t0 < 10


def test_unknown_executor_names_the_allowed_values():
    from src.config import SECTIONS
    with pytest.raises(ParamError, match=r"compute.executor: got 'dask'; allowed values: local, ray"):
        SECTIONS["compute"](executor="dask", address=None, cpus_per_task=1, max_retries=2)


def test_ray_missing_says_what_to_install(tiny_data, monkeypatch):
    import builtins
    real = builtins.__import__

    def no_ray(name, *a, **kw):
        if name == "ray":
            raise ImportError("No module named 'ray'")
        return real(name, *a, **kw)
    monkeypatch.setattr(builtins, "__import__", no_ray)
    from src.prepare.ray_executor import connect
    with pytest.raises(ParamError, match=r"needs Ray: pip install 'ray==2.60.0'"):
        connect(on(tiny_data, "ray", None))
