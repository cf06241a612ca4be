"""`dvc plots show` (no flag) writes a page that draws its plots with the network off (headless Chromium)."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
TEMPLATE = ROOT / ".dvc/plots/offline.html"


def render(page: Path) -> str:
    """The page's DOM after its scripts ran, in headless Chromium with every host unresolvable (no network)."""
    res = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND",
                          "--proxy-server=127.0.0.1:9", "--virtual-time-budget=10000", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    if CHROMIUM is None:
        pytest.skip("no Chromium here (.ci/run installs Debian's chromium)")
    if not TEMPLATE.exists():
        subprocess.run([sys.executable, "-m", "src.reporting.plots_page"], cwd=ROOT, check=True)
    repo = tmp_path_factory.mktemp("plots")
    run = lambda *cmd: subprocess.run(cmd, cwd=repo, check=True, capture_output=True, text=True)  # noqa: E731
    run("git", "init", "-q")
    run(sys.executable, "-m", "dvc", "init", "-q")
    shutil.copy(ROOT / ".dvc/config", repo / ".dvc/config")  # the project's own setting names the template
    (repo / ".dvc/plots").mkdir()
    shutil.copy(TEMPLATE, repo / ".dvc/plots/offline.html")
    (repo / "acc.csv").write_text("epoch,val_acc\n1,0.2\n2,0.5\n3,0.7\n")
    (repo / "dvc.yaml").write_text("plots:\n  - acc.csv:\n      x: epoch\n      y: val_acc\n")
    run(sys.executable, "-m", "dvc", "plots", "show", "-o", "offline")
    run(sys.executable, "-m", "dvc", "plots", "show", "-o", "cdn", "--html-template", str(_cdn_template(repo)))
    return repo / "offline/index.html", repo / "cdn/index.html"


def _cdn_template(repo: Path) -> Path:
    """DVC's own page (scripts from a CDN), to show the check fails where the scripts are not inlined."""
    from dvc_render.html import PAGE_HTML
    path = repo / "cdn.html"
    path.write_text(PAGE_HTML)
    return path


def test_the_plots_page_renders_offline(pages):
    offline, _ = pages
    html = offline.read_text()
    assert "cdn.jsdelivr.net" not in html and "vega@5.20.2" in html
    dom = render(offline)
    assert "<canvas" in dom or 'class="marks"' in dom, dom[-3000:]


def test_dvc_default_page_stays_blank_offline(pages):
    """The check above can fail: the CDN page draws nothing with the network off."""
    _, cdn = pages
    assert "cdn.jsdelivr.net" in cdn.read_text()
    dom = render(cdn)
    assert "<canvas" not in dom and 'class="marks"' not in dom
