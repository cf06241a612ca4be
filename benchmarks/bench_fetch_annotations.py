"""The fetch stage on a Kinetics-size annotation table: --rows rows (a million by default) in the CVDF mirror's
per-split CSVs, with --bad malformed rows among them (ids that would escape the folder, bad times, a control
character in a label), served from a loopback HTTP server; prints the seconds from download to the chosen
clips and the malformed rows counted by reason. Target (issue: hostile inputs): a million rows in <= 30 s.

    python -m benchmarks.bench_fetch_annotations [--rows 1000000] [--bad 12]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import random
import tempfile
import time
from pathlib import Path

from src.config import load_params
from src.sources import fetch_annotations
from tests.loopback import LoopbackServer, Route

CLASSES = [f"class {i:03d}" for i in range(700)] + ["tap dancing", "salsa dancing", "swing dancing"]
BAD = ['"tap dancing",../../../../tmp/x,0,10,{split}\n', '"tap dancing",a/b/c,0,10,{split}\n',
       '"tap dancing",Kin-bad0001,ten,20,{split}\n', '"tap dancing",Kin-bad0002,20,10,{split}\n',
       '"tap\x1b[31m dancing",Kin-bad0003,0,10,{split}\n', ',Kin-bad0004,0,10,{split}\n']


def table(rows: int, bad: int, split: str, seed: int) -> bytes:
    rng = random.Random(seed)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    lines = ["label,youtube_id,time_start,time_end,split\n"]
    for _ in range(rows):
        start = rng.randrange(0, 300)
        lines.append(f'"{rng.choice(CLASSES)}",{"".join(rng.choices(alphabet, k=11))},{start},{start + 10},{split}\n')
    for i in range(bad):
        lines.insert(rng.randrange(1, len(lines)), BAD[i % len(BAD)].format(split=split))
    return "".join(lines).encode()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--bad", type=int, default=12)
    args = ap.parse_args()
    params = load_params()
    n_val = args.rows // 20
    with LoopbackServer() as srv, tempfile.TemporaryDirectory() as tmp:
        srv.routes["/train.csv"] = Route(table(args.rows - n_val, args.bad, "train", 0), "text/csv")
        srv.routes["/val.csv"] = Route(table(n_val, 0, "validate", 1), "text/csv")
        p = dataclasses.replace(
            params, data=dataclasses.replace(params.data, source="kinetics", classes=()),
            kinetics=dataclasses.replace(params.kinetics, annotations="csv", csv_url=srv.url("/{split}.csv")),
            paths=dataclasses.replace(params.paths, cache=Path(tmp) / "cache"))
        t0 = time.perf_counter()
        df, classes, notes = fetch_annotations(p)
        seconds = time.perf_counter() - t0
    print(json.dumps(dict(rows=notes["annotation_rows"], malformed=notes["malformed_rows"], classes=len(classes),
                          clips_chosen=len(df), seconds=round(seconds, 1))))


if __name__ == "__main__":
    main()
