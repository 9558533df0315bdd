"""The Lambda event source mapping for SQS, played locally and faithfully.

Configured from the deployed mapping and function (never from constants here):
``BatchSize``, ``MaximumBatchingWindowInSeconds``, ``ScalingConfig.MaximumConcurrency``
(that many concurrent invocations), the function's ``Handler``, ``Timeout``,
``MemorySize`` and environment variables. Like Lambda it long-polls, builds SQS
events in Lambda's record format, deletes only the successes of a partial batch
response, leaves failures to come back after the visibility timeout (redrive to
the dead-letter queue is the queue's own), and fails the whole batch when the
invocation raises, times out or returns an invalid ``batchItemFailures``.

The handler runs in this process, with the function's environment in
``os.environ`` (as the Lambda runtime does); the variables are set when the poller
starts and restored when it stops. One poller per process, then.
"""

from __future__ import annotations

import base64
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

from resizer.errors import ConfigurationError
from resizer_tools.ops.aws import LOCAL_CREDENTIALS, Aws, StackResources

__all__ = ["BatchResult", "LambdaContext", "MappingConfig", "Poller"]

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]

# AWS polls with at most 10 messages per ReceiveMessage and long polls for 20 s;
# a shorter wait here only bounds how long stop() takes.
_MAX_RECEIVE = 10
_DEFAULT_CONCURRENCY = 5  # ScalingConfig absent: AWS scales up to 1,250; a laptop cannot.


@dataclass(frozen=True)
class MappingConfig:
    """One event source mapping and the function it invokes, as deployed."""

    uuid: str
    queue_url: str
    queue_arn: str
    function_arn: str  # what the mapping invokes (the alias ARN)
    function_name: str
    function_version: str
    handler: str
    timeout_s: int
    memory_mb: int
    environment: Mapping[str, str]
    batch_size: int
    batching_window_s: int
    concurrency: int
    report_batch_item_failures: bool
    region: str

    @classmethod
    def discover(cls, aws: Aws, stack: StackResources) -> MappingConfig:
        """The mapping on the stack's queue (enabled or not: locally it is kept disabled)."""
        queue_arn = aws.sqs.get_queue_attributes(
            QueueUrl=stack.queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        mappings = [
            m
            for m in aws.lambda_.list_event_source_mappings()["EventSourceMappings"]
            if m.get("EventSourceArn") == queue_arn
        ]
        if not mappings:
            raise ConfigurationError(
                f"no event source mapping reads {queue_arn}; deploy the stack with "
                "`resizer local up` (it creates the mapping from the template)"
            )
        mapping = mappings[0]
        function = aws.lambda_.get_function_configuration(FunctionName=mapping["FunctionArn"])
        scaling = mapping.get("ScalingConfig") or {}
        return cls(
            uuid=mapping["UUID"],
            queue_url=stack.queue_url,
            queue_arn=queue_arn,
            function_arn=mapping["FunctionArn"],
            function_name=function["FunctionName"],
            function_version=function.get("Version", "$LATEST"),
            handler=function.get("Handler", "resizer.handler.lambda_handler"),
            timeout_s=int(function.get("Timeout", 3)),
            memory_mb=int(function.get("MemorySize", 128)),
            # str(): moto hands Number parameters back as ints.
            environment={
                name: str(value)
                for name, value in (
                    (function.get("Environment") or {}).get("Variables") or {}
                ).items()
            },
            batch_size=int(mapping.get("BatchSize", 10)),
            batching_window_s=int(mapping.get("MaximumBatchingWindowInSeconds", 0)),
            concurrency=int(scaling.get("MaximumConcurrency", _DEFAULT_CONCURRENCY)),
            report_batch_item_failures="ReportBatchItemFailures"
            in (mapping.get("FunctionResponseTypes") or []),
            region=aws.region,
        )


@dataclass
class LambdaContext:
    """What the Python runtime passes as ``context`` (awslambdaric's LambdaContext)."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: str  # a string in the real runtime too
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline: float  # time.monotonic() at which the invocation times out
    identity: Any = None
    client_context: Any = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


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
    ) -> None:
        self._aws = aws
        self.config = config
        self._handler = handler
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
        if self._handler is None:
            self._handler = _cold_start(self.config.handler)
        self._stopping.clear()
        for number in range(self.config.concurrency):
            thread = threading.Thread(target=self._run, name=f"esm-poller-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

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
                self._invoke(messages)

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


def to_lambda_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """An SQS ReceiveMessage message in Lambda's SQS event record format."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": {
            name: _lambda_attribute(value)
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def _lambda_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """SQS's ``StringValue`` casing -> Lambda's ``stringValue``; binaries base64-encoded."""
    attribute: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues") or []),
        "binaryListValues": [_b64(v) for v in value.get("BinaryListValues") or []],
        "dataType": value.get("DataType", "String"),
    }
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = _b64(value["BinaryValue"])
    return attribute


def _b64(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.b64encode(raw).decode("ascii")
