"""``resizer demo``: the local stack on the bundled photos, a table and a gallery.

The stack is deployed from the template, then :data:`DEMO_RENDITIONS` (a square
``cover`` crop, WebP and AVIF beside the original format, a ``format=auto:quality=auto``
size, a watermark on the largest),
``WATERMARK`` (a label the demo draws and uploads to a bucket of its own) and
``EVENT_BUS_NAME`` are
set as a stack update sets them (update-function-configuration, publish-version,
update-alias; the poller follows ``live``). The gallery is built from the manifests
the function writes. Latency is measured from the end of each upload to the moment its
manifest (written after every rendition) is listed in the destination bucket
(polled every 50 ms), so it includes the S3 notification, the queue, the poller's
long poll and the handler's work. The "Renditions Ready" events are watched with a
temporary rule and queue, as ``resizer events`` does, and counted.
"""

from __future__ import annotations

import io
import shutil
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from resizer.errors import ConfigurationError
from resizer.layout import manifest_folder, manifest_key, manifest_source
from resizer.manifest import decode, listed_keys
from resizer.publish import READY
from resizer_tools.cli.common import literal  # the one way data goes into Rich text
from resizer_tools.errors import UsageError
from resizer_tools.local.gallery import write_gallery
from resizer_tools.local.mapping import publish_configuration
from resizer_tools.local.stack import LocalStack
from resizer_tools.ops.aws import Aws, StackResources
from resizer_tools.ops.events import Watch, event_bus, receive, watching
from resizer_tools.ops.operations import upload_file

__all__ = ["default_photos", "run_demo", "watermark_png"]

_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".tif", ".tiff", ".heic"}
_WAIT_SECONDS = 120
# Quiet handler output while the progress bar runs: warnings and errors still show.
_DEMO_ENVIRONMENT = {"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"}


def default_photos(root: Path) -> list[Path]:
    """examples/photos/*.jpg and the derived examples/demo images (EXIF rotation, alpha)."""
    found = [
        path
        for folder in (root / "examples" / "photos", root / "examples" / "demo")
        for path in sorted(folder.glob("*"))
        if path.suffix.lower() in _IMAGE_SUFFIXES
    ]
    if not found:
        raise UsageError(
            f"no sample photos under {root}/examples; run `resizer demo` from the repository "
            "root, or pass --photos"
        )
    return found


#: The bus the demo's function publishes to (the template's EventBusName default).
_DEMO_BUS = "default"
#: What the demo sets: a square crop, WebP/AVIF beside the original format, and a
#: ``format=auto:quality=auto`` size (issue 19: the smaller formats kept, each at
#: QUALITY_TARGET).
DEMO_RENDITIONS = (
    "thumbnails=150x150:cover:format=original+webp,"
    "medium=800x800:format=original+webp+avif,"
    "small=480x480:format=auto:quality=auto,"
    "large=1600x1600:format=original+webp+avif:watermark"
)
#: Where the demo keeps its watermark (WATERMARK): a bucket of its own, as a user would.
_DEMO_MARK = ("resizer-demo-assets", "watermark.png")


def run_demo(
    console: Console,
    *,
    template: Path,
    out: Path,
    photos: Sequence[Path] | None = None,
    renditions: str = DEMO_RENDITIONS,
) -> int:
    started = time.monotonic()
    files = list(photos) if photos else default_photos(Path.cwd())
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        raise UsageError(f"no such photo: {', '.join(missing[:5])}")
    console.print(
        literal(f"starting the local stack (emulator, {template}, poller)..."), highlight=False
    )
    with LocalStack(
        template, port=0, stack_name="resizer-demo", environment=_DEMO_ENVIRONMENT
    ) as stack:
        assert stack.aws is not None
        assert stack.resources is not None
        assert stack.poller is not None
        aws, resources = stack.aws, stack.resources
        _apply(stack, {"RENDITIONS": renditions, "EVENT_BUS_NAME": _DEMO_BUS, **_mark(aws)})
        console.print(
            f"stack up in {stack.seconds:.1f} s at {stack.endpoint_url}; RENDITIONS="
            f"{stack.poller.config.environment.get('RENDITIONS', '')}",
            highlight=False,
        )
        with watching(aws, resources, event_bus(aws, resources.stack_name)) as watch:
            latencies, ready = _upload_and_wait(console, aws, resources, watch, files)
        manifests = _collect(aws, resources, files, out)
        dead = int(
            aws.sqs.get_queue_attributes(
                QueueUrl=resources.dead_letter_queue_url,
                AttributeNames=["ApproximateNumberOfMessages"],
            )["Attributes"]["ApproximateNumberOfMessages"]
        )
        stack_seconds = stack.seconds
        console.print("stopping the local stack...")
    _print_table(console, manifests, latencies)
    index = write_gallery(out, manifests, "resizer demo: renditions, crops and formats")
    elapsed = time.monotonic() - started
    values = sorted(latencies.values())
    if values:
        console.print(
            f"upload-to-manifest latency (every rendition of an image written): p50 "
            f"{_percentile(values, 50):.0f} ms, p95 {_percentile(values, 95):.0f} ms, "
            f"max {values[-1]:.0f} ms ({len(values)} of {len(files)} images)",
            highlight=False,
        )
    console.print(f"{len(ready)} '{READY}' event(s) seen on the bus ({watch.bus})", highlight=False)
    console.print(literal(f"gallery: {index.resolve()}"), highlight=False)
    console.print(f"stack start {stack_seconds:.1f} s, whole demo {elapsed:.1f} s", highlight=False)
    missing = sorted(path.name for path in files if path.name not in latencies)
    if missing or dead:
        console.print(
            f"[red]{len(missing)} image(s) without a manifest after {_WAIT_SECONDS} s, "
            f"{dead} message(s) on the dead-letter queue[/]: {literal(', '.join(missing[:5]))}"
        )
        return 1
    console.print("[green]every image has its renditions and manifest[/]; the stack is stopped")
    return 0


