"""Errors the laptop side raises, on top of the function's (``resizer.errors``).

The CLI turns every :class:`~resizer.errors.ResizerError` into one line on stderr
and an exit code: a :class:`~resizer.errors.ConfigurationError` (and so a
:class:`UsageError`) exits 2, any other exits 1. Each message says what to do.
"""

from __future__ import annotations

from resizer.errors import ConfigurationError, ResizerError

__all__ = ["MissingExtrasError", "OperationFailedError", "UsageError"]


class UsageError(ConfigurationError):
    """The command line itself is wrong: a missing file, an endpoint without a scheme."""


class MissingExtrasError(ConfigurationError):
    """A laptop-side dependency (Typer, Rich, moto, PyYAML) is not installed."""

    def __init__(self, module: str) -> None:
        super().__init__(
            f"the `resizer` command needs {module}, from the CLI extras: pip install 'resizer[cli]'"
        )


class OperationFailedError(ResizerError):
    """AWS answered, but refused part of an operation (it stays undone; run it again)."""
