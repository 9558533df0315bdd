"""The function's log lines on the laptop: shipped to the emulator, readable in a terminal.

On AWS, Lambda sends what the function logs to its CloudWatch Logs group, where
``resizer logs`` reads it. Locally the handler runs in this process and logs through
its Powertools logger (the ``resizer`` logger, a handler writing JSON lines to
stdout). :func:`attach` adds a second handler that ships the same JSON lines to the
emulator's CloudWatch Logs, in the group the template names, so ``resizer logs
--follow`` works alike; with ``readable`` the stdout handler shows them as
``time LEVEL message key=value`` (for a terminal; piped output stays JSON).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
import uuid
from collections.abc import Iterator
from typing import TextIO

from botocore.exceptions import BotoCoreError, ClientError

from resizer_tools.ops.aws import Aws
from resizer_tools.ops.logs import readable as readable_line

__all__ = ["FUNCTION_LOGGER", "LogShipper", "attach", "detach", "logged_to"]

FUNCTION_LOGGER = "resizer"  # Powertools names its logger after the service (handler.py)
_BATCH_S = 0.5


class _Readable(logging.Formatter):
    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return readable_line(self.inner.format(record))


class LogShipper(logging.Handler):
    """Ships formatted records to a CloudWatch Logs group, in batches, from a thread."""

    def __init__(self, aws: Aws, group: str, formatter: logging.Formatter | None) -> None:
        super().__init__()
        if formatter is not None:
            self.setFormatter(formatter)
        self.aws, self.group = aws, group
        self.stream = f"{time.strftime('%Y/%m/%d')}/[local]{uuid.uuid4().hex}"
        self._lines: queue.Queue[tuple[int, str] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="log-shipper", daemon=True)
        self._ready = False
        self._thread.start()

    def emit(self, record: logging.LogRecord) -> None:
        self._lines.put((int(record.created * 1000), self.format(record)))

    def close(self) -> None:
        self._lines.put(None)
        self._thread.join(5)
        super().close()

    def _run(self) -> None:
        done = False
        while not done:
            batch: list[tuple[int, str]] = []
            deadline = time.monotonic() + _BATCH_S
            while time.monotonic() < deadline:
                try:
                    item = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:
                    done = True
                    break
                batch.append(item)
            if batch:
                self._put(batch)

    def _put(self, batch: list[tuple[int, str]]) -> None:
        try:
            if not self._ready:
                self._create()
            self.aws.logs.put_log_events(
                logGroupName=self.group,
                logStreamName=self.stream,
                logEvents=[{"timestamp": ms, "message": line} for ms, line in batch],
            )
        except (ClientError, BotoCoreError):
            logging.getLogger(__name__).warning("could not ship %d log line(s)", len(batch))

    def _create(self) -> None:
        try:
            self.aws.logs.create_log_group(logGroupName=self.group)
        except ClientError as error:
            _unless_exists(error)
        try:
            self.aws.logs.create_log_stream(logGroupName=self.group, logStreamName=self.stream)
        except ClientError as error:
            _unless_exists(error)
        self._ready = True


def _unless_exists(error: ClientError) -> None:
    if error.response.get("Error", {}).get("Code") != "ResourceAlreadyExistsException":
        raise error


def attach(aws: Aws, group: str, *, readable: bool = False) -> LogShipper:
    """Ship the function's log lines to ``group``; show them readably if ``readable``."""
    logger = logging.getLogger(FUNCTION_LOGGER)
    json_formatter = next((h.formatter for h in logger.handlers if h.formatter), None)
    if readable and json_formatter is not None:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and handler.formatter is not None:
                handler.setFormatter(_Readable(json_formatter))
    shipper = LogShipper(aws, group, json_formatter)
    logger.addHandler(shipper)
    return shipper


@contextlib.contextmanager
def logged_to(stream: TextIO) -> Iterator[None]:
    """The function's log lines go to ``stream`` meanwhile (``resizer invoke``: stderr,
    so stdout holds only the response), whether its logger exists yet or not."""
    logger = logging.getLogger(FUNCTION_LOGGER)
    handlers = [h for h in logger.handlers if isinstance(h, logging.StreamHandler)]
    previous = [h.setStream(stream) for h in handlers]
    try:
        with contextlib.redirect_stdout(stream):  # a cold start's new logger takes it
            yield
    finally:
        for handler, old in zip(handlers, previous, strict=True):
            if old is not None:
                handler.setStream(old)


def detach(shipper: LogShipper) -> None:
    """Stop shipping (after the last lines went out) and give the JSON lines back."""
    logger = logging.getLogger(FUNCTION_LOGGER)
    logger.removeHandler(shipper)
    shipper.close()
    for handler in logger.handlers:
        if isinstance(handler.formatter, _Readable):
            handler.setFormatter(handler.formatter.inner)
