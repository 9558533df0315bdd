"""botocore's retry quota under sustained throttling, as the handler uses S3.

Standard retry mode keeps a per-client quota (500): a retry costs 5 (throttling) or
14 (anything else); it is given back only when the retried call ends in a 2xx. The
duplicate check HEADs renditions, and for a new image they answer 404 - so each of
those HEADs that needed a retry lost its cost for good, while a clean call earns 1
back. Under sustained throttling the quota ran dry, after which every throttled
request failed at once and its record was retried by SQS, until MaxReceiveCount
moved good images to the DLQ without a reason. Found by the 600-image fault soak
(20 % faults: 26 good images dead-lettered after 5 receives), fixed in 1b0a8b6
(legacy retry mode: no quota). Reproduced deterministically: the first attempt of
every HEAD is throttled (each succeeds on its retry), on one warm container.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from emulated_aws import Stack, StreamedBody
from images import jpeg
from invocations import dead_letters, drain

from resizer import handler

IMAGES = 30


def throttle_first_attempt_of_every_head() -> Counter[str]:
    seen: Counter[str] = Counter()

    def hook(request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        if request.method != "HEAD":
            return None
        seen[request.url] += 1
        if seen[request.url] % 2:
            return AWSResponse(request.url, 503, {}, StreamedBody(b""))
        return None

    handler.runtime().pipeline.storage.s3.meta.events.register("before-send.s3", hook)
    return seen


def test_sustained_throttling_does_not_dead_letter_good_images(stack: Stack) -> None:
    data = jpeg(64, 48)
    for n in range(IMAGES):
        stack.put(f"quota/{n:03d}.jpg", data)
    throttle_first_attempt_of_every_head()
    drained = drain(stack, timeout=120)
    assert drained.failures == [], f"{len(drained.failures)} transient failure(s)"
    assert dead_letters(stack) == []
