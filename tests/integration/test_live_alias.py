"""The local stack deployed with ``--parameter`` overrides, and the poller following ``live``.

On AWS a stack update that changes RENDITIONS updates the function's configuration,
publishes a version and moves the ``live`` alias to it; the mapping invokes the alias,
so the next upload runs the new version. The same three calls on the running local
stack must change what the next upload gets, and nothing before the alias moves.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from e2e import FollowedStack, jpeg, keys, publish_config, wait_for
from PIL import Image

from resizer_tools.ops.aws import Aws, StackResources

pytestmark = pytest.mark.integration

FIRST = "small=200x200"
SECOND = "small=100x100,big=400x400"


@pytest.fixture(scope="module")
def stack() -> Iterator[FollowedStack]:
    with FollowedStack("resizer-alias", {"Renditions": FIRST, "JpegQuality": "70"}) as local:
        yield local


def _size(aws: Aws, bucket: str, key: str) -> tuple[int, int]:
    body = aws.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with Image.open(io.BytesIO(body)) as image:
        return image.size


def _upload_and_wait(aws: Aws, resources: StackResources, key: str, expected: set[str]) -> None:
    aws.s3.put_object(Bucket=resources.source_bucket, Key=key, Body=jpeg(1200, 900))
    wait_for(
        lambda: expected <= keys(aws, resources.destination_bucket),
        what=f"{sorted(expected)}",
    )


def test_parameters_reach_the_function_the_alias_and_the_poller(stack: FollowedStack) -> None:
    assert stack.poller is not None
    assert stack.aws is not None
    config = stack.poller.config
    assert config.alias == "live"
    assert config.function_arn.endswith(":live")
    assert config.function_version == "1"
    assert config.environment["RENDITIONS"] == FIRST
    assert config.environment["JPEG_QUALITY"] == "70"
    # What the poller reads is what the version holds, not a copy made by the stack.
    version = stack.aws.lambda_.get_function_configuration(
        FunctionName=config.function_name, Qualifier="live"
    )
    assert version["Environment"]["Variables"]["RENDITIONS"] == FIRST


def test_the_next_upload_uses_the_version_live_moves_to(stack: FollowedStack) -> None:
    assert stack.poller is not None
    assert stack.aws is not None
    assert stack.resources is not None
    aws, resources, name = stack.aws, stack.resources, stack.poller.config.function_name
    destination = resources.destination_bucket

    _upload_and_wait(aws, resources, "alias/before.jpg", {"small/alias/before.jpg"})
    assert _size(aws, destination, "small/alias/before.jpg") == (200, 150)

    # The stack update, as CloudFormation does it: configuration, version, alias; but
    # first only the configuration ($LATEST): live has not moved, uploads get version 1.
    current = aws.lambda_.get_function_configuration(FunctionName=name)
    variables = {k: str(v) for k, v in current["Environment"]["Variables"].items()}
    aws.lambda_.update_function_configuration(
        FunctionName=name, Environment={"Variables": {**variables, "RENDITIONS": SECOND}}
    )
    _upload_and_wait(aws, resources, "alias/latest-only.jpg", {"small/alias/latest-only.jpg"})
    assert _size(aws, destination, "small/alias/latest-only.jpg") == (200, 150)
    assert "big/alias/latest-only.jpg" not in keys(aws, destination)

    version = publish_config(aws, name, RENDITIONS=SECOND)
    seen = stack.versions_seen
    wait_for(lambda: seen, what=f"the poller to follow live to version {version}")
    assert [c.function_version for c in seen] == [version]
    assert seen[0].environment["RENDITIONS"] == SECOND
    assert stack.poller.config == seen[0]

    _upload_and_wait(
        aws, resources, "alias/after.jpg", {"small/alias/after.jpg", "big/alias/after.jpg"}
    )
    assert _size(aws, destination, "small/alias/after.jpg") == (100, 75)
    assert _size(aws, destination, "big/alias/after.jpg") == (400, 300)

    # Rolling back is moving the alias back: the old configuration again.
    aws.lambda_.update_alias(FunctionName=name, Name="live", FunctionVersion="1")
    wait_for(lambda: len(seen) == 2, what="the poller to follow live back to version 1")
    assert seen[1].function_version == "1"
    assert seen[1].environment["RENDITIONS"] == FIRST
    _upload_and_wait(aws, resources, "alias/rolled-back.jpg", {"small/alias/rolled-back.jpg"})
    assert _size(aws, destination, "small/alias/rolled-back.jpg") == (200, 150)
    assert "big/alias/rolled-back.jpg" not in keys(aws, destination)
