"""The repository's own import graph, read from the source (module-level and function-level imports)."""
from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGES = ("src", "stages", "benchmarks")


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def module_file(name: str) -> Path | None:
    base = ROOT.joinpath(*name.split("."))
    for p in (base.with_suffix(".py"), base / "__init__.py"):
        if p.exists():
            return p
    return None


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def is_docstring_only(path: Path) -> bool:
    """A package marker with nothing but a docstring cannot change what a stage computes."""
    body = ast.parse(path.read_text()).body
    return all(isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) for n in body)


def imports_of(path: Path, parents: bool = False) -> set[str]:
    """Every repository module `path` imports, anywhere in the file (`from a import b` counts b when it is a
    module, else a). parents: also the packages Python runs on the way (importing a.b.c runs a/__init__.py
    and a/b/__init__.py), which is what a stage really executes."""
    me = module_name(path)
    is_pkg = path.name == "__init__.py"
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = me.split(".") if is_pkg else me.split(".")[:-1]
                pkg = pkg[:len(pkg) - node.level + 1]
                base = ".".join(pkg + ([base] if base else []))
            names = [f"{base}.{a.name}" if module_file(f"{base}.{a.name}") else base for a in node.names]
        else:
            continue
        for n in names:
            if n.split(".")[0] in PACKAGES and module_file(n):
                out.add(n)
                parts = n.split(".")
                out.update(".".join(parts[:i]) for i in range(1, len(parts)) if parents
                           and module_file(".".join(parts[:i])))
    out.discard(me)
    return out


def graph(parents: bool = False) -> dict[str, set[str]]:
    return {name: imports_of(path, parents) for name, path in all_modules().items()}


def closure(start: str, g: dict[str, set[str]]) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        todo += sorted(g.get(m, ()))
    return seen