def watermark_png() -> bytes:
    """The demo's watermark, a translucent "resizer" label, as PNG bytes (the rights
    benchmark stamps the same one)."""
    from PIL import Image, ImageDraw  # noqa: PLC0415 - only the demo draws

    mark = Image.new("RGBA", (400, 100), (0, 0, 0, 0))
    draw = ImageDraw.Draw(mark)
    draw.rounded_rectangle((0, 0, 399, 99), radius=24, fill=(20, 20, 20, 200))
    draw.text((200, 50), "resizer", fill=(255, 255, 255, 255), anchor="mm", font_size=56)
    buffer = io.BytesIO()
    mark.save(buffer, "PNG")
    return buffer.getvalue()


def _mark(aws: Aws) -> dict[str, str]:
    """:func:`watermark_png` uploaded to the demo's own bucket: the WATERMARK setting
    that points at it."""
    bucket, key = _DEMO_MARK
    aws.s3.create_bucket(Bucket=bucket)
    aws.s3.put_object(Bucket=bucket, Key=key, Body=watermark_png())
    return {"WATERMARK": f"s3://{bucket}/{key}"}


def _apply(stack: LocalStack, variables: dict[str, str]) -> None:
    """The demo's settings, applied as a stack update applies them (the alias moves)."""
    assert stack.aws is not None
    assert stack.poller is not None
    poller = stack.poller
    version = publish_configuration(stack.aws, poller.config.function_name, variables)
    deadline = time.monotonic() + 10
    while poller.config.function_version != version:
        if time.monotonic() > deadline:
            raise ConfigurationError(f"the local poller did not follow live to version {version}")
        time.sleep(0.05)


def _upload_and_wait(
    console: Console, aws: Aws, resources: StackResources, watch: Watch, files: Sequence[Path]
) -> tuple[dict[str, float], set[str]]:
    """Upload, then poll for each manifest (written last: the set is complete)."""
    uploaded: dict[str, float] = {}
    latencies: dict[str, float] = {}
    ready: set[str] = set()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        uploading = progress.add_task("uploading", total=len(files))
        for path in files:
            upload_file(aws, resources, path, path.name)
            uploaded[path.name] = time.monotonic()
            progress.advance(uploading)
        rendering = progress.add_task("manifests", total=len(files))
        deadline = time.monotonic() + _WAIT_SECONDS
        while len(latencies) < len(files) and time.monotonic() < deadline:
            now = time.monotonic()
            for key in _listed(aws, resources.destination_bucket, manifest_folder()):
                name = manifest_source(key)
                if name is not None and name in uploaded and name not in latencies:
                    latencies[name] = (now - uploaded[name]) * 1000
                    progress.advance(rendering)
            ready.update(e.key for e in receive(aws, watch, 0) if e.detail_type == READY)
            time.sleep(0.05)
        # The last events may trail the last manifest by a moment.
        for _ in range(3):
            ready.update(e.key for e in receive(aws, watch, 1) if e.detail_type == READY)
    return latencies, ready


def _listed(aws: Aws, bucket: str, prefix: str = "") -> list[str]:
    keys: list[str] = []
    for page in aws.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    return keys


def _collect(
    aws: Aws, resources: StackResources, files: Sequence[Path], out: Path
) -> list[dict[str, Any]]:
    """Every manifest, and every file it lists, downloaded under ``out`` at its key."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    manifests = []
    for path in files:
        key = manifest_key(path.name)
        try:
            body = aws.s3.get_object(Bucket=resources.destination_bucket, Key=key)["Body"].read()
        except aws.s3.exceptions.NoSuchKey:
            continue
        manifest = decode(body)
        if manifest is None:
            continue
        (out / key).parent.mkdir(parents=True, exist_ok=True)
        (out / key).write_bytes(body)
        for rendition in listed_keys(manifest):
            target = out / rendition
            target.parent.mkdir(parents=True, exist_ok=True)
            aws.s3.download_file(resources.destination_bucket, rendition, str(target))
        manifests.append(manifest)
    return manifests


def _print_table(
    console: Console, manifests: Sequence[dict[str, Any]], latencies: dict[str, float]
) -> None:
    table = Table("source", "rendition", "fit", "format", "dimensions", "bytes", "latency")
    for manifest in manifests:
        source = manifest["source"]["key"]
        for index, item in enumerate(manifest["renditions"]):
            latency = latencies.get(source)
            table.add_row(
                literal(source) if index == 0 else "",
                item["name"],
                item.get("fit", "fit"),
                _described(item),
                f"{item['width']}x{item['height']}",
                f"{item['bytes']:,}",
                f"{latency:,.0f} ms" if index == 0 and latency is not None else "",
            )
    console.print(table)


def _percentile(values: Sequence[float], percent: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def _described(item: dict[str, Any]) -> str:
    """The format, with the encoder quality and the measured score where listed."""
    text = str(item["format"])
    if "quality" in item:
        text += f" q{item['quality']}"
    if "score" in item:
        text += f" score {item['score']}"
    return text
