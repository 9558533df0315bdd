"""Measuring for ``resizer tune``: each image rendered by the real engine in a fresh child.

The child (:mod:`resizer_tools.tuning.child`) imports the handler and builds its runtime
first, as a Lambda container does; one process per image, so one image's peak never
hides another's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from resizer_tools.errors import MeasurementError, UsageError
from resizer_tools.tuning.sizing import ImageMeasurement

__all__ = [
    "MeasurementError",
    "corpus",
    "measure_concurrent",
    "measure_folder",
    "measure_image",
]

_DUMMY_ENVIRONMENT = {
    "DESTINATION_BUCKET": "resizer-tune",
    "DEAD_LETTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/000000000000/resizer-tune",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_METRICS_DISABLED": "true",
}


def _run_child(path: Path, at_once: int, repeats: int, env: Mapping[str, str]) -> dict[str, Any]:
    environment = {**os.environ, **_DUMMY_ENVIRONMENT, **env}
    result = subprocess.run(
        [sys.executable, "-m", "resizer_tools.tuning.child", str(path), str(at_once), str(repeats)],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        errors = result.stderr.strip().splitlines()
        raise MeasurementError(errors[-1] if errors else f"exit {result.returncode}, no output")
    data: dict[str, Any] = json.loads(lines[-1])
    if "error" in data:
        raise MeasurementError(str(data["error"]))
    return data


def measure_image(
    path: Path, repeats: int = 3, env: Mapping[str, str] | None = None
) -> ImageMeasurement:
    """Render ``path`` ``repeats`` times in a fresh child; its peak memory and CPU time."""
    raw = _run_child(path, 1, repeats, env or {})
    return ImageMeasurement(
        name=path.name,
        bytes_in=int(raw["bytes_in"]),
        bytes_out=int(raw["bytes_out"]),
        megapixels=float(raw["megapixels"]),
        baseline_mb=float(raw["baseline_mb"]),
        peak_mb=float(raw["peak_mb"]),
        cpu_s=float(raw["cpu_s"]),
        wall_s=float(raw["wall_s"]),
        source=str(raw["source"]),
    )


def measure_concurrent(path: Path, workers: int, env: Mapping[str, str] | None = None) -> float:
    """Peak MB of one child rendering ``path`` ``workers`` times at once, in threads."""
    return float(_run_child(path, workers, 1, env or {})["peak_mb"])


_IMAGE_SUFFIXES = {
    ".jpg", ".jpeg", ".png", ".webp", ".gif", ".tif", ".tiff", ".bmp", ".heic", ".heif", ".avif",
}  # fmt: skip


def corpus(folder: Path) -> list[Path]:
    """The images directly in ``folder`` (by suffix), sorted; a :class:`UsageError`
    when it is not a folder or holds none."""
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise UsageError(f"{folder} {what}: give a folder of images (e.g. examples/photos)")
    found = sorted(p for p in folder.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)
    if not found:
        raise UsageError(f"no images in {folder} (looked for {', '.join(sorted(_IMAGE_SUFFIXES))})")
    return found


def measure_folder(
    paths: Iterable[Path],
    repeats: int = 3,
    on_image: Callable[[Path, ImageMeasurement | str], None] | None = None,
) -> tuple[list[ImageMeasurement], list[str]]:
    """Every image in its own child: (measurements, "name: reason" per image that failed).

    ``on_image`` is called after each image with its measurement or its failure reason.
    """
    measured: list[ImageMeasurement] = []
    failed: list[str] = []
    for path in paths:
        try:
            measurement = measure_image(path, repeats)
        except MeasurementError as error:
            failed.append(f"{path.name}: {error}")
            if on_image:
                on_image(path, str(error))
            continue
        measured.append(measurement)
        if on_image:
            on_image(path, measurement)
    return measured, failed
