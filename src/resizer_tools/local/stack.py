"""``resizer local up``: the emulator, the deployed template and the poller, together."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path

from resizer_tools.local.deploy import Deployment, deploy
from resizer_tools.local.emulator import Emulator, Service
from resizer_tools.local.function_logs import LogShipper, attach, detach
from resizer_tools.local.parameters import check_overrides
from resizer_tools.local.poller import BatchResult, MappingConfig, Poller
from resizer_tools.local.template import Template
from resizer_tools.ops.aws import DEFAULT_STACK_NAME, Aws, StackResources
from resizer_tools.ops.logs import log_group

__all__ = ["LocalStack"]


class LocalStack(Service):
    """Start with :meth:`start` (or ``with``); everything runs in this process."""

    def __init__(
        self,
        template_path: Path,
        *,
        port: int = 0,
        stack_name: str = DEFAULT_STACK_NAME,
        # Template parameter overrides (checked against the template's constraints).
        parameters: Mapping[str, str] | None = None,
        environment: Mapping[str, str] | None = None,
        on_batch: Callable[[BatchResult], None] | None = None,
        on_version: Callable[[MappingConfig], None] | None = None,
        poller: bool = True,
        # Show the function's JSON log lines as `time LEVEL message` (for a terminal).
        readable_logs: bool = False,
    ) -> None:
        self._template_path = template_path
        self._stack_name = stack_name
        self._parameters = dict(parameters or {})
        self._environment = dict(environment or {})
        self._on_batch = on_batch
        self._on_version = on_version
        self._with_poller = poller
        self._readable_logs = readable_logs
        self._shipper: LogShipper | None = None
        self.emulator = Emulator(port)
        self.poller: Poller | None = None
        self.deployment: Deployment | None = None
        self.resources: StackResources | None = None
        self.aws: Aws | None = None
        self.seconds = 0.0

    @property
    def endpoint_url(self) -> str:
        return self.emulator.endpoint_url

    def start(self) -> LocalStack:
        started = time.monotonic()
        template = Template.load(self._template_path)
        check_overrides(self._parameters, template)
        self.emulator.start()
        try:
            self.aws = Aws(self.emulator.endpoint_url)
            self.deployment = deploy(self.aws, template, self._stack_name, self._parameters)
            self.resources = self.aws.stack(self._stack_name)
            if self._with_poller:
                config = MappingConfig.discover(self.aws, self.resources)
                self.poller = Poller(
                    self.aws,
                    config,
                    environment=self._environment,
                    on_batch=self._on_batch,
                    on_version=self._on_version,
                )
                self.poller.start()
                # After the cold start, which configures the function's logger.
                self._shipper = attach(
                    self.aws, log_group(self.resources), readable=self._readable_logs
                )
        except BaseException:
            self.stop()
            raise
        self.seconds = time.monotonic() - started
        return self

    def stop(self) -> None:
        if self.poller is not None:
            self.poller.stop()
            self.poller = None
        if self._shipper is not None:
            detach(self._shipper)
            self._shipper = None
        self.emulator.stop()
