"""A throwaway copy of this repository (git + DVC) with the tiny profile, for end-to-end tests."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import ROOT, load_profile

# what a run produces or caches; never copied into the test repo
SKIP = {".venv", ".git", "data", "models", "metrics", "plots", "reports", "mlruns", ".pytest_cache",
        "lightning_logs", "assets"}


def _source_files() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split("\n")
        files = [Path(f) for f in out if f]
    except (subprocess.CalledProcessError, FileNotFoundError):
        files = [p.relative_to(ROOT) for p in ROOT.rglob("*") if p.is_file()]
    # data/ holds only placeholders git keeps (data/videos/README.md: the folder source's default folder)
    return [f for f in files if (f.parts[0] not in SKIP or (f.parts[0] == "data" and f.name == "README.md"))
            and (ROOT / f).is_file() and f.name != "dvc.lock"]


class DvcRepo:
    def __init__(self, path: Path, profile: dict):
        self.path = path
        for f in _source_files():
            (path / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, path / f)
        (path / "params.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
        self.env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                        GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
                        GIT_COMMITTER_EMAIL="t@t", DVC_NO_ANALYTICS="1")
        self.env.pop("MLFLOW_TRACKING_URI", None)  # the test repo's own local store
        self.git("init", "-q")
        self.git("add", "-A")
        self.git("commit", "-qm", "tiny profile")

    def git(self, *args) -> str:
        return self.run(["git", *args])

    def dvc(self, *args) -> str:
        return self.run([sys.executable, "-m", "dvc", *args])

    def run(self, cmd) -> str:
        res = subprocess.run(cmd, cwd=self.path, env=self.env, capture_output=True, text=True)
        if res.returncode != 0:
            raise AssertionError(f"{' '.join(map(str, cmd))} failed ({res.returncode}):\n"
                                 f"{res.stdout[-4000:]}\n{res.stderr[-4000:]}")
        return res.stdout + res.stderr


def tiny_repo(tmp_path: Path, **overrides) -> DvcRepo:
    from tests.conftest import merge
    return DvcRepo(tmp_path, merge(load_profile("tiny"), overrides))
