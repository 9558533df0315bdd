"""Transient S3 faults and crashed workers: after recovery every image has every
rendition, the DLQ holds nothing that should have succeeded.

The local stack (real template) runs without its in-process poller; the poller runs
as ``resizer local worker`` in a subprocess whose handler reaches S3 through
:class:`FaultProxy` (``AWS_ENDPOINT_URL_S3``), so a share of its S3 requests meet
503 SlowDown, reset connections, lost responses, truncated bodies and delays. The
worker is SIGKILLed mid-batch several times and restarted. The stack is deployed
with the template's shortest function timeout (30 s) and the queue's visibility
timeout is set to that same 30 s (the template derives 6 x 30 = 180 s; AWS requires
at least the function timeout), so that the messages a killed worker held come back
within the test.

Before 1b0a8b6 the 600-image soak failed: botocore's standard-mode retry quota ran
dry on the long-lived worker (test_retry_quota.py, docs/reliability.md bug 6).

600 images and 5 kills in ``make soak`` (``RESIZER_SOAK=1``), 60 and 3 without it
(``RESIZER_FAULT_IMAGES=N`` for another size).
"""

from __future__ import annotations

import random
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fault_proxy import FaultProxy
from local_runs import (
    SOAK,
    VISIBILITY_S,
    fault_stack,
    photos,
    queue_depth,
    report,
    shorten_visibility,
    sized,
    upload_all,
    wait_drained,
    worker_command,
    worker_environment,
    wrong_renditions,
)

from resizer_tools.local.stack import LocalStack

pytestmark = [pytest.mark.integration, pytest.mark.slow]

IMAGES = sized("RESIZER_FAULT_IMAGES", soak=600, quick=60)
KILLS = 5 if SOAK else 3
FAULT_RATE = 0.2


@pytest.fixture(scope="module")
def emulated() -> Iterator[LocalStack]:
    with fault_stack("rel-faults") as stack:
        yield stack


class Worker:
    """``resizer local worker`` in a subprocess (its own process group), S3 via the proxy."""

    def __init__(self, endpoint: str, stack_name: str, s3_endpoint: str, log: Path) -> None:
        self.log = log
        environment = {**worker_environment(s3_endpoint), "COLUMNS": "200"}
        self._out = log.open("ab")
        self.process = subprocess.Popen(
            worker_command(endpoint, stack_name),
            stdout=self._out,
            stderr=subprocess.STDOUT,
            env=environment,
        )

    def batches(self) -> int:
        return self.log.read_text(errors="replace").count("record(s):")

    def kill(self) -> None:
        self.process.kill()  # SIGKILL: no clean-up, messages stay in flight
        self.process.wait(10)
        self._out.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._out.close()


def dead_letters(aws: Any, resources: Any) -> list[str]:
    """What is on the DLQ (left there): the end of each body, receive count, ErrorType."""
    found: list[str] = []
    for _ in range(100):
        batch = aws.sqs.receive_message(
            QueueUrl=resources.dead_letter_queue_url,
            MaxNumberOfMessages=10,
            AttributeNames=["ApproximateReceiveCount"],
            MessageAttributeNames=["All"],
            VisibilityTimeout=60,
        ).get("Messages", [])
        if not batch:
            break
        for m in batch:
            kind = m.get("MessageAttributes", {}).get("ErrorType", {}).get("StringValue", "-")
            receives = m["Attributes"]["ApproximateReceiveCount"]
            found.append(f"{m['Body'][-120:]} receives={receives} ErrorType={kind}")
    return found


def wait_for_batches(worker: Worker, at_least: int, timeout: float, work_left: Any) -> bool:
    """True once the worker has finished ``at_least`` batches; False if the queue ran dry."""
    deadline = time.monotonic() + timeout
    while worker.batches() < at_least:
        if worker.process.poll() is not None:
            raise AssertionError(f"worker exited: {worker.log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            if not work_left():
                return False
            raise AssertionError(f"no batch in {timeout} s: {worker.log.read_text()[-3000:]}")
        time.sleep(0.05)
    return True


def test_faults_and_crashes_lose_nothing(emulated: LocalStack, tmp_path: Path) -> None:
    aws, resources = emulated.aws, emulated.resources
    assert aws is not None
    assert resources is not None
    shorten_visibility(aws, resources)
    proxy = FaultProxy(emulated.endpoint_url, rate=FAULT_RATE).start()
    rng = random.Random(6)
    uploads = photos(IMAGES, "faults")
    kills = kills_in_flight = 0
    workers: list[Worker] = []
    try:
        started = time.monotonic()
        etags = upload_all(aws, resources.source_bucket, uploads)
        for number in range(KILLS):
            log = tmp_path / f"worker-{number}.log"
            worker = Worker(emulated.endpoint_url, resources.stack_name, proxy.url, log)
            workers.append(worker)
            if not wait_for_batches(
                worker, 1, timeout=90, work_left=lambda: queue_depth(aws, resources.queue_url)
            ):
                break  # everything was done before this kill: nothing left to interrupt
            time.sleep(rng.uniform(0.2, 1.2))
            in_flight = int(
                aws.sqs.get_queue_attributes(
                    QueueUrl=resources.queue_url,
                    AttributeNames=["ApproximateNumberOfMessagesNotVisible"],
                )["Attributes"]["ApproximateNumberOfMessagesNotVisible"]
            )
            worker.kill()
            kills += 1
            kills_in_flight += in_flight > 0
        final = Worker(
            emulated.endpoint_url, resources.stack_name, proxy.url, tmp_path / "final.log"
        )
        workers.append(final)
        wait_drained(aws, resources, "faults", IMAGES, timeout=300 + IMAGES * 2)
        drain = time.monotonic() - started
        assert queue_depth(aws, resources.queue_url) == 0
        dead = dead_letters(aws, resources)
        assert dead == [], f"the DLQ holds {len(dead)} image(s) that should have worked: {dead}"
        assert wrong_renditions(aws, resources, uploads, etags) == []
    finally:
        for worker in workers:
            worker.stop()
        proxy.stop()
    faults = {k: v for k, v in proxy.counts.items() if k not in ("requests", "upstream_error")}
    logs = "".join(w.log.read_text(errors="replace") for w in workers)
    assert sum(faults.values()) > 0
    assert kills >= KILLS - 1, "the worker should be killed several times"
    assert kills_in_flight >= kills - 1, "the kills should land mid-batch"
    report(
        "faults",
        {
            "images": IMAGES,
            "s3_requests_through_proxy": proxy.counts["requests"],
            "faults_injected": faults,
            "fault_rate": FAULT_RATE,
            "emulator_errors": proxy.counts["upstream_error"],
            "worker_kills": kills,
            "kills_with_messages_in_flight": kills_in_flight,
            "visibility_timeout_s": VISIBILITY_S,
            "drain_s": round(drain, 1),
            "batches_completed": logs.count("record(s):"),
            "batches_with_records_left_for_retry": logs.count("left for retry"),
            "dead_letters": 0,
        },
    )
