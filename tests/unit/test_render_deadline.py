"""A still image's render is deadline-checked before each expensive step (issue 22,
item 5): before the decode, before each rendition's resize, before each encode. A
record that cannot finish in time raises DeadlineError (transient: SQS delivers it
again) having written nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from images import jpeg, png
from pipeline_cases import KEY, SOURCE, created

from resizer import imaging
from resizer.config import Settings, parse_renditions
from resizer.errors import DeadlineError
from resizer.imaging import _decode, _output
from resizer.imaging._memory import MB, MemoryBudget
from resizer.memory_storage import InMemoryStorage
from resizer.pipeline import Pipeline, Result

# Two renditions of two formats each and a cover crop of one: 3 resizes, 5 encodes.
RENDITIONS = "large=400x400:format=jpeg+webp,medium=200x:format=png+webp,sq=64x64:cover"
# Faces off: these tests render once per deadline check; the face detector's own checks
# (and a deadline inside it) are tested by test_imaging_faces.py.
SETTINGS = Settings(
    destination_bucket="renditions",
    renditions=parse_renditions(RENDITIONS),
    face_detection="off",
)


class Deadline:
    """A check_deadline that raises on its ``at``-th call (0: never), logging each call."""

    def __init__(self, at: int = 0, log: list[str] | None = None) -> None:
        self.at = at
        self.calls = 0
        self.log = log if log is not None else []

    def __call__(self) -> None:
        self.calls += 1
        self.log.append("check")
        if self.calls == self.at:
            raise DeadlineError("time is up")


def _logging(log: list[str], name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def logged(*args: Any, **kwargs: Any) -> Any:
        log.append(name)
        return function(*args, **kwargs)

    return logged


@pytest.fixture
def steps(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The expensive steps of a render, in order, with the deadline checks between."""
    log: list[str] = []
    monkeypatch.setattr(_decode, "decode", _logging(log, "decode", _decode.decode))
    monkeypatch.setattr(_output, "encode", _logging(log, "encode", _output.encode))
    from resizer.imaging import _resample

    monkeypatch.setattr(_resample, "resize", _logging(log, "resize", _resample.resize))
    return log


@pytest.mark.parametrize("data", [jpeg(800, 600), png(800, 600, "RGBA")], ids=["jpeg", "png"])
def test_every_expensive_step_of_a_still_is_preceded_by_a_deadline_check(
    steps: list[str], data: bytes
) -> None:
    imaging.render(data, SETTINGS, check_deadline=Deadline(log=steps))
    expensive = [step for step in steps if step != "check"]
    assert expensive.count("decode") == 1
    assert expensive.count("resize") >= 3  # one per rendition at least
    assert expensive.count("encode") == 5
    for index, step in enumerate(steps):
        if step != "check":
            assert steps[index - 1] == "check", steps


def test_a_deadline_at_any_check_stops_the_render() -> None:
    data = jpeg(800, 600)
    counting = Deadline()
    imaging.render(data, SETTINGS, check_deadline=counting)
    assert counting.calls >= 1 + 3 + 5
    for at in range(1, counting.calls + 1):
        with pytest.raises(DeadlineError):
            imaging.render(data, SETTINGS, check_deadline=Deadline(at))


def test_a_slow_encode_near_the_deadline_stops_the_render(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each encode takes 1 s on a fake clock; 2.5 s are left: the third encode is the
    last, the fourth never starts."""
    clock = [0.0]
    encodes: list[str] = []
    real = _output.encode

    def slow(image: Any, output: _output.Output, encoding: _output.Encoding) -> bytes:
        encodes.append(output.format)
        clock[0] += 1.0
        return real(image, output, encoding)

    def check_deadline() -> None:
        if clock[0] > 2.5:
            raise DeadlineError(f"{clock[0]} s used of 2.5")

    monkeypatch.setattr(_output, "encode", slow)
    with pytest.raises(DeadlineError):
        imaging.render(jpeg(800, 600), SETTINGS, check_deadline=check_deadline)
    assert len(encodes) == 3


def test_a_record_out_of_time_while_rendering_writes_nothing_and_its_retry_completes() -> None:
    storage = InMemoryStorage(SETTINGS)
    storage.upload(SOURCE, KEY, jpeg(800, 600))
    counting = Deadline()
    assert Pipeline(SETTINGS, storage).handle(created(), counting).kind is Result.RENDERED
    total = counting.calls
    # The start, the render's own (decode, 3 resizes, 5 encodes), and before the store.
    assert total >= 1 + 9 + 1
    for at in range(1, total + 1):
        fresh = InMemoryStorage(SETTINGS)
        fresh.upload(SOURCE, KEY, jpeg(800, 600))
        with pytest.raises(DeadlineError):
            Pipeline(SETTINGS, fresh).handle(created(), Deadline(at))
        assert fresh.writes() == [], at  # no rendition, no manifest
        assert fresh.read_manifest(KEY) is None
        assert Pipeline(SETTINGS, fresh).handle(created()).kind is Result.RENDERED
        manifest = fresh.read_manifest(KEY)
        assert manifest is not None
        assert len(fresh.writes()) == 5 + 1  # every encode and the manifest


def test_a_render_waiting_for_memory_stops_waiting_at_its_deadline() -> None:
    """Another render holds the whole budget: this one raises DeadlineError, polled
    every WAIT_POLL_S, instead of waiting past the invocation's end."""
    budget = MemoryBudget(64 * MB)
    waits = Deadline(at=3)
    with budget.reserve(64 * MB), pytest.raises(DeadlineError):
        imaging.render(jpeg(800, 600), SETTINGS, budget, check_deadline=waits)
    assert waits.calls == 3
    with budget.reserve(64 * MB):  # nothing left reserved by the render that gave up
        pass


def test_an_ultra_hdr_sources_gain_map_is_decoded_and_encoded_after_a_check(
    monkeypatch: pytest.MonkeyPatch, steps: list[str]
) -> None:
    """HDR=keep: the map's decode and each JPEG rendition's map encode are steps too."""
    from pathlib import Path

    from images import ultra_hdr

    from resizer.imaging import _gainmap, _render

    photo = Path(__file__).resolve().parents[2] / "examples" / "photos" / "Wine_by_Jakkub_Mede.jpg"
    data = ultra_hdr(str(photo), 400)
    log = steps  # with the decode, resizes and encodes
    monkeypatch.setattr(_gainmap, "decode", _logging(log, "map-decode", _gainmap.decode))
    monkeypatch.setattr(_gainmap, "transform", _logging(log, "map-encode", _gainmap.transform))
    settings = Settings(renditions=parse_renditions("a=200x:format=jpeg,b=100x:format=jpeg+webp"))
    assert settings.hdr == "keep"
    _render.render(data, settings, check_deadline=Deadline(log=log))
    assert log.count("map-decode") == 1
    assert log.count("map-encode") == 2  # one per JPEG rendition
    for index, step in enumerate(log):
        if step != "check":
            assert log[index - 1] == "check", log
