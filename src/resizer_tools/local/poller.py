"""The Lambda event source mapping for SQS, played locally and faithfully.

Configured from the deployed mapping and function (never from constants here):
``BatchSize``, ``MaximumBatchingWindowInSeconds``, ``ScalingConfig.MaximumConcurrency``
(that many concurrent invocations), the function's ``Handler``, ``Timeout``,
``MemorySize`` and environment variables. Like Lambda it long-polls, builds SQS
events in Lambda's record format, deletes only the successes of a partial batch
response, leaves failures to come back after the visibility timeout (redrive to
the dead-letter queue is the queue's own), and fails the whole batch when the
invocation raises, times out or returns an invalid ``batchItemFailures``.

The mapping invokes an alias (``live``): each invocation runs the version the alias
points to, with that version's configuration. A watcher thread re-reads the alias
every ``follow_seconds``; when it has moved (update-function-configuration +
publish-version + update-alias: what a stack update does), the poller lets the
invocations in flight finish, holds new ones, switches to the new version's
environment and handler (a cold start), and carries on.

The handler runs in this process, in a :class:`~resizer_tools.local.runtime.Container`
(the function's environment in ``os.environ``, as the Lambda runtime does; set when
the poller starts and restored when it stops). One poller per process, then.

Its jobs, one place each: :class:`_Queue` receives batches and deletes the
successes; :func:`_failures` reads a partial batch response by Lambda's rules; the
container invokes; :meth:`Poller._follow` follows the alias; :class:`PollerStats` and
``on_batch`` report each invocation; :class:`Poller` runs the threads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from resizer_tools.local.gate import VersionGate
from resizer_tools.local.lambda_event import LambdaContext, to_lambda_record
from resizer_tools.local.mapping import MappingConfig
from resizer_tools.local.runtime import Container, Handler
from resizer_tools.ops.aws import Aws

__all__ = ["BatchResult", "LambdaContext", "MappingConfig", "Poller"]

log = logging.getLogger(__name__)

# AWS polls with at most 10 messages per ReceiveMessage and long polls for 20 s;
# a shorter wait here only bounds how long stop() takes.
_MAX_RECEIVE = 10


@dataclass(frozen=True)
class BatchResult:
    """One invocation: what was sent, what was deleted, what is left for a retry."""

    request_id: str
    message_ids: tuple[str, ...]
    succeeded: tuple[str, ...]
    failed: tuple[str, ...]
    ms: float
    error: str = ""


@dataclass
class PollerStats:
    invocations: int = 0
    records: int = 0
    succeeded: int = 0
    failed: int = 0
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, result: BatchResult) -> None:
        with self.lock:
            self.invocations += 1
            self.records += len(result.message_ids)
            self.succeeded += len(result.succeeded)
            self.failed += len(result.failed)
            self.errors += bool(result.error)


class _Queue:
    """The mapping's side of the queue: long-polled batches in, the successes deleted."""

    def __init__(self, aws: Aws, wait_seconds: int, stopping: threading.Event) -> None:
        self._aws = aws
        self._wait_seconds = wait_seconds
        self._stopping = stopping

    def receive(self, config: MappingConfig) -> list[dict[str, Any]]:
        """Long-poll; with a batching window, keep filling the batch until it closes."""
        batch: list[dict[str, Any]] = []
        window_ends: float | None = None
        while len(batch) < config.batch_size and not self._stopping.is_set():
            wait = self._wait_seconds
            if window_ends is not None:
                left = window_ends - time.monotonic()
                if left <= 0:
                    break
                wait = min(wait, max(1, int(left)))
            response = self._aws.sqs.receive_message(
                QueueUrl=config.queue_url,
                MaxNumberOfMessages=min(_MAX_RECEIVE, config.batch_size - len(batch)),
                WaitTimeSeconds=wait,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            batch.extend(dict(m) for m in response.get("Messages", []))
            if batch and config.batching_window_s == 0:
                break
            if batch and window_ends is None:
                window_ends = time.monotonic() + config.batching_window_s
        return batch

    def delete(self, config: MappingConfig, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), _MAX_RECEIVE):
            chunk = messages[start : start + _MAX_RECEIVE]
            response = self._aws.sqs.delete_message_batch(
                QueueUrl=config.queue_url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(chunk)
                ],
            )
            for failure in response.get("Failed", []):
                log.warning("could not delete a processed message: %s", failure.get("Message"))


