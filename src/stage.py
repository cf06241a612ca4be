"""Glue every per-clip stage ends with: summary line, metrics JSON, survivor check."""
from __future__ import annotations

import pandas as pd

from src.annotations import check_survivors, read_classes
from src.config import Params
from src.utils import StageReport


def finish_clip_stage(report: StageReport, params: Params, manifest: pd.DataFrame, extra_check=None,
                      **extra) -> dict:
    """Report ok/failed/bytes (failure reasons counted), then fail if a class fell short."""
    ok = manifest[manifest["status"] == "ok"]
    failed = manifest[manifest["status"] != "ok"]
    reasons = {str(k): int(v) for k, v in failed["reason"].value_counts().items()} if len(failed) else {}
    figures = report.finish(ok=len(ok), failed=len(failed), bytes_written=int(ok["bytes"].sum()),
                            failure_reasons=reasons, **extra)
    for _, row in failed.iterrows():
        print(f"[{report.stage}] skipped {row['clip_id']}: {row['reason']}")
    if extra_check:
        extra_check()
    check_survivors(report.stage, ok, read_classes(params.paths.annotations), params.data.min_clips_per_class,
                    failed)
    return figures
