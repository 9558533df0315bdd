"""Fixtures for the end-to-end tests: the local stack, started in this process.

Module-scoped, not session-scoped: the poller sets the function's environment in
``os.environ`` (AWS_ENDPOINT_URL among it) and must be stopped, and the environment
restored, before the test directories after this one run.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from e2e import TEMPLATE

from resizer_tools.local.stack import LocalStack
from resizer_tools.ops.aws import Aws, StackResources


@pytest.fixture(scope="module")
def local_stack(request: pytest.FixtureRequest) -> Iterator[LocalStack]:
    # moto's state is process-wide and outlives each emulator: a stack name per module.
    module = request.module.__name__.rpartition(".")[2].removeprefix("test_")
    stack = LocalStack(TEMPLATE, port=0, stack_name=f"it-{module.replace('_', '-')}")
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def aws(local_stack: LocalStack) -> Aws:
    assert local_stack.aws is not None
    return local_stack.aws


@pytest.fixture(scope="module")
def resources(local_stack: LocalStack) -> StackResources:
    assert local_stack.resources is not None
    return local_stack.resources
