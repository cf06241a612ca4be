"""dvc.yaml lists, for every stage, each module of this repository its command imports (at module level or
inside functions, directly or through other modules), and no other, so editing code reruns exactly the stages
it feeds: a folder is listed only where the stage imports every module in it."""
import re

import yaml

from tests.conftest import ROOT
from tests.imports import all_modules, closure, graph, is_docstring_only


def stage_deps() -> dict[str, tuple[str, list[str]]]:
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    return {name: (s["cmd"], [d for d in s.get("deps", []) if isinstance(d, str)]) for name, s in stages.items()}


# a stage that logs a model "from code" runs that file's code too, later, wherever MLflow loads the model: the
# compare stage registers src/serving.py as the served champion, so an edit to what it runs registers it anew
LOGS_MODEL_FROM = {"stages.compare": ("src.serving",)}


def imported_files(cmd: str, g: dict) -> set[str]:
    m = re.search(r"python -m ([\w.]+)", cmd)
    assert m, f"cannot read the module of {cmd!r}"
    modules = all_modules()
    runs = set().union(*(closure(mod, g) for mod in (m.group(1), *LOGS_MODEL_FROM.get(m.group(1), ()))))
    return {modules[mod].relative_to(ROOT).as_posix() for mod in runs if not is_docstring_only(modules[mod])}


def missing_deps(cmd: str, deps: list[str], g: dict) -> list[str]:
    covered = [d.rstrip("/") for d in deps]
    return sorted(f for f in imported_files(cmd, g) if not any(f == d or f.startswith(d + "/") for d in covered))


def extra_deps(cmd: str, deps: list[str], g: dict) -> list[str]:
    """Code paths listed that the stage does not run: a file it does not import, a folder holding one."""
    files = imported_files(cmd, g)
    code = [d.rstrip("/") for d in deps if d.startswith(("src/", "stages/", "benchmarks/"))]
    return sorted(d for d in code if (ROOT / d).is_file() and d not in files or (ROOT / d).is_dir() and any(
        p.relative_to(ROOT).as_posix() not in files for p in (ROOT / d).rglob("*.py") if not is_docstring_only(p)))


def test_every_stage_lists_the_code_it_runs():
    g = graph(parents=True)
    problems = {name: missing for name, (cmd, deps) in stage_deps().items() if (missing := missing_deps(cmd, deps, g))}
    assert not problems, "dvc.yaml deps missing:\n" + "\n".join(f"  {s}: {', '.join(m)}" for s, m in problems.items())


def test_every_stage_lists_only_the_code_it_runs():
    """A module listed but not imported reruns the stage for nothing (a folder listed whole: every edit in it)."""
    g = graph(parents=True)
    problems = {name: extra for name, (cmd, deps) in stage_deps().items() if (extra := extra_deps(cmd, deps, g))}
    assert not problems, "dvc.yaml deps the stage does not import:\n" + "\n".join(
        f"  {s}: {', '.join(m)}" for s, m in problems.items())


def test_the_check_notices_a_missing_module():
    g = graph(parents=True)
    cmd, deps = stage_deps()["fetch"]
    assert missing_deps(cmd, [d for d in deps if d != "src/config.py"], g) == ["src/config.py"]


def test_the_check_notices_a_module_the_stage_does_not_import():
    g = graph(parents=True)
    cmd, deps = stage_deps()["fetch"]
    assert extra_deps(cmd, deps, g) == []
    assert extra_deps(cmd, deps + ["src/sources/truth.py", "src/sources", "src/prepare/pose.py"], g) == \
        ["src/prepare/pose.py", "src/sources", "src/sources/truth.py"]
