"""The local stack's function: logs shipped like Lambda's, settings checked before ready,
`resizer invoke` on an event file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from e2e import TEMPLATE, jpeg, renditions_of, wait_for
from typer.testing import CliRunner

from resizer.errors import ConfigurationError
from resizer.notifications import created_record, notification_body
from resizer_tools.cli.app import app
from resizer_tools.local.stack import LocalStack
from resizer_tools.ops.aws import Aws, StackResources
from resizer_tools.ops.dead_letters import Filter, dead_letters
from resizer_tools.ops.logs import follow, log_group

_RESIZER = [sys.executable, "-c", "from resizer_tools.cli import main; main()"]


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
        [
            "logs",
            "--since",
            "5m",
            "--endpoint",
            local_stack.endpoint_url,
            "-s",
            resources.stack_name,
        ],
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


def test_invoke_runs_the_handler_once_with_the_stacks_configuration(
    local_stack: LocalStack, aws: Aws, resources: StackResources, tmp_path: Path
) -> None:
    key = "it/invoke/never-uploaded.jpg"
    event = tmp_path / "event.json"
    event.write_text(notification_body([created_record(resources.source_bucket, key)]))
    options = ["--endpoint", local_stack.endpoint_url, "-s", resources.stack_name]
    # In a process of its own, as from a shell: stdout must hold the response alone
    # (the function's log lines and metrics go to stderr).
    done = subprocess.run(
        [*_RESIZER, "invoke", "--event", str(event), *options],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"batchItemFailures": []}
    assert "SourceGoneError" in done.stderr
    # The handler ran with the stack's environment: the permanent failure is on its DLQ.
    letters = dead_letters(aws, resources, where=Filter(key_prefix=key))
    assert [letter.error_type for letter in letters] == ["SourceGoneError"]

    event.write_text('{"Records": [{"eventSource": "aws:sns"}]}')
    result = CliRunner().invoke(app, ["invoke", "--event", str(event), *options])
    assert result.exit_code == 2
    assert "aws:sns" in result.output
