"""Errors the laptop side raises, on top of the function's (``resizer.errors``), and
the ``resizer`` command's exit codes (defined here only).

The CLI turns every :class:`~resizer.errors.ResizerError` into one line on stderr
and an exit code (:func:`exit_code`): a :class:`~resizer.errors.ConfigurationError`
(and so a :class:`UsageError`) exits 2, any other exits 1. Each message says what to
do. Everything a user can cause (a missing folder, a bad price table, an image the
engine cannot measure) is one of these; anything else reaching the entry point is a
bug in resizer, reported as such.
"""

from __future__ import annotations

from resizer.errors import ConfigurationError, ResizerError

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "MeasurementError",
    "MissingExtrasError",
    "OperationFailedError",
    "UsageError",
    "exit_code",
]

#: Success.
EXIT_OK = 0
#: The operation failed: some files could not be resized, AWS refused a call.
EXIT_FAILED = 1
#: Bad usage or configuration: a missing stack, file or setting; nothing was done.
EXIT_USAGE = 2


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


class MeasurementError(OperationFailedError):
    """``resizer tune`` could not measure an image (its child failed); the message is
    the reason, one line."""


def exit_code(error: ResizerError) -> int:
    """The exit code for a classified error: 2 for configuration and usage, else 1."""
    return EXIT_USAGE if isinstance(error, ConfigurationError) else EXIT_FAILED
