"""The house rules: no import circles, imports run from higher layers to lower ones, config without torch."""
import subprocess
import sys

from tests.conftest import ROOT
from tests.imports import closure, graph

# lowest first; a module may import its own layer or any lower one, never a higher one
LAYERS = [
    ("helpers", ["src.errors", "src.utils", "src.media", "src.splits", "src.annotations"]),
    ("models", ["src.models"]),
    ("config", ["src.config"]),
    ("sources", ["src.sources"]),
    ("prepare", ["src.prepare"]),
    ("reporting", ["src.reporting"]),
    ("learning", ["src.learning"]),
    ("apps", ["src.predict", "src.serving", "stages", "benchmarks"]),
]


def layer(module: str) -> int:
    for i, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return i
    raise AssertionError(f"{module} belongs to no layer: add it to LAYERS")


def test_no_module_imports_one_that_imports_it_back():
    g = graph()
    cycles = sorted({tuple(sorted((a, b))) for a in g for b in g[a] if a in closure(b, g)})
    assert not cycles, f"import circles: {cycles}"


def test_imports_never_go_up_a_layer():
    g = graph()
    upward = [f"{a} ({LAYERS[layer(a)][0]}) imports {b} ({LAYERS[layer(b)][0]})"
              for a in g if a.startswith("src") for b in g[a] if layer(b) > layer(a)]
    assert not upward, "\n".join(upward)


def test_the_preparation_modules_stay_small():
    """The front-end was one 630-line module holding four jobs; its rooms stay small enough to read."""
    long = {p.name: n for p in sorted((ROOT / "src" / "prepare").glob("*.py"))
            if (n := len(p.read_text().splitlines())) > 300}
    assert not long, f"src/prepare modules over 300 lines: {long}"


def test_loading_params_imports_neither_torch_nor_lightning():
    code = ("import sys; from src.config import load_params; load_params(); "
            "import stages.fetch, stages.trim; "
            "print(sorted(m for m in ('torch', 'lightning', 'mlflow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_the_cycle_detector_sees_a_function_level_import(tmp_path, monkeypatch):
    """A check that cannot fail is no check: a back-import inside a function is found."""
    import tests.imports as imports
    pkg = tmp_path / "src"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from src.b import f\n")
    (pkg / "b.py").write_text("def f():\n    from src import a\n    return a\n")
    monkeypatch.setattr(imports, "ROOT", tmp_path)
    monkeypatch.setattr(imports, "PACKAGES", ("src",))
    g = imports.graph()
    assert g["src.a"] == {"src.b"} and g["src.b"] == {"src.a"}
