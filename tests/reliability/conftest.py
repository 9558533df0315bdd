"""Fixtures for the reliability tests: moto's server on 127.0.0.1 and fresh stacks.

The handler runs exactly as in tests/functional (its ``emulated_aws`` helpers are
reused), but stacks here are module-scoped: a corpus of ~90 inputs is uploaded
once, drained through the handler in Lambda-sized batches, then checked case by case.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from emulated_aws import Stack, build_stack, moto_server

from resizer import handler


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def stack(moto_endpoint: str) -> Iterator[Stack]:
    with pytest.MonkeyPatch.context() as mp:
        yield build_stack(mp, moto_endpoint)
        handler.runtime.cache_clear()
