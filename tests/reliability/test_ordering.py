"""Same key, events out of order, duplicated, late: the final renditions match the
final source (every rendition's size and its ``source-etag``), or are gone when the
source is gone."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from deliveries import (
    after_fetch,
    assert_match,
    clear,
    deliver,
    renditions,
    take_notifications,
)
from emulated_aws import Stack
from images import jpeg, png

from resizer import handler
from resizer.events import Action, ObjectEvent


def _fed_back(response: dict[str, Any]) -> bool:
    return bool(response["batchItemFailures"])


def deliver_until_done(stack: Stack, *bodies: str, rounds: int = 5) -> None:
    """Deliver each body in its own invocation, re-delivering what was left for a retry
    (as SQS does after the visibility timeout), at most ``rounds`` times."""
    pending = list(bodies)
    for _ in range(rounds):
        retry = [body for body in pending if _fed_back(deliver(stack, body))]
        if not retry:
            return
        pending = retry
    pytest.fail(f"{len(pending)} notification(s) still failing after {rounds} deliveries")


def test_create_delete_create_in_every_order_with_duplicates(stack: Stack) -> None:
    key = "same/key.jpg"
    stack.put(key, jpeg(1800, 1200))
    stack.s3.delete_object(Bucket=stack.source, Key=key)
    final = stack.put(key, png(700, 900))
    notifications = take_notifications(stack)
    assert [n.event_name.split(":")[0] for n in notifications] == [
        "ObjectCreated",
        "ObjectRemoved",
        "ObjectCreated",
    ]
    bodies = [n.body for n in notifications]
    for order in itertools.permutations(bodies):
        for stale_start in (False, True):
            clear(stack, key)
            if stale_start:  # renditions of the first version already exist
                deliver(stack, bodies[0])
            deliver_until_done(stack, *order, *order)  # every event twice
            assert_match(stack, key, final, (700, 900))


def test_create_then_delete_in_every_order_leaves_nothing(stack: Stack) -> None:
    key = "short-lived/photo.jpg"
    stack.put(key, jpeg(900, 600))
    stack.s3.delete_object(Bucket=stack.source, Key=key)
    bodies = [n.body for n in take_notifications(stack)]
    for order in itertools.permutations(bodies):
        deliver_until_done(stack, *order, *order)
        assert renditions(stack, key) == {}


def test_stale_events_arriving_late_and_in_one_batch(stack: Stack) -> None:
    key = "versions/photo.jpg"
    etags = [stack.put(key, jpeg(400 + 300 * n, 300)) for n in range(4)]
    bodies = [n.body for n in take_notifications(stack)]
    assert len(bodies) == 4
    deliver_until_done(stack, *reversed(bodies))  # newest first, the stale ones after
    assert_match(stack, key, etags[-1], (1300, 300))
    clear(stack, key)
    # All at once in one batch: rendered concurrently by the handler's workers.
    for _ in range(5):
        if not _fed_back(deliver(stack, *bodies, *bodies)):
            break
    assert_match(stack, key, etags[-1], (1300, 300))


def test_duplicates_of_the_current_version_write_nothing(stack: Stack) -> None:
    key = "dupes/photo.jpg"
    etag = stack.put(key, jpeg(1000, 800))
    (body,) = [n.body for n in take_notifications(stack)]
    deliver_until_done(stack, body)
    first = {
        name: stack.s3.head_object(Bucket=stack.destination, Key=f"{name}/{key}")["ETag"]
        for name in ("large", "medium", "thumbnails")
    }
    for _ in range(3):
        deliver_until_done(stack, body, body)
    again = {
        name: stack.s3.head_object(Bucket=stack.destination, Key=f"{name}/{key}")["ETag"]
        for name in ("large", "medium", "thumbnails")
    }
    assert again == first
    assert_match(stack, key, etag, (1000, 800))


# ---------------------------------------------------------------- races
def _interfere_after_fetch(action: Callable[[], None]) -> None:
    """Run ``action`` once, right after the handler has downloaded a source: as if
    another invocation did it while this one renders."""
    done: list[bool] = []

    def once(bucket: str, key: str) -> None:
        if not done:
            done.append(True)
            action()

    after_fetch(once)


def test_a_version_replaced_during_rendering_does_not_win(stack: Stack) -> None:
    key = "race/replaced.jpg"
    stack.put(key, jpeg(1200, 900))
    (first,) = [n.body for n in take_notifications(stack)]
    newest: list[str] = []

    def replace_and_render_the_new_version() -> None:
        newest.append(stack.put(key, jpeg(600, 200)))
        rt = handler.runtime()
        rt.pipeline.handle(ObjectEvent(Action.RENDER, stack.source, key, etag=newest[0]))

    _interfere_after_fetch(replace_and_render_the_new_version)
    deliver(stack, first)
    deliver_until_done(stack, first)  # a retry, or a late duplicate
    assert_match(stack, key, newest[0], (600, 200))


def test_a_source_deleted_during_rendering_leaves_no_renditions(stack: Stack) -> None:
    key = "race/deleted.jpg"
    stack.put(key, jpeg(1200, 900))
    (first,) = [n.body for n in take_notifications(stack)]

    def delete_and_remove() -> None:
        stack.s3.delete_object(Bucket=stack.source, Key=key)
        rt = handler.runtime()
        rt.pipeline.handle(ObjectEvent(Action.REMOVE, stack.source, key))

    _interfere_after_fetch(delete_and_remove)
    deliver(stack, first)
    for _ in range(3):
        deliver(stack, first)  # retries, and the late duplicates
    assert renditions(stack, key) == {}
