"""How DVC's bookkeeping scales with the number of files in one output (the one-file-per-clip layout).

In a throwaway git + DVC repository, writes N small files into one folder, then times `dvc add`
(hashing and caching), `dvc status` with nothing changed, `dvc status` after one file changed, and
`dvc push` to a local remote, for each N. The figures feed the Kinetics-700 plan in docs/scale.md.

    python -m benchmarks.bench_dvc_files --counts 10000 100000 300000 [--bytes 4096]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(cmd: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True,
                   env=dict(os.environ, DVC_NO_ANALYTICS="1", GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@b",
                            GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@b"))
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--counts", type=int, nargs="+", default=[10_000, 100_000, 300_000])
    ap.add_argument("--bytes", type=int, default=4096, help="size of each file")
    args = ap.parse_args()
    dvc = [sys.executable, "-m", "dvc"]
    print(f"{'files':>8} {'dvc add s':>10} {'status s':>9} {'status (1 changed) s':>21} {'push s':>8}")
    for n in args.counts:
        with tempfile.TemporaryDirectory() as tmp:
            repo, remote = Path(tmp) / "repo", Path(tmp) / "remote"
            store = repo / "store"
            store.mkdir(parents=True)
            timed(["git", "init", "-q"], repo)
            timed(dvc + ["init", "-q"], repo)
            timed(dvc + ["remote", "add", "-d", "local", str(remote)], repo)
            for i in range(n):  # distinct contents, so each file is its own cache object
                (store / f"{i:07d}.bin").write_bytes(i.to_bytes(8, "little") * (args.bytes // 8))
            add = timed(dvc + ["add", "store"], repo)
            status = timed(dvc + ["status"], repo)
            (store / "0000000.bin").write_bytes(b"changed")
            changed = timed(dvc + ["status"], repo)
            timed(dvc + ["add", "store"], repo)
            push = timed(dvc + ["push", "-q"], repo)
            print(f"{n:8d} {add:10.1f} {status:9.1f} {changed:21.1f} {push:8.1f}", flush=True)


if __name__ == "__main__":
    main()
