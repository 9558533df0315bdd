"""The ``resizer`` command: offline resizing, the local stack, and operating a stack.

One module per command group (``resize``, ``stack``, ``prune``, ``dlq``, ``events``,
``invoke``, ``local``, ``preflight``, ``tune``), what they share in ``common`` (consoles,
stack options, error handling), put together in ``app``, which also makes Typer start
light: ``coercion`` (parameters coerced without pydantic) and ``richhelp`` (Rich help
without Rich's Markdown and traceback modules). This module only holds the entry point,
which must work however the package was installed: without the ``cli`` extras
(Typer, Rich) it prints one line naming them and exits 2, never a traceback.
"""

from __future__ import annotations

import os
import sys

from resizer_tools.errors import EXIT_FAILED, EXIT_USAGE, MissingExtrasError

__all__ = ["main"]

_CLI_MODULES = ("typer", "rich")


def main() -> None:
    """Console-script entry point."""

    try:
        from resizer_tools.cli.app import app  # noqa: PLC0415
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] not in _CLI_MODULES:
            raise
        print(f"error: {MissingExtrasError(error.name or 'typer').reason}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None
    try:
        app()
    except Exception as error:
        # Every error users can act on is a ResizerError, handled by the command; this
        # is the net for the rest (a bug): one line, the traceback only on request.
        if os.environ.get("RESIZER_DEBUG"):
            raise
        print(
            f"error: unexpected {type(error).__name__}: {error} (a bug in resizer: "
            "run again with RESIZER_DEBUG=1 for the traceback and report it)",
            file=sys.stderr,
        )
        raise SystemExit(EXIT_FAILED) from None
