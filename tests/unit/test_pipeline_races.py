"""The pipeline's ordering rules under races, deadlines and removals (pipeline.py's
docstring), on InMemoryStorage: ``after_fetch`` runs while the pipeline renders,
``before_delete`` once a deletion has started."""

from __future__ import annotations

import pytest
from pipeline_cases import (  # fixtures: pipeline, storage, versions
    KEY,
    SETTINGS,
    SOURCE,
    assert_current,
    created,
    removed,
    replace_once,
)

from resizer import imaging
from resizer.errors import (
    DeadlineError,
    TransientError,
)
from resizer.manifest import META_SOURCE_ETAG
from resizer.memory_storage import InMemoryStorage
from resizer.pipeline import _MAX_ROUNDS, Pipeline, Result


# ---------------------------------------------------------------- races while rendering
def test_a_source_replaced_while_rendering_is_rendered_again(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes]
) -> None:
    old = storage.upload(SOURCE, KEY, versions[0])
    replace_once(storage, versions[1])
    outcome = pipeline.handle(created(etag=old))
    assert outcome.kind is Result.RENDERED
    assert outcome.bytes_in == len(versions[1])  # the outcome describes the last round
    # The stale set and its manifest, then the new.
    assert [op for op, _, _ in storage.writes()] == ["put"] * 6
    assert_current(storage)


def test_a_replacement_rendered_meanwhile_by_another_worker_does_not_lose(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes]
) -> None:
    """The other worker writes the new version first; our stale write is then repaired."""
    storage.upload(SOURCE, KEY, versions[0])
    other = Pipeline(SETTINGS, storage)

    def replace_and_render(bucket: str, key: str) -> None:
        storage.after_fetch = None
        etag = storage.upload(bucket, key, versions[1])
        assert other.handle(created(etag=etag)).kind is Result.RENDERED

    storage.after_fetch = replace_and_render
    assert pipeline.handle(created()).kind is Result.RENDERED
    assert_current(storage)


def test_a_source_deleted_while_rendering_has_what_was_written_undone(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes]
) -> None:
    storage.upload(SOURCE, KEY, versions[0])
    storage.after_fetch = storage.remove
    assert pipeline.handle(created()).kind is Result.REMOVED
    writes = [op for op, _, _ in storage.writes()]
    assert writes == ["put"] * 3 + ["delete"] * 3  # renditions and manifest, then undone
    assert_current(storage)


def test_a_deletion_whose_removal_ran_first_still_leaves_nothing(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes]
) -> None:
    """The removal event is handled (and finds nothing) before our write lands."""
    storage.upload(SOURCE, KEY, versions[0])
    other = Pipeline(SETTINGS, storage)

    def delete_and_remove(bucket: str, key: str) -> None:
        storage.remove(bucket, key)
        assert other.handle(removed()).kind is Result.REMOVED

    storage.after_fetch = delete_and_remove
    assert pipeline.handle(created()).kind is Result.REMOVED
    assert storage.renditions(KEY) == {}


def test_a_source_that_keeps_changing_gives_up_after_max_rounds_as_transient(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes]
) -> None:
    storage.upload(SOURCE, KEY, versions[0])
    uploads = iter(versions[1:] * _MAX_ROUNDS)  # alternating, so every upload is a change

    def replace_every_time(bucket: str, key: str) -> None:
        storage.upload(bucket, key, next(uploads))

    storage.after_fetch = replace_every_time
    with pytest.raises(TransientError, match=f"changed {_MAX_ROUNDS} times") as raised:
        pipeline.handle(created())
    assert not raised.value.permanent
    assert sum(op == "get" and bucket == SOURCE for op, bucket, _ in storage.calls) == _MAX_ROUNDS
    # What was written is stale, so the retry (SQS redelivers) does not skip it.
    storage.after_fetch = None
    assert pipeline.handle(created()).kind is Result.RENDERED
    assert_current(storage)


# ---------------------------------------------------------------- deadline
class Deadline:
    """A check_deadline that raises on its ``at``-th call."""

    def __init__(self, at: int) -> None:
        self.at = at
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1
        if self.calls >= self.at:
            raise DeadlineError("time is up")


@pytest.mark.parametrize("at", [1, 2])
def test_a_deadline_before_any_write_leaves_nothing_written(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes], at: int
) -> None:
    """At the start (nothing downloaded) or after rendering (nothing written)."""
    storage.upload(SOURCE, KEY, versions[0])
    with pytest.raises(DeadlineError):
        pipeline.handle(created(), Deadline(at))
    assert storage.writes() == []
    gets = [op for op, bucket, _ in storage.calls if op == "get" and bucket == SOURCE]
    assert len(gets) == at - 1
    assert pipeline.handle(created()).kind is Result.RENDERED  # the retry completes


