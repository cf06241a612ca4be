"""dvc.yaml lists, for every stage, each module of this repository its command imports (at module level or
inside functions, directly or through other modules), so editing code reruns exactly the stages it feeds."""
import re

import yaml

from tests.conftest import ROOT
from tests.imports import all_modules, closure, graph, is_docstring_only


def stage_deps() -> dict[str, tuple[str, list[str]]]:
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    return {name: (s["cmd"], [d for d in s.get("deps", []) if isinstance(d, str)]) for name, s in stages.items()}


def missing_deps(cmd: str, deps: list[str], g: dict) -> list[str]:
    m = re.search(r"python -m ([\w.]+)", cmd)
    assert m, f"cannot read the module of {cmd!r}"
    modules = all_modules()
    files = [modules[mod].relative_to(ROOT).as_posix() for mod in closure(m.group(1), g)
             if not is_docstring_only(modules[mod])]
    covered = [d.rstrip("/") for d in deps]
    return sorted(f for f in files if not any(f == d or f.startswith(d + "/") for d in covered))


def test_every_stage_lists_the_code_it_runs():
    g = graph(parents=True)
    problems = {name: missing for name, (cmd, deps) in stage_deps().items() if (missing := missing_deps(cmd, deps, g))}
    assert not problems, "dvc.yaml deps missing:\n" + "\n".join(f"  {s}: {', '.join(m)}" for s, m in problems.items())


def test_the_check_notices_a_missing_module():
    g = graph(parents=True)
    cmd, deps = stage_deps()["fetch"]
    assert missing_deps(cmd, [d for d in deps if d != "src/config.py"], g) == ["src/config.py"]
