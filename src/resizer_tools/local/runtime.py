"""One Lambda container of the function, played in this process.

What the Lambda runtime does around the handler, configured from the deployed
function version (:class:`~resizer_tools.local.mapping.MappingConfig`): the function's
environment in ``os.environ`` (Lambda's own variables, the version's, then the
caller's; set when the container starts and restored when it stops), its settings
read as its cold start will read them (a bad value refused at once), the handler
imported fresh (:func:`cold_start`), and each invocation timed against the
function's ``Timeout`` (a result that comes too late never reaches the caller).

``os.environ`` is the process's: one container per process, then.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from resizer.config import Settings, usable_cpus
from resizer.errors import ConfigurationError
from resizer_tools.local.lambda_event import LambdaContext
from resizer_tools.local.mapping import MappingConfig
from resizer_tools.ops.aws import LOCAL_CREDENTIALS, Aws

__all__ = ["Container", "Handler", "Invocation", "cold_start"]

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass(frozen=True)
class Invocation:
    """One invocation as its caller sees it: the response, or the error that replaced it."""

    request_id: str
    response: Any
    error: str  # "" when the handler returned in time
    ms: float


class Container:
    """The function's version ``config`` in this process: its environment and handler.

    ``handler`` given: that function is invoked whatever the version names (tests).
    """

    def __init__(
        self,
        aws: Aws,
        config: MappingConfig,
        *,
        handler: Handler | None = None,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        self._aws = aws
        self.config = config
        self._handler = handler
        self._fixed_handler = handler is not None
        self._extra_environment = dict(environment or {})
        self._saved_environment: dict[str, str | None] = {}

    def start(self) -> None:
        """The cold start: the environment set, the settings checked, the handler loaded."""
        self._set_environment()
        self._check_settings()
        if self._handler is None:
            self._handler = cold_start(self.config.handler)

    def stop(self) -> None:
        """``os.environ`` as it was before :meth:`start`."""
        self._restore_environment()

    def switch(self, config: MappingConfig) -> None:
        """Another version: its environment and a fresh handler module (a new container)."""
        self._restore_environment()
        self.config = config
        self._set_environment()
        if not self._fixed_handler:
            try:
                self._handler = cold_start(config.handler)
            except ConfigurationError as error:
                # As a Lambda init failure: every invocation of this version fails.
                self._handler = _failing(error)

    def invoke(self, event: dict[str, Any]) -> Invocation:
        """Run the handler on ``event``; an exception or a timeout is the error."""
        config = self.config
        context = self.context()
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
        return Invocation(context.aws_request_id, response, error, elapsed * 1000)

    def invoke_once(self, event: Mapping[str, Any]) -> Any:
        """A cold start, one invocation of this version's handler, the environment
        restored after it (what ``resizer invoke`` does)."""
        self._set_environment()
        try:
            self._check_settings()
            handler = cold_start(self.config.handler)
            return handler(dict(event), self.context())
        finally:
            self._restore_environment()

    def context(self) -> LambdaContext:
        """A new invocation's context: its request id, log stream and deadline."""
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


def cold_start(handler_path: str) -> Handler:
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
