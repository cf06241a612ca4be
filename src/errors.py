"""The errors a user fixes (a parameter, an input file, a checkpoint), and the command-line wrapper that prints
them as one line with exit status 2 instead of a traceback."""
from __future__ import annotations

import sys


class UserError(Exception):
    """A problem with what the user gave (params, inputs, weights): the message says what to change."""


def run_cli(main, *args, **kwargs):
    """Run a stage's or tool's main(); a UserError ends it with one line on stderr and exit status 2."""
    try:
        return main(*args, **kwargs)
    except UserError as exc:
        text = " ".join(str(exc).split())  # one line, whatever the message holds
        print(f"error: {text}", file=sys.stderr)
        sys.exit(2)
