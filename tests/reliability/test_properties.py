"""Property-based tests (hypothesis), bounded example counts.

* Key encoding: any Unicode key, encoded as S3 encodes keys in notifications (and as
  moto, the CLI's backfill and the DLQ re-encode them), parses back to itself - also
  through moto's real notifications.
* Rendition geometry: random sizes and boxes never upscale, never exceed the box,
  keep the aspect ratio to within one pixel - on the arithmetic and on real renders
  of small generated images in every family and colour mode.
"""

from __future__ import annotations

import io
import json
from urllib.parse import quote_plus

from emulated_aws import Stack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from resizer import imaging
from resizer.config import Settings, parse_renditions
from resizer.imaging._geometry import fit
from resizer.notifications import Action, created_record, notification_body, parse_body

# S3 keys are UTF-8 (no lone surrogates), 1 to 1,024 bytes.
KEYS = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=300).filter(
    lambda key: len(key.encode()) <= 1024
)
# What S3 may leave unencoded: real S3 keeps "/", Java's URLEncoder "*-._", moto nothing.
ENCODERS = {
    "s3": lambda key: quote_plus(key, safe="/"),
    "moto": lambda key: quote_plus(key, safe=""),
    "java": lambda key: quote_plus(key, safe="*-._"),
    "lenient": lambda key: quote_plus(key, safe="/!'()*~:@,;=$&"),
}


@settings(max_examples=300, deadline=None, database=None)
@given(key=KEYS)
def test_created_record_round_trips_any_key(key: str) -> None:
    body = notification_body([created_record("bucket", key, etag="abc", size=3)])
    (event,) = parse_body(body)
    assert event.key == key
    assert event.action is Action.RENDER
    assert event.etag == "abc"


@settings(max_examples=300, deadline=None, database=None)
@given(key=KEYS, encoder=st.sampled_from(sorted(ENCODERS)))
def test_every_s3_style_encoding_parses_back(key: str, encoder: str) -> None:
    record = created_record("bucket", key)
    record["s3"]["object"]["key"] = ENCODERS[encoder](key)
    (event,) = parse_body(json.dumps({"Records": [record]}))
    assert event.key == key


# Keys that survive a real PUT to the emulator (no control characters).
UPLOADABLE = st.text(
    st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=120
).filter(lambda key: key.strip("/") == key and len(key.encode()) <= 1000)


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(key=UPLOADABLE)
def test_moto_notifications_round_trip(stack: Stack, key: str) -> None:
    stack.s3.put_object(Bucket=stack.source, Key=key, Body=b"x")
    messages = stack.sqs.receive_message(
        QueueUrl=stack.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
    ).get("Messages", [])
    for m in messages:
        stack.sqs.delete_message(QueueUrl=stack.queue_url, ReceiptHandle=m["ReceiptHandle"])
    assert len(messages) == 1
    (event,) = parse_body(messages[0]["Body"])
    assert event.key == key


def _assert_geometry(size: tuple[int, int], box: tuple[int, int], out: tuple[int, int]) -> None:
    (w, h), (bw, bh), (ow, oh) = size, box, out
    assert 1 <= ow <= min(w, bw), (size, box, out)  # inside the box, never upscaled
    assert 1 <= oh <= min(h, bh), (size, box, out)
    if (w, h) != (ow, oh):
        assert ow == bw or oh == bh or ow == 1 or oh == 1, "as large as the box allows"
    # Aspect kept to within a pixel, measured along the side that was not clamped.
    assert abs(oh - ow * h / w) <= 1 or abs(ow - oh * w / h) <= 1, (size, box, out)


@settings(max_examples=2000, deadline=None, database=None)
@given(
    size=st.tuples(st.integers(1, 100_000), st.integers(1, 100_000)),
    box=st.tuples(st.integers(1, 10_000), st.integers(1, 10_000)),
)
def test_fit_arithmetic(size: tuple[int, int], box: tuple[int, int]) -> None:
    _assert_geometry(size, box, fit(size, box))


FAMILIES = st.sampled_from(
    [("PNG", "RGB"), ("PNG", "RGBA"), ("PNG", "P"), ("PNG", "L"), ("JPEG", "RGB"),
     ("JPEG", "L"), ("GIF", "P"), ("WEBP", "RGB"), ("WEBP", "RGBA"), ("TIFF", "CMYK")]
)  # fmt: skip


@settings(max_examples=150, deadline=None, database=None)
@given(
    size=st.tuples(st.integers(1, 600), st.integers(1, 600)),
    boxes=st.lists(st.tuples(st.integers(1, 700), st.integers(1, 700)), min_size=1, max_size=3),
    family=FAMILIES,
    orientation=st.sampled_from([1, 1, 3, 6, 8]),
)
def test_rendered_sizes(
    size: tuple[int, int],
    boxes: list[tuple[int, int]],
    family: tuple[str, str],
    orientation: int,
) -> None:
    fmt, mode = family
    image = Image.linear_gradient("L").resize(size).convert(mode)
    buffer = io.BytesIO()
    options = {}
    if fmt in ("JPEG", "WEBP", "PNG"):
        exif = Image.Exif()
        exif[0x0112] = orientation
        options["exif"] = exif.tobytes()
    image.save(buffer, fmt, **options)
    upright = size[::-1] if fmt in ("JPEG", "WEBP", "PNG") and orientation in (6, 8) else size
    text = ",".join(f"r{n}={w}x{h}" for n, (w, h) in enumerate(boxes))
    config = Settings(renditions=parse_renditions(text))
    for rendered in imaging.render(buffer.getvalue(), config):
        box = (rendered.rendition.width, rendered.rendition.height)
        with Image.open(io.BytesIO(rendered.data)) as output:
            assert output.size == (rendered.width, rendered.height)
        _assert_geometry(upright, box, output.size)