def _failures(
    config: MappingConfig, ids: tuple[str, ...], response: Any, request_id: str
) -> set[str]:
    """The message ids to leave on the queue, by Lambda's rules for partial responses."""
    if not config.report_batch_item_failures or not response:
        return set()
    items = response.get("batchItemFailures") if isinstance(response, dict) else None
    if not items:
        return set()
    failed = {item.get("itemIdentifier") if isinstance(item, dict) else None for item in items}
    if None in failed or "" in failed or not failed <= set(ids):
        # Lambda treats an unusable response as a failure of the whole batch.
        log.error("invocation %s returned invalid batchItemFailures %r", request_id, items)
        return set(ids)
    return {str(i) for i in failed}


class Poller:
    """``config.concurrency`` threads, each receiving a batch and invoking the handler."""

    def __init__(
        self,
        aws: Aws,
        config: MappingConfig,
        *,
        handler: Handler | None = None,
        environment: Mapping[str, str] | None = None,
        wait_seconds: int = 2,
        on_batch: Callable[[BatchResult], None] | None = None,
        follow_seconds: float = 1.0,
        on_version: Callable[[MappingConfig], None] | None = None,
    ) -> None:
        self._aws = aws
        self._container = Container(aws, config, handler=handler, environment=environment)
        self._follow_seconds = follow_seconds
        self._on_version = on_version
        self._gate = VersionGate()
        self._wait_seconds = wait_seconds
        self._on_batch = on_batch
        self._stopping = threading.Event()
        self._queue = _Queue(aws, wait_seconds, self._stopping)
        self._threads: list[threading.Thread] = []
        self.stats = PollerStats()

    @property
    def config(self) -> MappingConfig:
        """The mapping and the version it invokes now (it follows the alias)."""
        return self._container.config

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._container.start()
        self._stopping.clear()
        for number in range(self.config.concurrency):
            thread = threading.Thread(target=self._run, name=f"esm-poller-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)
        if self.config.alias is not None:
            watcher = threading.Thread(target=self._follow, name="esm-alias-watcher", daemon=True)
            watcher.start()
            self._threads.append(watcher)

    def stop(self, timeout: float | None = None) -> None:
        """Finish the invocations in flight, then stop; restores ``os.environ``."""
        self._stopping.set()
        limit = timeout if timeout is not None else self._wait_seconds + self.config.timeout_s
        deadline = time.monotonic() + limit
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = [t for t in self._threads if t.is_alive()]
        if not self._threads:
            self._container.stop()

    def __enter__(self) -> Poller:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def invoke_once(self, event: Mapping[str, Any]) -> Any:
        """Run the handler once on ``event`` with this version's environment (no polling).

        What ``resizer invoke`` does: a cold start, one invocation, the environment
        restored after it. Nothing is deleted from the queue.
        """
        return self._container.invoke_once(event)

    # ----------------------------------------------------------- the loop
    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                messages = self._queue.receive(self.config)
            except (BotoCoreError, ClientError) as error:
                if self._stopping.is_set():
                    return
                log.warning("receive failed, retrying in 1 s: %s", error)
                self._stopping.wait(1)
                continue
            if messages:
                with self._gate.shared():
                    self._invoke(messages)

    def _follow(self) -> None:
        """Re-read the alias; when it moved, switch to its version between invocations."""
        while not self._stopping.wait(self._follow_seconds):
            try:
                moved = self.config.follow(self._aws)
            except (BotoCoreError, ClientError) as error:
                log.warning("could not read the alias %s: %s", self.config.alias, error)
                continue
            if moved is not None:
                with self._gate.exclusive():
                    self._container.switch(moved)
                if self._on_version is not None:
                    self._on_version(moved)

    def _invoke(self, messages: list[dict[str, Any]]) -> None:
        """One invocation on ``messages``: the successes deleted, the result reported."""
        config = self.config
        event = {
            "Records": [to_lambda_record(m, config.queue_arn, config.region) for m in messages]
        }
        ids = tuple(m["MessageId"] for m in messages)
        call = self._container.invoke(event)
        failed = set(ids) if call.error else _failures(config, ids, call.response, call.request_id)
        succeeded = [m for m in messages if m["MessageId"] not in failed]
        self._queue.delete(config, succeeded)
        self._report(
            BatchResult(
                request_id=call.request_id,
                message_ids=ids,
                succeeded=tuple(m["MessageId"] for m in succeeded),
                failed=tuple(i for i in ids if i in failed),
                ms=call.ms,
                error=call.error,
            )
        )

    def _report(self, result: BatchResult) -> None:
        self.stats.add(result)
        if self._on_batch is not None:
            self._on_batch(result)
