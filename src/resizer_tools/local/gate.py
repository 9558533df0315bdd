"""Between invocations: the poller's switch to a new function version waits for them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["VersionGate"]


class VersionGate:
    """Invocations hold it shared; a version switch holds it alone, between invocations."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._active = 0
        self._switching = False

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._condition:
            self._condition.wait_for(lambda: not self._switching)
            self._active += 1
        try:
            yield
        finally:
            with self._condition:
                self._active -= 1
                self._condition.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._condition:
            self._switching = True
            self._condition.wait_for(lambda: self._active == 0)
        try:
            yield
        finally:
            with self._condition:
                self._switching = False
                self._condition.notify_all()
