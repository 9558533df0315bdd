"""Same key, events late and all in one batch, through the real handler on moto's S3
and SQS with the notifications moto really sends: the final renditions match the
final source (every rendition's size and its ``source-etag``).

The ordering rules themselves (every interleaving of create, delete and duplicates,
races with a replacement or a deletion mid-render) are proved on InMemoryStorage in
tests/unit (test_pipeline.py, test_pipeline_races.py, test_pipeline_properties.py);
tests/functional/test_storage_backends.py shows S3Storage behaves as the fake does.
This end-to-end case is what only the handler adds: its workers rendering the same
key concurrently, from real notification bodies."""

from __future__ import annotations

from typing import Any

import pytest
from deliveries import assert_match, clear, deliver, take_notifications
from emulated_aws import Stack
from images import jpeg


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
