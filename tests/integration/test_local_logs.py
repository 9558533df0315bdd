"""The local stack's function logs and settings: shipped like Lambda's, checked before ready."""

from __future__ import annotations

import time

import pytest
from e2e import TEMPLATE, jpeg, renditions_of, wait_for
from typer.testing import CliRunner

from resizer.errors import ConfigurationError
from resizer_tools.cli.app import app
from resizer_tools.local.stack import LocalStack
from resizer_tools.ops.aws import Aws, StackResources
from resizer_tools.ops.logs import follow, log_group


def test_the_function_log_lines_reach_the_log_group_and_resizer_logs(
    local_stack: LocalStack, aws: Aws, resources: StackResources
) -> None:
    since = int(time.time() * 1000) - 1000
    key = "it/logs/photo.jpg"
    aws.s3.put_object(Bucket=resources.source_bucket, Key=key, Body=jpeg())
    wait_for(lambda: renditions_of(aws, resources, key) or None, what="the renditions")

    def logged() -> list[str] | None:
        lines = [
            line
            for _, line in follow(
                aws, log_group(resources), since_ms=since, keep_going=lambda: False
            )
        ]
        return lines if any(key in line for line in lines) else None

    lines = wait_for(logged, what="the function's line about the photo in its log group")
    assert any(line.startswith("{") and '"level"' in line for line in lines)  # JSON, as logged
    result = CliRunner().invoke(
        app,
        ["logs", "--since", "5m", "--endpoint", local_stack.endpoint_url, "-s", "resizer-it"],
    )
    assert result.exit_code == 0, result.output
    assert key in result.stdout


def test_a_bad_function_setting_stops_the_stack_before_ready() -> None:
    stack = LocalStack(
        TEMPLATE, port=0, stack_name="resizer-bad", environment={"JPEG_QUALITY": "500"}
    )
    with pytest.raises(ConfigurationError, match="JPEG_QUALITY") as raised:
        stack.start()
    assert len(raised.value.reason) < 300
    assert stack.poller is None
