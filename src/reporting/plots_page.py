"""The HTML template `dvc plots show` renders into, with vega, vega-lite and vega-embed inlined, so the plots
page draws without network (DVC's own page loads the three from a CDN: blank plots offline).

The scripts are the very versions DVC's page asks for, taken from their npm packages (pinned by version and by
the registry's sha512 integrity, checked here), fetched once by `make setup` into a gitignored cache; the
template is written to .dvc/plots/offline.html, which .dvc/config names as `plots.html_template`, so a bare
`dvc plots show` uses it. Written here because neither DVC nor dvc-render ships the scripts.

    python -m src.reporting.plots_page            # fetch (if missing) and write the template
"""
from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import urllib.request
from pathlib import Path

from src.utils import atomic_path

REGISTRY = "https://registry.npmjs.org"
# name -> (version DVC's page loads (dvc_render.vega.VegaRenderer.SCRIPTS), registry sha512, file in the package)
PACKAGES = {
    "vega": ("5.20.2", "qmH7aD9GGPpssVdxL1xgcdxTbQzyRUeRR16Os385ymvQhiwCYQNA6+eXUPAZDTVLfk0RXu6Jzj6kUE5jQ80EVw==",
             "build/vega.min.js"),
    "vega-lite": ("5.2.0", "Yxcg8MvYfxHcG6BbkaKT0oVCIMIcE19UvqIsEwBmyd/7h2nzW7oRnID81T8UrY7hpDrIr6wa2JADOT2dhGNErw==",
                  "build/vega-lite.min.js"),
    "vega-embed": ("6.18.2", "wcDyQPE4J5aiCDc3/suH5RQDvrKkjuLkhzUcbOLwEkNF8/+pp17tS0JghzEvAPNRg+5aG1/N2ydixq8Lk3dOlg==",
                   "build/vega-embed.min.js"),
}
CACHE = Path(".dvc/plots/npm")
TEMPLATE = Path(".dvc/plots/offline.html")

PAGE = """<!DOCTYPE html>
<html>
<head>
    {refresh_tag}
    <meta charset="utf-8">
    <title>DVC Plot</title>
    <!-- vega, vega-lite and vega-embed inlined from their npm packages (src/reporting/plots_page.py) -->
    SCRIPTS
    <style>
        table {
            border-spacing: 15px;
        }
    </style>
</head>
<body>
    {plot_divs}
</body>
</html>
"""


class FetchError(RuntimeError):
    """A package could not be fetched, or its bytes are not the pinned ones."""


def fetch(name: str, cache: Path = CACHE, registry: str = REGISTRY) -> bytes:
    """The package's tarball, from the cache or the registry, checked against its pinned sha512."""
    version, integrity, _ = PACKAGES[name]
    path = cache / f"{name}-{version}.tgz"
    if path.exists():
        blob = path.read_bytes()
    else:
        url = f"{registry}/{name}/-/{name}-{version}.tgz"
        try:
            with urllib.request.urlopen(url, timeout=60) as r:
                blob = r.read()
        except OSError as exc:
            raise FetchError(f"could not fetch {url}: {exc}") from exc
    got = base64.b64encode(hashlib.sha512(blob).digest()).decode()
    if got != integrity:
        path.unlink(missing_ok=True)
        raise FetchError(f"{name}@{version}: sha512 {got} is not the pinned {integrity}")
    if not path.exists():
        with atomic_path(path) as tmp:
            tmp.write_bytes(blob)
    return blob


def script(name: str, blob: bytes) -> str:
    """The package's minified build as an inline <script> element."""
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        js = tar.extractfile(f"package/{PACKAGES[name][2]}").read().decode().replace("</script", "<\\/script")
    return f"<script>/* {name}@{PACKAGES[name][0]} */\n{js}\n</script>"


def build(template: Path = TEMPLATE, cache: Path = CACHE) -> Path:
    """Write the offline template (the three scripts inlined; no {scripts} placeholder, so DVC's CDN tags are
    dropped)."""
    scripts = "\n".join(script(n, fetch(n, cache)) for n in PACKAGES)
    with atomic_path(template) as tmp:
        tmp.write_text(PAGE.replace("SCRIPTS", scripts))
    return template


if __name__ == "__main__":
    out = build()
    print(f"[plots page] {out}: vega, vega-lite and vega-embed inlined ({out.stat().st_size / 1e6:.1f} MB)")
