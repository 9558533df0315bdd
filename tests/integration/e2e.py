"""Helpers shared by the end-to-end tests (importable: pytest puts this folder on sys.path)."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from resizer_tools.local.mapping import MappingConfig, publish_configuration
from resizer_tools.local.stack import LocalStack
from resizer_tools.ops.aws import Aws, StackResources

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"


class FollowedStack(LocalStack):
    """The local stack on a free port whose poller records, in :attr:`versions_seen`,
    each configuration it follows ``live`` to (a context manager, as ``LocalStack``)."""

    def __init__(self, stack_name: str, parameters: Mapping[str, str] | None = None) -> None:
        self.versions_seen: list[MappingConfig] = []
        super().__init__(
            TEMPLATE,
            port=0,
            stack_name=stack_name,
            parameters=parameters,
            on_version=self.versions_seen.append,
        )


def wait_for(condition: Callable[[], Any], timeout: float = 20, what: str = "the condition") -> Any:
    """Poll ``condition`` until it returns something truthy; fail with ``what`` if never."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def jpeg(width: int = 1200, height: int = 900, colour: str = "teal") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def keys(aws: Aws, bucket: str, prefix: str = "") -> set[str]:
    response = aws.s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return {item["Key"] for item in response.get("Contents", [])}


def renditions_of(aws: Aws, stack: StackResources, key: str) -> set[str]:
    names = ("thumbnails", "medium", "large")
    present = keys(aws, stack.destination_bucket)
    return {f"{name}/{key}" for name in names} & present


def publish_config(aws: Aws, function_name: str, **variables: str) -> str:
    """A stack update of the function's environment; the new version (see mapping)."""
    return publish_configuration(aws, function_name, variables)
