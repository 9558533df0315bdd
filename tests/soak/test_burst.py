"""A burst of uploads at once into the local stack (the real template, MaximumConcurrency
4, the in-process poller calling the real handler): every image gets every rendition,
the DLQ stays empty, nothing is written from the wrong source.

2,000 images in ``make soak`` (``RESIZER_SOAK=1``), 200 without it (``RESIZER_BURST=N``
to pick).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from local_runs import (
    count_keys,
    dead_letter_count,
    photos,
    report,
    sized,
    soak_stack,
    upload_all,
    wait_drained,
    wrong_renditions,
)

from resizer_tools.local.stack import LocalStack

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BURST = sized("RESIZER_BURST", soak=2000, quick=200)
CONCURRENCY = 4


@pytest.fixture(scope="module")
def local_stack() -> Iterator[LocalStack]:
    with soak_stack("rel-burst", {"MaximumConcurrency": str(CONCURRENCY)}) as stack:
        yield stack


def test_a_burst_is_drained_with_nothing_lost(local_stack: LocalStack) -> None:
    aws, resources, poller = local_stack.aws, local_stack.resources, local_stack.poller
    assert aws is not None
    assert resources is not None
    assert poller is not None
    assert poller.config.concurrency == CONCURRENCY
    uploads = photos(BURST, "burst")
    started = time.monotonic()
    etags = upload_all(aws, resources.source_bucket, uploads)
    uploaded = time.monotonic() - started
    drain = wait_drained(aws, resources, "burst", BURST, timeout=300 + BURST * 2) + uploaded
    assert dead_letter_count(aws, resources) == 0
    assert count_keys(aws, resources.source_bucket, "burst/") == BURST
    assert wrong_renditions(aws, resources, uploads, etags) == []
    stats = poller.stats
    report(
        "burst",
        {
            "images": BURST,
            "renditions": BURST * 3,
            "concurrency": CONCURRENCY,
            "batch_size": poller.config.batch_size,
            "workers_per_invocation": int(os.environ.get("WORKERS", "4")),
            "upload_s": round(uploaded, 1),
            "drain_s": round(drain, 1),
            "images_per_s": round(BURST / drain, 1),
            "invocations": stats.invocations,
            "records": stats.records,
            "retried_records": stats.failed,
            # Invocations over the function's Timeout on an overloaded laptop: their
            # batches are retried (duplicates, harmless); not a correctness failure.
            "invocations_timed_out": stats.errors,
            "dead_letters": 0,
            "mean_input_kb": round(sum(len(u.data) for u in uploads) / BURST / 1024, 1),
        },
    )