def test_a_deadline_in_the_second_round_leaves_a_set_the_retry_redoes(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes]
) -> None:
    storage.upload(SOURCE, KEY, versions[0])
    replaced = replace_once(storage, versions[1])
    # The render checks too (before its decode, resizes and encodes): count them.
    renders = [Deadline(0) for _ in versions[:2]]
    for data, counting in zip(versions, renders, strict=False):
        counting.at = 1 << 30
        imaging.render(data, SETTINGS, check_deadline=counting)
    first, second = (counting.calls for counting in renders)
    # start, first render, first store, then the second render and store
    with pytest.raises(DeadlineError):
        pipeline.handle(created(), Deadline(1 + first + 1 + second + 1))
    stale = {r.metadata[META_SOURCE_ETAG] for r in storage.renditions(KEY).values()}
    assert stale  # the first round's set was written...
    assert replaced[0] not in stale  # ...and is not the current source's
    assert pipeline.handle(created()).kind is Result.RENDERED
    assert_current(storage)


def test_a_deadline_at_the_start_of_a_removal_deletes_nothing(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes]
) -> None:
    storage.upload(SOURCE, KEY, versions[0])
    pipeline.handle(created())
    storage.remove(SOURCE, KEY)
    storage.calls.clear()
    with pytest.raises(DeadlineError):
        pipeline.handle(removed(), Deadline(1))
    assert storage.calls == []
    assert len(storage.renditions(KEY)) == 2


# ---------------------------------------------------------------- removals
def test_a_removal_deletes_the_renditions_while_the_source_is_absent(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes]
) -> None:
    storage.upload(SOURCE, KEY, versions[0])
    pipeline.handle(created())
    storage.remove(SOURCE, KEY)
    assert pipeline.handle(removed()).kind is Result.REMOVED
    assert storage.renditions(KEY) == {}
    assert pipeline.handle(removed()).kind is Result.REMOVED  # a duplicate: no error


def test_a_removal_while_the_source_exists_keeps_everything(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes]
) -> None:
    """A late removal of an older version: the source was uploaded again since."""
    storage.upload(SOURCE, KEY, versions[0])
    pipeline.handle(created())
    storage.calls.clear()
    assert pipeline.handle(removed()).kind is Result.KEPT
    assert storage.writes() == []
    assert_current(storage)


@pytest.mark.parametrize("render_meanwhile", [False, True])
def test_a_source_uploaded_again_during_the_deletion_is_rendered_again(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes], render_meanwhile: bool
) -> None:
    """With or without its own render finishing before our deletion wiped it."""
    storage.upload(SOURCE, KEY, versions[0])
    pipeline.handle(created())
    storage.remove(SOURCE, KEY)
    other = Pipeline(SETTINGS, storage)

    def upload_again(source_key: str) -> None:
        storage.before_delete = None
        etag = storage.upload(SOURCE, source_key, versions[1])
        if render_meanwhile:
            assert other.handle(created(etag=etag)).kind is Result.RENDERED

    storage.before_delete = upload_again
    outcome = pipeline.handle(removed())
    assert outcome.kind is Result.RENDERED
    assert outcome.bytes_in == len(versions[1])
    assert_current(storage)


def test_a_source_deleted_and_uploaded_again_over_and_over_gives_up_as_transient(
    storage: InMemoryStorage, pipeline: Pipeline, versions: list[bytes]
) -> None:
    """Deleted while it renders, back while its renditions are removed, again and again:
    the pipeline turns between render and removal a bounded number of times."""
    storage.upload(SOURCE, KEY, versions[0])
    storage.after_fetch = storage.remove
    storage.before_delete = lambda key: storage.upload(SOURCE, key, versions[0]) and None
    with pytest.raises(TransientError, match="deleted and uploaded again") as raised:
        pipeline.handle(created())
    assert not raised.value.permanent
    assert sum(op == "get" and bucket == SOURCE for op, bucket, _ in storage.calls) <= _MAX_ROUNDS
    # Once the flapping stops, the next delivery leaves the source's renditions current.
    storage.after_fetch = storage.before_delete = None
    storage.upload(SOURCE, KEY, versions[1])
    assert pipeline.handle(created()).kind is Result.RENDERED
    assert_current(storage)
