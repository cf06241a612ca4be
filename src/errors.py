"""The errors a user fixes (a parameter, an input file, a checkpoint, a full disk, a read-only folder), and the
command-line wrapper that prints them as one line with exit status 2 instead of a traceback."""
from __future__ import annotations

import errno
import os
import sys

# the machine's errors no clip or row causes: they end the stage (a per-clip handler re-raises them, so a full disk
# is never recorded as 10 000 failed clips), and a rerun once they are fixed resumes
FULL = (errno.ENOSPC, errno.EDQUOT)
READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


class UserError(Exception):
    """A problem with what the user gave (params, inputs, weights): the message says what to change."""


def machine_error(exc: BaseException) -> bool:
    """A full disk or a read-only file system, from Python, PyAV or a library that only keeps the message
    (safetensors, torch.save, ffmpeg's stderr)."""
    if isinstance(exc, OSError) and exc.errno in FULL + (errno.EROFS,):
        return True
    text = str(exc)
    return any(os.strerror(code) in text for code in FULL + (errno.EROFS,))


def machine_message(exc: BaseException) -> str | None:
    """One line naming the path and the fix, for a full disk, a read-only folder or a denied write; else None."""
    code = exc.errno if isinstance(exc, OSError) else next(
        (c for c in FULL + READ_ONLY if os.strerror(c) in str(exc)), None)
    if code not in FULL + READ_ONLY:
        return None
    path = getattr(exc, "filename", None)
    if path and os.path.basename(str(path)).startswith(".tmp-"):  # an atomic write's temporary file: its folder
        path = os.path.dirname(str(path))
    what = f"{path}" if path else f"a file ({' '.join(str(exc).split())[:300]})"
    if code in FULL:
        return (f"no space left on the device holding {what}: free space there (or point the paths in params.yaml "
                f"at a larger disk) and rerun; what finished is kept, and the rerun gives the same outputs")
    return (f"cannot write {what}: {os.strerror(code).lower()}; make that folder writable (or point the paths in "
            f"params.yaml elsewhere) and rerun")


def run_cli(main, *args, **kwargs):
    """Run a stage's or tool's main(); a UserError, a full disk or a read-only folder ends it with one line on
    stderr and exit status 2."""
    try:
        return main(*args, **kwargs)
    except UserError as exc:
        text = " ".join(str(exc).split())  # one line, whatever the message holds
        print(f"error: {text}", file=sys.stderr)
        sys.exit(2)
    except Exception as exc:
        message = machine_message(exc)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)
