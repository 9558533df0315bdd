"""After a config change, what starts later runs the version ``live`` points to
(issue 22 item 11): ``resizer invoke`` and a (re)started ``resizer local worker``.

A stack update publishes version 2 and moves ``live`` to it. moto records the version
the mapping was created on (1), not the alias: read naively, everything started after
the update ran version 1's configuration and wrote old-config renditions over current
ones. Here nothing polls (the stack runs without its poller), so each check sees only
what the command under test wrote.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e import TEMPLATE, jpeg, keys, publish_config
from PIL import Image
from typer.testing import CliRunner

from resizer.notifications import created_record, notification_body
from resizer_tools.cli.app import app
from resizer_tools.local.mapping import MappingConfig
from resizer_tools.local.stack import LocalStack

pytestmark = pytest.mark.integration

FIRST = "small=200x200"
SECOND = "small=100x100,big=400x400"


@pytest.fixture(scope="module")
def updated() -> Iterator[tuple[LocalStack, str]]:
    """A stack deployed with FIRST, then updated to SECOND (live -> the new version)."""
    stack = LocalStack(
        TEMPLATE,
        port=0,
        stack_name="resizer-live-after",
        parameters={"Renditions": FIRST},
        poller=False,
    )
    stack.start()
    try:
        assert stack.aws is not None
        assert stack.resources is not None
        version = publish_config(stack.aws, stack.resources.function_name, RENDITIONS=SECOND)
        assert version != "1"
        yield stack, version
    finally:
        stack.stop()


def test_a_worker_started_after_the_update_runs_the_version_live_points_to(
    updated: tuple[LocalStack, str],
) -> None:
    stack, version = updated
    assert stack.aws is not None
    assert stack.resources is not None
    # What `resizer local worker` (and `resizer invoke`) start from.
    config = MappingConfig.discover(stack.aws, stack.resources)
    assert config.alias == "live"
    assert config.function_version == version
    assert config.environment["RENDITIONS"] == SECOND
    assert config.function_arn.endswith(":live")


def test_invoke_after_the_update_writes_the_current_configs_renditions(
    updated: tuple[LocalStack, str], tmp_path: Path
) -> None:
    stack, _ = updated
    aws, resources = stack.aws, stack.resources
    assert aws is not None
    assert resources is not None
    key = "after/photo.jpg"
    aws.s3.put_object(Bucket=resources.source_bucket, Key=key, Body=jpeg(1200, 900))
    event = tmp_path / "event.json"
    event.write_text(notification_body([created_record(resources.source_bucket, key)]))
    result = CliRunner().invoke(
        app,
        [
            "invoke",
            "--event",
            str(event),
            "--endpoint",
            stack.endpoint_url,
            "-s",
            resources.stack_name,
        ],
    )
    assert result.exit_code == 0, result.output
    written = keys(aws, resources.destination_bucket)
    assert {f"small/{key}", f"big/{key}"} <= written
    body = aws.s3.get_object(Bucket=resources.destination_bucket, Key=f"small/{key}")["Body"]
    with Image.open(io.BytesIO(body.read())) as image:
        assert image.size == (100, 75)  # SECOND's small, not FIRST's 200x150
