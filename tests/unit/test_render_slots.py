"""RENDER_CONCURRENCY: how many of a batch's records render at once, one per vCPU by default."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
from pipeline_cases import SETTINGS, SOURCE, assert_current, created
from spies import counting_renders

from resizer import imaging
from resizer.config import MB_PER_VCPU, Settings, usable_cpus
from resizer.errors import DeadlineError
from resizer.memory_storage import InMemoryStorage
from resizer.pipeline import Pipeline, Result

KEYS = [f"batch/{n}.jpg" for n in range(6)]


def render_batch(slots: int, versions: list[bytes]) -> tuple[InMemoryStorage, list[Result]]:
    storage = InMemoryStorage(replace(SETTINGS, workers=4, render_concurrency=slots))
    for key in KEYS:
        storage.upload(SOURCE, key, versions[0])
    pipeline = Pipeline(storage.settings, storage)
    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(lambda key: pipeline.handle(created(key)), KEYS))
    return storage, [outcome.kind for outcome in outcomes]


@pytest.mark.parametrize("slots", [1, 2])
def test_no_more_records_render_at_once_than_render_concurrency(
    monkeypatch: pytest.MonkeyPatch, versions: list[bytes], slots: int
) -> None:
    running = counting_renders(monkeypatch, together=slots)
    storage, results = render_batch(slots, versions)
    assert results == [Result.RENDERED] * len(KEYS)
    assert max(running) == slots
    for key in KEYS:
        assert_current(storage, key)


def test_zero_leaves_every_worker_rendering(
    monkeypatch: pytest.MonkeyPatch, versions: list[bytes]
) -> None:
    running = counting_renders(monkeypatch, together=4)
    _, results = render_batch(0, versions)
    assert results == [Result.RENDERED] * len(KEYS)
    assert max(running) == 4  # the control: the limit above is the semaphore's doing


def test_a_record_waiting_for_a_slot_gives_up_at_the_deadline_having_written_nothing(
    monkeypatch: pytest.MonkeyPatch, versions: list[bytes]
) -> None:
    storage = InMemoryStorage(replace(SETTINGS, render_concurrency=1))
    for key in KEYS[:2]:
        storage.upload(SOURCE, key, versions[0])
    pipeline = Pipeline(storage.settings, storage)
    rendering, release = threading.Event(), threading.Event()
    render_set = imaging.render_set

    def held(*args: object, **kwargs: object) -> imaging.RenderSet:
        rendering.set()
        release.wait(10)
        return render_set(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(imaging, "render_set", held)
    checks = [0]

    def running_out() -> None:
        checks[0] += 1
        if checks[0] > 5:  # past the checks before the wait: out of time while waiting
            raise DeadlineError("out of time")

    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(pipeline.handle, created(KEYS[0]))
        assert rendering.wait(10)
        with pytest.raises(DeadlineError) as raised:
            pipeline.handle(created(KEYS[1]), running_out)
        assert any(entry.name == "_render_slot" for entry in raised.traceback)  # while waiting
        release.set()
        assert first.result().kind is Result.RENDERED
    assert storage.renditions(KEYS[1]) == {}
    # The slot was not leaked: the next record renders.
    monkeypatch.setattr(imaging, "render_set", render_set)
    assert pipeline.handle(created(KEYS[1])).kind is Result.RENDERED


def with_memory(memory_mb: int) -> Callable[[], int]:
    return lambda: (
        Settings.from_env({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb)}).render_concurrency
    )


def test_on_lambda_the_default_is_the_vcpus_of_the_functions_memory() -> None:
    assert with_memory(128)() == 1
    assert with_memory(1024)() == 1
    assert with_memory(MB_PER_VCPU)() == 1
    assert with_memory(MB_PER_VCPU + 1)() == 2
    assert with_memory(10_240)() == 6


def test_off_lambda_the_default_is_this_machines_cpus_and_the_setting_wins() -> None:
    assert Settings.from_env({}).render_concurrency == usable_cpus() == len(os.sched_getaffinity(0))
    assert Settings.from_env({"RENDER_CONCURRENCY": "3"}).render_concurrency == 3
    memory = {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512", "RENDER_CONCURRENCY": "0"}
    assert Settings.from_env(memory).render_concurrency == 0
    assert Settings().render_concurrency == 0  # constructed in code: no limit
