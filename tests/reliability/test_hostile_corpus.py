"""Every hostile input, through the real handler on emulated S3 and SQS.

Each one ends as correct renditions (every box fitted, never upscaled, the right
Content-Type, metadata naming its source) or as a permanent failure on the DLQ
with ErrorType and a readable ErrorReason; never a crashed invocation, never a
transient failure (a retry) for bad input.
"""

from __future__ import annotations

import io
import json
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, unquote_plus

import pytest
from emulated_aws import Stack, build_stack
from hostile import CASES
from hostile_cases import Case
from invocations import Drained, dead_letters, drain
from PIL import Image

from resizer.config import Settings

#: The default RENDITIONS (config.py): rendition name -> box.
BOXES = {r.name: r.box for r in Settings().renditions}


def fit(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """Independent of resizer.imaging: the largest size inside ``box``, never upscaled."""
    scale = min(1.0, box[0] / size[0], box[1] / size[1])
    return (
        max(1, min(box[0], math.floor(size[0] * scale + 0.5))),
        max(1, min(box[1], math.floor(size[1] * scale + 0.5))),
    )


@dataclass
class Run:
    stack: Stack
    drained: Drained
    etags: dict[str, str]
    letters: dict[str, dict[str, Any]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def run(moto_endpoint: str) -> Iterator[Run]:
    with pytest.MonkeyPatch.context() as mp:
        stack = build_stack(mp, moto_endpoint)
        etags = {case.key: stack.put(case.key, case.build()) for case in CASES}
        # As on Lambda: Pillow's warnings (e.g. "Corrupt EXIF data") are warnings, not
        # the errors pytest's filterwarnings=error would make of them.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            drained = drain(stack, timeout=240)
        result = Run(stack, drained, etags)
        for message in dead_letters(stack):
            attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
            result.letters[attributes["SourceKey"]] = attributes | {"body": message["Body"]}
        yield result


def test_the_corpus_is_big_enough() -> None:
    assert len(CASES) >= 40
    assert len({case.key for case in CASES}) == len(CASES)


def test_no_invocation_crashed_and_nothing_was_retried(run: Run) -> None:
    assert run.drained.crashes == []
    assert run.drained.failures == [], "bad input must never be a transient failure"
    assert run.drained.records == len(CASES)  # one notification per upload, none redelivered


def test_dead_letters_are_exactly_the_failures(run: Run) -> None:
    expected = {case.key for case in CASES if case.fails}
    either = {case.key for case in CASES if case.either}
    assert expected <= set(run.letters) <= expected | either


@pytest.mark.parametrize("case", CASES, ids=[case.key[:48] for case in CASES])
def test_case(run: Run, case: Case) -> None:
    names = {o["Key"] for o in _listing(run.stack, case.key)}
    if case.either and case.key in run.letters:
        _assert_dead_letter(run, case, allowed={"CorruptImageError", "InvalidImageError"})
        return
    if case.fails:
        _assert_dead_letter(run, case, allowed=case.fails)
        assert names == set(), "a failed input must leave no renditions"
        return
    assert case.key not in run.letters, run.letters.get(case.key)
    assert names == {f"{name}/{case.key}" for name in BOXES}
    for name, box in BOXES.items():
        _assert_rendition(run, case, name, box)


def _listing(stack: Stack, key: str) -> list[dict[str, Any]]:
    found = []
    for name in BOXES:
        listed = stack.s3.list_objects_v2(Bucket=stack.destination, Prefix=f"{name}/{key}")
        found += [o for o in listed.get("Contents", []) if o["Key"] == f"{name}/{key}"]
    return found


def _assert_dead_letter(run: Run, case: Case, allowed: frozenset[str] | set[str]) -> None:
    letter = run.letters.get(case.key)
    assert letter is not None, f"{case.key!r} is not on the dead-letter queue"
    assert letter["ErrorType"] in allowed, letter
    reason = letter["ErrorReason"]
    assert len(reason) > 30, f"not a readable reason: {reason!r}"
    assert " " in reason, f"not a readable reason: {reason!r}"
    assert "Traceback" not in reason
    # The dead letter is an S3 notification again (replayable), naming the same key.
    record = json.loads(letter["body"])["Records"][0]
    assert unquote_plus(record["s3"]["object"]["key"]) == case.key


def _assert_rendition(run: Run, case: Case, name: str, box: tuple[int, int]) -> None:
    assert case.size is not None
    obj = run.stack.s3.get_object(Bucket=run.stack.destination, Key=f"{name}/{case.key}")
    body = obj["Body"].read()
    expected = fit(case.size, box)
    assert obj["ContentType"] == case.content_type, name
    metadata = obj["Metadata"]
    assert metadata["source-etag"] == run.etags[case.key]
    assert unquote(metadata["source-key"]) == case.key
    assert (metadata["width"], metadata["height"]) == tuple(map(str, expected))
    with Image.open(io.BytesIO(body)) as image:
        assert image.size == expected, name
        assert Image.MIME[image.format or ""] == case.content_type
        assert getattr(image, "n_frames", 1) == case.frames
        # EXIF (GPS, camera, orientation) and XMP never leak into a rendition.
        assert "exif" not in image.info
        assert not image.getexif()
        assert "xmp" not in image.info
        if case.icc is not None:
            assert image.info.get("icc_profile") == case.icc
        if case.check is not None:
            case.check(image)
