"""Fixtures for the reliability tests: moto's server on 127.0.0.1 and fresh stacks.

The handler runs exactly as in tests/functional (its ``emulated_aws`` helpers are
reused), but stacks here are module-scoped: a corpus of ~90 inputs is uploaded
once, drained through the handler in Lambda-sized batches, then checked case by case.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "functional"))

from emulated_aws import Stack
from stacks import build_stack

from resizer import handler


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def stack(moto_endpoint: str) -> Iterator[Stack]:
    with pytest.MonkeyPatch.context() as mp:
        yield build_stack(mp, moto_endpoint)
        handler.runtime.cache_clear()
