"""yt-dlp segment downloads: one clip's annotated segment of an online video, cut exactly.

Used by the Kinetics source (and by any source whose clips live on YouTube or
another site yt-dlp reads). Each failure gets a category (unavailable, private,
bot check, rate limit, timeout, ...) and a transient flag, so the download stage
retries only what may succeed later; a stalled connection is abandoned after
`download.socket_timeout` seconds.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
from pathlib import Path

import psutil

from src.config import Download
from src.media import MediaError, ffmpeg_on_path, probe

# (category, transient, phrases found in yt-dlp / ffmpeg messages); first match wins
FAILURES = [
    ("bot_check", False, ("not a bot", "confirm you’re not", "confirm you're not")),
    ("age_restricted", False, ("age-restricted", "confirm your age", "inappropriate for some users",
                               "age restricted")),
    ("private", False, ("private video", "video is private")),
    ("removed", False, ("removed by the uploader", "has been removed", "account associated with this video has "
                        "been terminated", "copyright", "violating youtube", "no longer available because")),
    ("geo_blocked", False, ("not available in your country", "geo restrict", "geo-restrict",
                            "blocked it in your country", "not made this video available in your country")),
    ("rate_limited", True, ("http error 429", "too many requests", "rate-limit", "rate limit")),
    ("timeout", True, ("timed out", "timeout", "read operation timed out", "connection timed out")),
    ("unavailable", False, ("video unavailable", "this video is unavailable", "http error 404", "not found",
                            "http error 410", "does not exist", "is not a valid url", "unsupported url")),
]
TRANSIENT_HINTS = ("http error 5", "connection reset", "incomplete", "truncated", "broken pipe",
                   "connection refused", "end of file", "invalid data found", "moov atom not found",
                   "temporary failure", "remote end closed")


def classify_failure(message: str) -> tuple[str, bool]:
    """(category, transient) of one failed download from its error text."""
    text = message.lower()
    for category, transient, phrases in FAILURES:
        if any(p in text for p in phrases):
            return category, transient
    return "other", any(h in text for h in TRANSIENT_HINTS)


class DownloadFailure(RuntimeError):
    def __init__(self, message: str, category: str, transient: bool):
        super().__init__(message)
        self.category, self.transient = category, transient


def ydl_options(d: Download, workdir: Path, start: float, end: float) -> dict:
    from yt_dlp.utils import download_range_func
    h = d.max_height
    opts = dict(
        outtmpl=str(workdir / "video.%(ext)s"), paths={"home": str(workdir), "temp": str(workdir)},
        format=f"bv*[height<=?{h}][ext=mp4]/bv*[height<=?{h}]/b[height<=?{h}]/wv*/w",  # video only: trim drops audio
        download_ranges=download_range_func(None, [(start, end)]), force_keyframes_at_cuts=True,
        ffmpeg_location=ffmpeg_on_path(), socket_timeout=d.socket_timeout, retries=0, fragment_retries=0,
        extractor_retries=0, noprogress=True, quiet=True, no_warnings=True, noplaylist=True,
        overwrites=True, continuedl=False, logger=_Log(),
        sleep_interval=d.sleep_interval or None, max_sleep_interval=d.max_sleep_interval or None,
        sleep_interval_requests=d.sleep_requests or None,
        # ffmpeg fetches the section itself; our own retries (with backoff) replace its reconnects,
        # and StallWatch its timeouts
        external_downloader_args={"ffmpeg_i": ["-reconnect", "0", "-rw_timeout", str(int(d.socket_timeout * 1e6))]},
    )
    if d.max_sleep_interval < d.sleep_interval:
        opts["max_sleep_interval"] = d.sleep_interval or None
    if d.cookies:
        opts["cookiefile"] = d.cookies
    if d.proxy:
        opts["proxy"] = d.proxy
    return opts


class _Log:
    """Collects yt-dlp's messages so a failure's reason is its own words."""

    def __init__(self):
        self.lines: list[str] = []

    def debug(self, msg):
        pass

    info = debug

    def warning(self, msg):
        self.lines.append(msg)

    def error(self, msg):
        self.lines.append(msg)


class StallWatch:
    """Kills this process's ffmpeg children once neither their reads nor the output have moved for
    `timeout` seconds: ffmpeg's own HTTP timeouts did not fire on a stalled body in our tests, and a
    10 000-clip run must not hang on one dead connection."""

    def __init__(self, workdir: Path, timeout: float):
        self.workdir, self.timeout, self.stalled = workdir, timeout, False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()

    def _mark(self, kids) -> tuple:
        read = 0
        for k in kids:
            with contextlib.suppress(psutil.Error, AttributeError):
                read += k.io_counters().read_chars
        return read, sum(f.stat().st_size for f in self.workdir.glob("*") if f.is_file())

    def _run(self):
        me, last, since = psutil.Process(), None, time.monotonic()
        while not self._done.wait(0.25):
            try:
                kids = [k for k in me.children(recursive=True) if "ffmpeg" in k.name()]
            except psutil.Error:
                continue
            mark = self._mark(kids) if kids else None
            if mark != last or not kids:
                last, since = mark, time.monotonic()
            elif time.monotonic() - since > self.timeout:
                self.stalled = True
                for k in kids:
                    with contextlib.suppress(psutil.Error):
                        k.kill()


def fetch_segment(url: str, dest: Path, start: float, end: float, cfg: Download) -> None:
    """One attempt: yt-dlp cuts [start, end) of `url` into dest (re-encoded at the cuts, so it is exact)."""
    import yt_dlp
    workdir = dest.with_name(dest.name + ".d")
    workdir.mkdir(parents=True, exist_ok=True)
    report = workdir / "ffmpeg.log"
    os.environ["FFREPORT"] = f"file={report}:level=16"  # ffmpeg's own error lines (yt-dlp runs it quiet)
    try:
        opts = ydl_options(cfg, workdir, start, end)
        watch = StallWatch(workdir, cfg.socket_timeout)
        try:
            with watch, yt_dlp.YoutubeDL(opts) as ydl:
                info = ydl.extract_info(url, download=True)
        except Exception as exc:  # yt-dlp raises DownloadError, ExtractorError, plain OSError ...
            if watch.stalled:
                raise DownloadFailure(f"timed out: no data for {cfg.socket_timeout:g} s "
                                      f"(download.socket_timeout)", "timeout", True) from exc
            detail = report.read_text(errors="replace").strip().splitlines()[-2:] if report.exists() else []
            message = " | ".join([str(exc).replace("ERROR: ", "").strip()] + detail)
            raise DownloadFailure(message[:400], *classify_failure(message)) from exc
        files = [Path(r["filepath"]) for r in (info or {}).get("requested_downloads", []) if r.get("filepath")]
        if not files or not files[0].exists():
            raise DownloadFailure("yt-dlp reported success but wrote no file", "other", True)
        try:
            got = probe(files[0]).duration
        except MediaError as exc:
            raise DownloadFailure(f"incomplete download: {exc}", "other", True) from exc
        want = end - start
        if got < 0.8 * want - 0.5:  # a stream cut short by the network still probes fine
            raise DownloadFailure(f"truncated: got {got:.1f} s of the {want:.1f} s segment", "other", True)
        os.replace(files[0], dest)
    finally:
        os.environ.pop("FFREPORT", None)
        shutil.rmtree(workdir, ignore_errors=True)


def download_segment(url: str, dest: Path, start: float, end: float, cfg: Download) -> int:
    """Fetch [start, end) of `url` into dest, retrying transient failures with exponential backoff;
    returns the number of attempts made."""
    for attempt in range(cfg.retries + 1):
        try:
            fetch_segment(url, dest, start, end, cfg)
            return attempt + 1
        except DownloadFailure as exc:
            if not exc.transient or attempt == cfg.retries:
                exc.attempts = attempt + 1
                raise
            time.sleep(cfg.backoff_seconds * 2 ** attempt)
    raise AssertionError("unreachable")
