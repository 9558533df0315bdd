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

The handler runs in this process, with the function's environment in
``os.environ`` (as the Lambda runtime does); the variables are set when the poller
starts and restored when it stops. One poller per process, then.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from resizer.config import Settings, usable_cpus
from resizer.errors import ConfigurationError
from resizer_tools.local.gate import VersionGate
from resizer_tools.local.lambda_event import LambdaContext, to_lambda_record
from resizer_tools.local.mapping import MappingConfig
from resizer_tools.ops.aws import LOCAL_CREDENTIALS, Aws

__all__ = ["BatchResult", "LambdaContext", "MappingConfig", "Poller"]

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]

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
        self.config = config
        self._handler = handler
        self._fixed_handler = handler is not None
        self._follow_seconds = follow_seconds
        self._on_version = on_version
        self._gate = VersionGate()
        self._extra_environment = dict(environment or {})
        self._wait_seconds = wait_seconds
        self._on_batch = on_batch
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._saved_environment: dict[str, str | None] = {}
        self.stats = PollerStats()

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._set_environment()
        self._check_settings()
        if self._handler is None:
            self._handler = _cold_start(self.config.handler)
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
            self._restore_environment()

    def __enter__(self) -> Poller:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ----------------------------------------------------------- the loop
    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                messages = self._receive_batch()
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
                    self._switch(moved)
                if self._on_version is not None:
                    self._on_version(moved)

    def _switch(self, config: MappingConfig) -> None:
        """The new version's environment and a fresh handler module: a new container."""
        self._restore_environment()
        self.config = config
        self._set_environment()
        if not self._fixed_handler:
            try:
                self._handler = _cold_start(config.handler)
            except ConfigurationError as error:
                # As a Lambda init failure: every invocation of this version fails.
                self._handler = _failing(error)

    def _receive_batch(self) -> list[dict[str, Any]]:
        """Long-poll; with a batching window, keep filling the batch until it closes."""
        config = self.config
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

    def _invoke(self, messages: list[dict[str, Any]]) -> None:
        config = self.config
        event = {
            "Records": [to_lambda_record(m, config.queue_arn, config.region) for m in messages]
        }
        ids = tuple(m["MessageId"] for m in messages)
        context = self._context()
        started = time.monotonic()
        error = ""
        response: Any = None
        assert self._handler is not None  # set in start()
        try:
            response = self._handler(event, context)
        except Exception as exc:  # the runtime reports it; the whole batch is retried
            error = f"{type(exc).__name__}: {exc}"
            log.exception(
                "invocation %s failed; the whole batch will be retried", context.aws_request_id
            )
        elapsed = time.monotonic() - started
        if not error and elapsed > config.timeout_s:
            # Lambda would have killed the invocation; its result never reaches the mapping.
            error = f"Task timed out after {config.timeout_s:.2f} seconds"
            log.error("invocation %s: %s", context.aws_request_id, error)
        failed = set(ids) if error else self._failures(ids, response, context.aws_request_id)
        succeeded = [m for m in messages if m["MessageId"] not in failed]
        self._delete(succeeded)
        result = BatchResult(
            request_id=context.aws_request_id,
            message_ids=ids,
            succeeded=tuple(m["MessageId"] for m in succeeded),
            failed=tuple(i for i in ids if i in failed),
            ms=elapsed * 1000,
            error=error,
        )
        self.stats.add(result)
        if self._on_batch is not None:
            self._on_batch(result)

    def _failures(self, ids: tuple[str, ...], response: Any, request_id: str) -> set[str]:
        """The message ids to leave on the queue, by Lambda's rules for partial responses."""
        if not self.config.report_batch_item_failures or not response:
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

    def _delete(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), _MAX_RECEIVE):
            chunk = messages[start : start + _MAX_RECEIVE]
            response = self._aws.sqs.delete_message_batch(
                QueueUrl=self.config.queue_url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(chunk)
                ],
            )
            for failure in response.get("Failed", []):
                log.warning("could not delete a processed message: %s", failure.get("Message"))

    def _context(self) -> LambdaContext:
        config = self.config
        return LambdaContext(
            function_name=config.function_name,
            function_version=config.function_version,
            invoked_function_arn=config.function_arn,
            memory_limit_in_mb=str(config.memory_mb),
            aws_request_id=str(uuid.uuid4()),
            log_group_name=f"/aws/lambda/{config.function_name}",
            log_stream_name=f"local/[{config.function_version}]{uuid.uuid4().hex}",
            deadline=time.monotonic() + config.timeout_s,
        )

    # -------------------------------------------------------- environment
    def _set_environment(self) -> None:
        config = self.config
        lambda_variables = {
            "AWS_REGION": config.region,
            "AWS_DEFAULT_REGION": config.region,
            "AWS_LAMBDA_FUNCTION_NAME": config.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": config.function_version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{config.function_name}",
            # Lambda's default is one render per vCPU of each container; here every
            # concurrent invocation shares one process and this machine's cores.
            "RENDER_CONCURRENCY": str(usable_cpus()),
        }
        if self._aws.endpoint_url:
            # The handler's own boto3 clients must reach the emulator, not AWS.
            lambda_variables.update(
                AWS_ENDPOINT_URL=self._aws.endpoint_url,
                AWS_ACCESS_KEY_ID=LOCAL_CREDENTIALS["aws_access_key_id"],
                AWS_SECRET_ACCESS_KEY=LOCAL_CREDENTIALS["aws_secret_access_key"],
            )
        variables = {**lambda_variables, **config.environment, **self._extra_environment}
        self._saved_environment = {name: os.environ.get(name) for name in variables}
        os.environ.update(variables)

    def invoke_once(self, event: Mapping[str, Any]) -> Any:
        """Run the handler once on ``event`` with this version's environment (no polling).

        What ``resizer invoke`` does: a cold start, one invocation, the environment
        restored after it. Nothing is deleted from the queue.
        """
        self._set_environment()
        try:
            self._check_settings()
            handler = _cold_start(self.config.handler)
            return handler(dict(event), self._context())
        finally:
            self._restore_environment()

    def _check_settings(self) -> None:
        """The function's settings, read as its cold start will: refused before ``ready``.

        Otherwise a bad value (``RENDITIONS``...) only shows as a traceback logged on
        every invocation.
        """
        try:
            Settings.from_env()
        except ConfigurationError as error:
            self._restore_environment()
            raise ConfigurationError(
                f"function {self.config.function_name}: {error.reason}"
            ) from None

    def _restore_environment(self) -> None:
        for name, value in self._saved_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_environment = {}


def _cold_start(handler_path: str) -> Handler:
    """Import the function's handler as a new Lambda container would: a fresh module.

    A handler module already imported in this process (tests, a previous poller)
    caches settings and clients from another environment; it is reloaded.
    """
    module_name, _, function_name = handler_path.rpartition(".")
    if not module_name:
        raise ConfigurationError(f"function handler {handler_path!r} is not 'module.function'")
    if module_name != "resizer" and not module_name.startswith("resizer."):
        # The handler name comes from the endpoint's function configuration: import
        # nothing but this package's own code on its say-so.
        raise ConfigurationError(
            f"function handler {handler_path!r} is not in the resizer package; "
            "the local poller only runs resizer's handlers"
        )
    try:
        if module_name in sys.modules:
            module = importlib.reload(sys.modules[module_name])
        else:
            module = importlib.import_module(module_name)
        handler: Handler = getattr(module, function_name)
    except (ImportError, AttributeError) as error:
        raise ConfigurationError(
            f"cannot load the function's handler {handler_path!r}: {error}"
        ) from None
    return handler


def _failing(error: Exception) -> Handler:
    def handler(event: dict[str, Any], context: Any) -> Any:
        raise error

    return handler
