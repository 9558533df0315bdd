"""Issue 20 through the handler on emulated AWS: METADATA decides what the renditions
keep, the WATERMARK read from S3 marks the renditions that ask for it, and changing
either changes the fingerprint, so a backfill re-renders."""

from __future__ import annotations

import io
import uuid

import pytest
from emulated_aws import Stack, record_calls
from images import RIGHTS, SECRETS, encode, rights_tagged, watermark_png
from PIL import Image, ImageChops

from resizer import handler, layout
from resizer.errors import ConfigurationError


def rendition(stack: Stack, key: str) -> tuple[bytes, dict[str, str]]:
    obj = stack.s3.get_object(Bucket=stack.destination, Key=key)
    return obj["Body"].read(), obj["Metadata"]


def ifd0(data: bytes) -> dict[int, object]:
    with Image.open(io.BytesIO(data)) as image:
        return dict(image.getexif())


def test_metadata_modes_through_the_handler(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RENDITIONS", "medium=200x200:format=original+webp")
    handler.runtime.cache_clear()
    record_calls(handler.runtime())
    stack.put("shoot/harbour.jpg", rights_tagged("JPEG", orientation=6))
    response, _ = stack.invoke()
    assert response["batchItemFailures"] == []

    # The default, copyright: the rights in the JPEG and the WebP, nothing else.
    prints = {}
    source = "shoot/harbour.jpg"
    keys = (layout.rendition_key(source, "medium"), layout.rendition_key(source, "medium", ".webp"))
    for key in keys:
        data, metadata = rendition(stack, key)
        assert ifd0(data) == {0x013B: RIGHTS["artist"], 0x8298: RIGHTS["copyright"]}, key
        assert RIGHTS["xmp_rights"].encode() in data
        for value in SECRETS.values():
            assert value.encode() not in data, (key, value)
        prints[key] = metadata["config"]

    modes = {"all": {0x013B, 0x8298, 0x010F, 0x8769}, "none": set()}
    for mode, tags in modes.items():
        monkeypatch.setenv("METADATA", mode)
        handler.runtime.cache_clear()
        record_calls(handler.runtime())
        stack.redeliver("shoot/harbour.jpg")
        response, _ = stack.invoke()
        assert response["batchItemFailures"] == []
        for key, before in prints.items():
            data, metadata = rendition(stack, key)
            assert metadata["config"] != before, (mode, key)  # the fingerprint changed
            prints[key] = metadata["config"]
            assert set(ifd0(data)) == tags, (mode, key)
            for value in SECRETS.values():
                assert value.encode() not in data, (mode, key, value)
        assert stack.receive(stack.dlq_url, wait=0) == []


# --- watermark -----------------------------------------------------------------------------


def _difference_box(data: bytes, base: tuple[int, int, int]) -> tuple[int, int, int, int] | None:
    with Image.open(io.BytesIO(data)) as image:
        rgb = image.convert("RGB")
    return ImageChops.difference(rgb, Image.new("RGB", rgb.size, base)).getbbox()


def test_watermark_through_the_handler(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """The mark is read from S3 when the container starts; marked renditions at least
    WATERMARK_MIN_WIDTH wide get it; a new mark changes their fingerprint alone."""
    assets = f"assets-{uuid.uuid4().hex[:8]}"
    stack.s3.create_bucket(Bucket=assets)
    stack.s3.put_object(Bucket=assets, Key="marks/logo.png", Body=watermark_png())
    monkeypatch.setenv("WATERMARK", f"s3://{assets}/marks/logo.png")
    monkeypatch.setenv(
        "RENDITIONS",
        "large=1000x1000:watermark:format=png,plain=1000x1000:format=png,"
        "thumb=150x150:watermark:format=png",
    )
    handler.runtime.cache_clear()
    record_calls(handler.runtime())
    grey = (100, 100, 100)
    stack.put("photo.png", encode(Image.new("RGB", (1000, 500), grey), "PNG"))
    response, _ = stack.invoke()
    assert response["batchItemFailures"] == []

    large, large_meta = rendition(stack, "large/photo.png")
    # 0.2 x 1000 = 200 px wide (the mark is 4:1), 2 % = 20 px from the right and bottom.
    assert _difference_box(large, grey) == (780, 430, 980, 480)
    plain, plain_meta = rendition(stack, "plain/photo.png")
    assert _difference_box(plain, grey) is None
    thumb, _ = rendition(stack, "thumb/photo.png")
    assert _difference_box(thumb, grey) is None  # 150 px: narrower than 300

    # A new mark under the same key: new containers read it, a backfill re-marks.
    stack.s3.put_object(Bucket=assets, Key="marks/logo.png", Body=watermark_png(hole=True))
    handler.runtime.cache_clear()
    record_calls(handler.runtime())
    stack.redeliver("photo.png")
    response, _ = stack.invoke()
    assert response["batchItemFailures"] == []
    large, remarked_meta = rendition(stack, "large/photo.png")
    assert remarked_meta["config"] != large_meta["config"]
    assert _difference_box(large, grey) == (880, 430, 980, 480)  # its left half is clear
    assert rendition(stack, "plain/photo.png")[1]["config"] == plain_meta["config"]


# The invocation fails before any record: Powertools warns that it has no metrics.
@pytest.mark.filterwarnings("ignore:No application metrics:UserWarning")
def test_a_watermark_the_function_cannot_read_stops_it_at_start(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATERMARK", f"s3://{stack.source}/missing.png")
    monkeypatch.setenv("RENDITIONS", "large=1000x1000:watermark")
    handler.runtime.cache_clear()
    stack.put("photo.png", encode(Image.new("RGB", (400, 300)), "PNG"))
    with pytest.raises(ConfigurationError, match=r"WATERMARK s3://.*/missing.png cannot be read"):
        stack.invoke()
    stack.s3.put_object(Bucket=stack.source, Key="missing.png", Body=b"a jpeg, say")
    with pytest.raises(ConfigurationError, match="not a readable PNG"):
        stack.invoke()
