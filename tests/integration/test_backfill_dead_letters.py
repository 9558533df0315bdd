"""``resizer backfill`` does not dead-letter again what is already dead-lettered (issue 18
item 8: the trial's DLQ went 11 -> 15 -> 19 over two backfills).

A source on the dead-letter queue with the same ETag, dead-lettered by the version
``live`` runs (the handler records it in ``FunctionVersion``), is skipped and counted;
a new ETag (the file replaced) or a new version (the settings changed) enqueues it again.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from e2e import FollowedStack, jpeg, keys, wait_for
from typer.testing import CliRunner

from resizer_tools.cli.app import app
from resizer_tools.local.settings import apply_settings
from resizer_tools.ops import dead_letters
from resizer_tools.ops.aws import Aws, StackResources
from resizer_tools.ops.prune import drained

pytestmark = pytest.mark.integration

GOOD, BAD = "dl/good.jpg", "dl/notes.jpg"


@pytest.fixture(scope="module")
def stack() -> Iterator[FollowedStack]:
    with FollowedStack("resizer-backfill-dl") as local:
        yield local


def _parts(stack: FollowedStack) -> tuple[Aws, StackResources]:
    assert stack.aws is not None
    assert stack.resources is not None
    return stack.aws, stack.resources


def _backfill(stack: FollowedStack) -> str:
    aws, resources = _parts(stack)
    where = ["--endpoint", stack.endpoint_url, "--stack-name", resources.stack_name]
    result = CliRunner().invoke(app, ["backfill", "--prefix", "dl/", *where])
    assert result.exit_code == 0, result.output
    assert drained(aws, resources, 60), "the queue did not empty"
    return " ".join(result.output.split())


def _letters(stack: FollowedStack) -> list[dead_letters.DeadLetter]:
    aws, resources = _parts(stack)
    return dead_letters.dead_letters(aws, resources)


def _live(stack: FollowedStack) -> str:
    aws, resources = _parts(stack)
    alias = aws.lambda_.get_alias(FunctionName=resources.function_name, Name="live")
    return str(alias["FunctionVersion"])


def test_backfill_skips_what_the_live_version_already_dead_lettered(stack: FollowedStack) -> None:
    aws, resources = _parts(stack)
    aws.s3.put_object(Bucket=resources.source_bucket, Key=GOOD, Body=jpeg(600, 400))
    bad_etag = aws.s3.put_object(Bucket=resources.source_bucket, Key=BAD, Body=b"my notes")[
        "ETag"
    ].strip('"')
    wait_for(lambda: f"thumbnails/{GOOD}" in keys(aws, resources.destination_bucket))
    wait_for(lambda: _letters(stack), what="the dead letter of the broken file")
    (letter,) = _letters(stack)
    # What the handler records: the version that failed it, and the ETag in the event.
    assert (letter.source_key, letter.source_etag) == (BAD, bad_etag)
    assert letter.function_version == _live(stack)

    for _ in range(2):  # the trial: every backfill added the same dead letters again
        output = _backfill(stack)
        assert "enqueued 1 object(s)" in output
        assert "skipped 1 object(s) already on the dead-letter queue with the same ETag" in output
        assert letter.error_type in output
        assert len(_letters(stack)) == 1

    # Replaced (a new ETag): its upload is dead-lettered once, the old entry stays
    # and no longer matches; a backfill skips the new one.
    aws.s3.put_object(Bucket=resources.source_bucket, Key=BAD, Body=b"still not an image")
    wait_for(lambda: len(_letters(stack)) == 2, what="the replaced file's dead letter")
    output = _backfill(stack)
    assert "enqueued 1 object(s)" in output
    assert "skipped 1 object(s)" in output
    assert len(_letters(stack)) == 2


def test_a_new_version_enqueues_the_dead_lettered_sources_again(stack: FollowedStack) -> None:
    """A settings change (a new version) may fix what failed: the backfill tries it."""
    aws, resources = _parts(stack)
    before = len(_letters(stack))
    assert before >= 1
    change = apply_settings(aws, resources, {"MAX_INPUT_BYTES": "200000000"})
    seen = stack.versions_seen
    wait_for(lambda: seen and seen[-1].function_version == change.version, what="the poller")

    output = _backfill(stack)

    assert "enqueued 2 object(s)" in output
    assert "skipped" not in output
    # Still not an image: dead-lettered once more, by the new version, and only once.
    assert len(_letters(stack)) == before + 1
    assert "skipped 1 object(s)" in _backfill(stack)
    assert len(_letters(stack)) == before + 1
