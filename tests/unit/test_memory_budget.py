"""The memory budget that keeps concurrent renders inside the function's memory."""

from __future__ import annotations

import threading
import time

import pytest

from resizer.config import Settings
from resizer.errors import ImageTooLargeError
from resizer.imaging import MemoryBudget


def test_default_budget_is_the_function_memory_less_the_runtime() -> None:
    assert Settings.from_env({}).memory_budget_mb == 0  # not on Lambda: unlimited
    on_lambda = Settings.from_env({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024"})
    assert on_lambda.memory_budget_mb == 1024 - 128
    explicit = {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024", "MEMORY_BUDGET_MB": "500"}
    assert Settings.from_env(explicit).memory_budget_mb == 500


def test_a_render_that_can_never_fit_is_refused_with_the_fix() -> None:
    budget = MemoryBudget(100)
    with pytest.raises(ImageTooLargeError, match="MemorySize") as caught, budget.reserve(101):
        pass
    assert caught.value.permanent


def test_unlimited_budget_admits_anything() -> None:
    with MemoryBudget(0).reserve(10**15):
        pass


def test_renders_wait_for_room_and_never_exceed_the_capacity() -> None:
    budget = MemoryBudget(100)
    lock = threading.Lock()
    in_use: list[int] = [0]
    peak: list[int] = [0]

    def render(amount: int) -> None:
        with budget.reserve(amount):
            with lock:
                in_use[0] += amount
                peak[0] = max(peak[0], in_use[0])
            time.sleep(0.02)
            with lock:
                in_use[0] -= amount

    threads = [threading.Thread(target=render, args=(a,)) for a in (60, 60, 30, 30, 90, 10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in threads)
    assert 60 <= peak[0] <= 100
    assert in_use[0] == 0
