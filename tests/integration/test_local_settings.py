"""Changing the settings of a running local stack, as a stack update changes them on AWS.

Two halves (issue 18 item 9):

* the emulator answers as Lambda does: ``Environment.Variables`` values are strings
  (Lambda API reference, Environment: "Variables: Environment variable key-value
  pairs", a map of String to String,
  https://docs.aws.amazon.com/lambda/latest/api/API_EnvironmentResponse.html), so the
  usual read-modify-write (``update-function-configuration`` with what was read) passes
  botocore's validation;
* ``resizer local set KEY=VALUE ...`` publishes a new version with the change, moves
  ``live`` to it, and the running poller renders the next upload with it; a value the
  function would refuse, or an unknown key, changes nothing and exits 2.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from e2e import TEMPLATE, FollowedStack, jpeg, keys, wait_for
from PIL import Image
from typer.testing import CliRunner

from resizer.layout import rendition_key
from resizer_tools.cli.app import app
from resizer_tools.ops.aws import Aws, StackResources

pytestmark = pytest.mark.integration

#: Two renditions: the value holds a comma (the AWS CLI's shorthand would split it).
LADDER = "small=100x100,big=300x300:format=jpeg+webp"


@pytest.fixture(scope="module")
def stack() -> Iterator[FollowedStack]:
    with FollowedStack("resizer-settings") as local:
        yield local


def _parts(stack: FollowedStack) -> tuple[Aws, StackResources, str]:
    assert stack.aws is not None
    assert stack.resources is not None
    return stack.aws, stack.resources, stack.resources.function_name


def _set(stack: FollowedStack, *pairs: str) -> tuple[int, str]:
    _, resources, _ = _parts(stack)
    result = CliRunner().invoke(
        app,
        [
            "local",
            "set",
            *pairs,
            "--endpoint",
            stack.endpoint_url,
            "--stack-name",
            resources.stack_name,
            "--template",
            str(TEMPLATE),
        ],
    )
    return result.exit_code, " ".join(result.output.split())


def _live(aws: Aws, name: str) -> str:
    return str(aws.lambda_.get_alias(FunctionName=name, Name="live")["FunctionVersion"])


def test_environment_values_read_back_as_strings(stack: FollowedStack) -> None:
    aws, _, name = _parts(stack)
    for qualifier in ("$LATEST", _live(aws, name)):
        read = aws.lambda_.get_function_configuration(FunctionName=name, Qualifier=qualifier)
        variables = read["Environment"]["Variables"]
        # JPEG_QUALITY and MAX_INPUT_* come from Number parameters: ints in moto before.
        assert variables["JPEG_QUALITY"] == "85"
        assert {k: type(v) for k, v in variables.items() if not isinstance(v, str)} == {}


def test_read_modify_write_of_the_environment_works(stack: FollowedStack) -> None:
    """What an operator (or a script) does with the AWS CLI or boto3: read, change, write."""
    aws, _, name = _parts(stack)
    read = aws.lambda_.get_function_configuration(FunctionName=name)
    variables = read["Environment"]["Variables"]
    written = aws.lambda_.update_function_configuration(
        FunctionName=name, Environment={"Variables": variables}
    )
    assert written["Environment"]["Variables"] == variables


def test_local_set_publishes_moves_live_and_the_poller_runs_it(stack: FollowedStack) -> None:
    aws, resources, name = _parts(stack)
    seen = stack.versions_seen
    before = _live(aws, name)

    code, output = _set(stack, f"RENDITIONS={LADDER}", "JpegQuality=70")

    assert code == 0, output
    version = _live(aws, name)
    assert version != before
    assert f"version {version} published" in output
    published = aws.lambda_.get_function_configuration(FunctionName=name, Qualifier=version)
    variables = published["Environment"]["Variables"]
    assert (variables["RENDITIONS"], variables["JPEG_QUALITY"]) == (LADDER, "70")
    wait_for(
        lambda: seen and seen[-1].function_version == version,
        what=f"the poller to follow live to version {version}",
    )

    aws.s3.put_object(Bucket=resources.source_bucket, Key="set/photo.jpg", Body=jpeg(1200, 900))
    expected = {
        rendition_key("set/photo.jpg", "small"),
        rendition_key("set/photo.jpg", "big"),
        rendition_key("set/photo.jpg", "big", ".webp"),
    }
    wait_for(lambda: expected <= keys(aws, resources.destination_bucket), what=str(expected))
    body = aws.s3.get_object(Bucket=resources.destination_bucket, Key="small/set/photo.jpg")
    with Image.open(io.BytesIO(body["Body"].read())) as image:
        assert image.size == (100, 75)

    # The same values again: nothing changes, nothing is published (as CloudFormation).
    code, output = _set(stack, f"Renditions={LADDER}")
    assert code == 0, output
    assert "no change" in output
    assert _live(aws, name) == version


@pytest.mark.parametrize(
    ("pair", "reason"),
    [
        ("RENDITIONS=small=100", "small=100"),
        ("JPEG_QUALITY=0", "JPEG_QUALITY"),
        ("JpegQuality=1000", "MaxValue"),
        ("NO_SUCH_SETTING=1", "not a setting of the function"),
        ("MemorySize=2048", "redeploy"),
        ("novalue", "KEY=VALUE"),
    ],
)
def test_a_refused_value_changes_nothing(stack: FollowedStack, pair: str, reason: str) -> None:
    aws, _, name = _parts(stack)
    before = _live(aws, name)
    code, output = _set(stack, pair)
    assert code == 2, output
    assert reason in output
    assert _live(aws, name) == before


def test_a_value_changed_on_latest_alone_is_not_published(stack: FollowedStack) -> None:
    """As a stack update, which writes the whole environment: what runs (live) plus the
    change, not whatever $LATEST holds."""
    aws, _, name = _parts(stack)
    latest = aws.lambda_.get_function_configuration(FunctionName=name)["Environment"]
    aws.lambda_.update_function_configuration(
        FunctionName=name,
        Environment={"Variables": {**latest["Variables"], "WEBP_QUALITY": "11"}},
    )
    live = aws.lambda_.get_function_configuration(FunctionName=name, Qualifier="live")
    assert live["Environment"]["Variables"].get("WEBP_QUALITY") != "11"
    code, output = _set(stack, "AVIF_QUALITY=60")
    assert code == 0, output
    published = aws.lambda_.get_function_configuration(FunctionName=name, Qualifier="live")
    variables = published["Environment"]["Variables"]
    assert variables["AVIF_QUALITY"] == "60"
    assert variables.get("WEBP_QUALITY") == live["Environment"]["Variables"].get("WEBP_QUALITY")
