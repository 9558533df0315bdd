"""Spies on the engine for the tests of how many renders run at once (the function's
render slots, and ``resizer resize``, which shares them)."""

from __future__ import annotations

import threading
import time

import pytest

from resizer import imaging


def counting_renders(monkeypatch: pytest.MonkeyPatch, together: int) -> list[int]:
    """Patch the engine so every render notes how many renders run with it.

    The first ``together`` renders wait for each other (however loaded the machine: a
    fixed sleep let a slow machine start them one after the other), then every render
    leaves the other workers time to arrive; one more than the limit would be counted.
    """
    running: list[int] = []
    now = [0]
    arrived = [0]
    changed = threading.Condition()
    render_set = imaging.render_set

    def counted(*args: object, **kwargs: object) -> imaging.RenderSet:
        with changed:
            now[0] += 1
            arrived[0] += 1
            running.append(now[0])
            changed.notify_all()
            changed.wait_for(lambda: arrived[0] >= together, timeout=30)
        try:
            time.sleep(0.05)  # long enough for the other workers to arrive
            return render_set(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            with changed:
                now[0] -= 1

    monkeypatch.setattr(imaging, "render_set", counted)
    return running
