"""``resizer demo``: the local stack on the bundled photos, a table and a gallery.

Latency is measured from the end of each upload to the moment the rendition is
listed in the destination bucket (polled every 50 ms), so it includes the S3
notification, the queue, the poller's long poll and the handler's work.
"""

from __future__ import annotations

import shutil
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from resizer.config import parse_renditions
from resizer_tools.local.gallery import GalleryImage, GalleryRow, write_gallery
from resizer_tools.local.stack import LocalStack
from resizer_tools.ops.aws import Aws, StackResources
from resizer_tools.ops.operations import upload_file

__all__ = ["default_photos", "run_demo"]

_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".tif", ".tiff", ".heic"}
_WAIT_SECONDS = 45
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
        raise FileNotFoundError(
            f"no sample photos under {root}/examples; run `resizer demo` from the repository root"
        )
    return found


@dataclass(frozen=True)
class _Seen:
    source: str
    rendition: str
    key: str
    latency_ms: float


def run_demo(
    console: Console,
    *,
    template: Path,
    out: Path,
    photos: Sequence[Path] | None = None,
) -> int:
    started = time.monotonic()
    files = list(photos) if photos else default_photos(Path.cwd())
    console.print(f"starting the local stack (emulator, {template}, poller)...")
    with LocalStack(
        template, port=0, stack_name="resizer-demo", environment=_DEMO_ENVIRONMENT
    ) as stack:
        assert stack.aws is not None
        assert stack.resources is not None
        assert stack.poller is not None
        aws, resources = stack.aws, stack.resources
        renditions = parse_renditions(stack.poller.config.environment.get("RENDITIONS", ""))
        console.print(
            f"stack up in {stack.seconds:.1f} s at {stack.endpoint_url}; "
            f"renditions {', '.join(str(r) for r in renditions)}",
            highlight=False,
        )
        expected = {
            f"{r.name}/{path.name}": (path.name, r.name) for path in files for r in renditions
        }
        uploaded: dict[str, float] = {}
        seen: dict[str, _Seen] = {}
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
            rendering = progress.add_task("renditions", total=len(expected))
            deadline = time.monotonic() + _WAIT_SECONDS
            while len(seen) < len(expected) and time.monotonic() < deadline:
                now = time.monotonic()
                for key in _listed(aws, resources.destination_bucket):
                    if key in expected and key not in seen:
                        source, rendition = expected[key]
                        seen[key] = _Seen(source, rendition, key, (now - uploaded[source]) * 1000)
                        progress.advance(rendering)
                time.sleep(0.05)
        rows = _collect(aws, resources, files, seen, out)
        dead = int(
            aws.sqs.get_queue_attributes(
                QueueUrl=resources.dead_letter_queue_url,
                AttributeNames=["ApproximateNumberOfMessages"],
            )["Attributes"]["ApproximateNumberOfMessages"]
        )
        stack_seconds = stack.seconds
        console.print("stopping the local stack...")
    _print_table(console, rows)
    latencies = sorted(s.latency_ms for s in seen.values())
    index = write_gallery(out, rows, "resizer demo: originals and renditions")
    elapsed = time.monotonic() - started
    if latencies:
        console.print(
            f"upload-to-rendition latency: p50 {_percentile(latencies, 50):.0f} ms, "
            f"p95 {_percentile(latencies, 95):.0f} ms, max {latencies[-1]:.0f} ms "
            f"({len(latencies)} renditions of {len(files)} images)",
            highlight=False,
        )
    console.print(f"gallery: {index.resolve()}", highlight=False)
    console.print(f"stack start {stack_seconds:.1f} s, whole demo {elapsed:.1f} s", highlight=False)
    missing = sorted(set(expected) - set(seen))
    if missing or dead:
        console.print(
            f"[red]{len(missing)} rendition(s) missing after {_WAIT_SECONDS} s, "
            f"{dead} message(s) on the dead-letter queue[/]: {', '.join(missing[:5])}"
        )
        return 1
    console.print("[green]all renditions made[/]; the local stack is stopped")
    return 0


def _listed(aws: Aws, bucket: str) -> list[str]:
    keys: list[str] = []
    for page in aws.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    return keys


def _collect(
    aws: Aws,
    resources: StackResources,
    files: Sequence[Path],
    seen: dict[str, _Seen],
    out: Path,
) -> list[GalleryRow]:
    """Download every rendition beside a copy of its original; one gallery row each."""
    from PIL import Image  # noqa: PLC0415 (only the demo reads image sizes here)

    if out.exists():
        shutil.rmtree(out)
    (out / "originals").mkdir(parents=True)
    rows = []
    for path in files:
        original = out / "originals" / path.name
        shutil.copyfile(path, original)
        with Image.open(original) as image:
            width, height = image.size
            if image.getexif().get(0x0112, 1) in (5, 6, 7, 8):  # stored sideways
                width, height = height, width
        items = []
        for item in sorted(
            (s for s in seen.values() if s.source == path.name),
            key=lambda s: s.key,
        ):
            target = out / item.key
            target.parent.mkdir(parents=True, exist_ok=True)
            aws.s3.download_file(resources.destination_bucket, item.key, str(target))
            head = aws.s3.head_object(Bucket=resources.destination_bucket, Key=item.key)
            meta = head.get("Metadata", {})
            items.append(
                GalleryImage(
                    label=item.rendition,
                    path=item.key,
                    width=int(meta.get("width", 0)),
                    height=int(meta.get("height", 0)),
                    size=int(head["ContentLength"]),
                    latency_ms=item.latency_ms,
                )
            )
        rows.append(
            GalleryRow(
                GalleryImage(
                    path.name, f"originals/{path.name}", width, height, path.stat().st_size
                ),
                items,
            )
        )
    return rows


def _print_table(console: Console, rows: Sequence[GalleryRow]) -> None:
    table = Table("source", "rendition", "dimensions", "bytes", "latency")
    for row in rows:
        for index, item in enumerate(row.renditions):
            table.add_row(
                row.original.label if index == 0 else "",
                item.label,
                f"{item.width}x{item.height}",
                f"{item.size:,}",
                f"{item.latency_ms:,.0f} ms" if item.latency_ms is not None else "-",
            )
    console.print(table)


def _percentile(values: Sequence[float], percent: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]
