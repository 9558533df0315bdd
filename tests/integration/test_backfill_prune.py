"""A config change, then ``resizer backfill`` and ``resizer backfill --prune``, end to end.

On the local stack, the config changed as a stack update changes it (the ``live``
alias moved to a new version): a backfill re-renders what is out of date and deletes
nothing; ``--prune`` then deletes the renditions of the dropped name and format.
"""

from __future__ import annotations

import io
import json

import pytest
from e2e import jpeg, keys, publish_config, wait_for
from PIL import Image
from typer.testing import CliRunner

from resizer.layout import manifest_key
from resizer_tools.cli.app import app
from resizer_tools.local.stack import LocalStack
from resizer_tools.ops.aws import Aws, StackResources

pytestmark = pytest.mark.integration

BEFORE = "small=200x200:format=original+webp,big=400x400"
AFTER = "small=100x100"


def _follow(stack: LocalStack, renditions: str) -> None:
    assert stack.aws is not None
    assert stack.poller is not None
    publish_config(stack.aws, stack.poller.config.function_name, RENDITIONS=renditions)
    wait_for(
        lambda: (
            stack.poller is not None
            and stack.poller.config.environment.get("RENDITIONS") == renditions
        ),
        what=f"the poller on RENDITIONS={renditions}",
    )


def _manifest(aws: Aws, bucket: str, key: str) -> dict[str, object] | None:
    try:
        body = aws.s3.get_object(Bucket=bucket, Key=manifest_key(key))["Body"].read()
    except aws.s3.exceptions.NoSuchKey:
        return None
    return dict(json.loads(body))


def _cli(stack: LocalStack, resources: StackResources, *arguments: str) -> str:
    result = CliRunner().invoke(
        app,
        [
            "backfill",
            "--endpoint",
            stack.endpoint_url,
            "--stack-name",
            resources.stack_name,
            *arguments,
        ],
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_backfill_rerenders_and_only_prune_deletes(
    local_stack: LocalStack, aws: Aws, resources: StackResources
) -> None:
    destination = resources.destination_bucket
    _follow(local_stack, BEFORE)
    aws.s3.put_object(Bucket=resources.source_bucket, Key="p/a.jpg", Body=jpeg(1200, 900))
    first = wait_for(lambda: _manifest(aws, destination, "p/a.jpg"), what="the first manifest")
    assert {"small/p/a.jpg", "_small/p/a.jpg.webp", "big/p/a.jpg"} <= keys(aws, destination)

    _follow(local_stack, AFTER)
    _cli(local_stack, resources, "--prefix", "p/")
    second = wait_for(
        lambda: (
            (m := _manifest(aws, destination, "p/a.jpg")) and m["config"] != first["config"] and m
        ),
        what="the manifest of the re-render",
    )
    assert [r["key"] for r in second["renditions"]] == ["small/p/a.jpg"]  # type: ignore[index]
    body = aws.s3.get_object(Bucket=destination, Key="small/p/a.jpg")["Body"].read()
    with Image.open(io.BytesIO(body)) as image:
        assert image.size == (100, 75)
    # Without --prune, a config change deletes nothing.
    assert {"_small/p/a.jpg.webp", "big/p/a.jpg"} <= keys(aws, destination)

    before = keys(aws, destination)
    output = _cli(local_stack, resources, "--prefix", "p/", "--prune", "--dry-run", "--wait", "60")
    assert "would prune 2 object(s)" in output
    assert "would delete _small/p/a.jpg.webp" in output
    assert "would delete big/p/a.jpg" in output
    assert keys(aws, destination) == before  # a dry run deletes nothing

    output = _cli(local_stack, resources, "--prefix", "p/", "--prune", "--wait", "60")
    assert "pruned 2 object(s)" in output
    assert keys(aws, destination, "big/p/") == set()
    assert keys(aws, destination, "small/p/") == {"small/p/a.jpg"}
    assert keys(aws, destination, "_small/p/") == set()
    assert manifest_key("p/a.jpg") in keys(aws, destination)
