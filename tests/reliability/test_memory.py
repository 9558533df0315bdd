"""Peak memory per class of hostile input, measured in a fresh process and bounded.

A bound, not a speed test: the limits are generous multiples of what was measured
(docs/reliability.md has the figures). The in-limit bomb (100 MP, exactly
MAX_INPUT_PIXELS, 32 KB on disk) must still fit the function's default 1,024 MB.
Time gets a hang guard only (HANG_GUARD_MS per input, far above the worst measured:
a render that runs away, such as the 10,000-frame GIF that took 9.7 s, stays caught).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hostile import CASES

PROBE = Path(__file__).with_name("memory_probe.py")
MB = 1.0
# Default bound for every class, and the exceptions (decoded size dominates).
DEFAULT_LIMIT = 150 * MB
LIMITS = {"bomb-at-limit": 600 * MB}
#: No input may take longer than this to render or be refused (the worst measured is
#: a few seconds: docs/reliability.md). A hang guard, not a speed assertion.
HANG_GUARD_MS = 60_000


def probe(folder: Path) -> list[dict[str, Any]]:
    """Peak memory of rendering each file of ``folder``, in a fresh process (one line each)."""
    completed = subprocess.run(
        [sys.executable, str(PROBE), str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "default"},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return [json.loads(line) for line in completed.stdout.splitlines()]


def measure(tmp_path: Path) -> list[dict[str, Any]]:
    tmp_path.mkdir()
    for number, case in enumerate(CASES):
        (tmp_path / f"{number:03d}").write_bytes(case.build())
    return probe(tmp_path)


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
def test_peak_memory_per_input_class_is_bounded(tmp_path: Path) -> None:
    lines = measure(tmp_path / "corpus")
    assert len(lines) == len(CASES)
    peaks: dict[str, float] = {}
    slowest: dict[str, int] = {}
    for case, line in zip(CASES, lines, strict=True):
        peak = float(line["peak_mb"])
        peaks[case.kind] = max(peaks.get(case.kind, 0.0), peak)
        slowest[case.kind] = max(slowest.get(case.kind, 0), int(line["cpu_ms"]))
        limit = LIMITS.get(case.kind, DEFAULT_LIMIT)
        assert peak < limit, f"{case.key}: {peak} MB over the {limit} MB bound ({line})"
        assert line["ms"] < HANG_GUARD_MS, f"{case.key}: {line['ms']} ms ({line})"
    report = os.environ.get("RESIZER_MEMORY_REPORT")
    if report:
        Path(report).write_text(
            json.dumps(
                {
                    "peaks_mb": peaks,
                    "worst_cpu_ms": slowest,
                    "inputs": [dict(line, key=c.key) for c, line in zip(CASES, lines, strict=True)],
                },
                indent=1,
            )
        )


# The handler renders WORKERS (4) records of a batch at once, but every render first
# reserves its estimated peak from a budget of the function's memory less the
# runtime (MEMORY_BUDGET_MB): big renders wait for each other instead of running the
# function out of memory. The budget is only safe if the estimate is not below the
# real peak, so that is what this checks, on the worst input the limit admits.
FUNCTION_MEMORY = 1024 * MB


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
def test_an_rgba_png_at_the_pixel_limit_is_budgeted_for_what_it_really_uses(
    tmp_path: Path,
) -> None:
    from PIL import Image

    from resizer.config import Settings
    from resizer.imaging._admission import open_within_limits
    from resizer.imaging._memory import MB as BYTES_PER_MB
    from resizer.imaging._memory import estimate_bytes

    folder = tmp_path / "rgba"
    folder.mkdir()
    Image.new("RGBA", (10_000, 10_000), (10, 20, 30, 128)).save(folder / "at-limit.png")
    data = (folder / "at-limit.png").read_bytes()
    assert len(data) < 1_000_000  # a tiny upload
    (line,) = probe(folder)
    assert line["outcome"].startswith("rendered")
    settings = Settings()
    opened = open_within_limits(data, settings)
    estimate_mb = estimate_bytes(opened, len(data), (1600, 1600)) / BYTES_PER_MB
    assert line["peak_mb"] <= estimate_mb, (line, estimate_mb)
    # ...and alone it fits the default function, so the budget admits it.
    assert (
        estimate_mb
        <= Settings.from_env(
            {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(int(FUNCTION_MEMORY))}
        ).memory_budget_mb
    ), estimate_mb


# Progressive JPEGs cannot stream: libjpeg keeps the whole image's coefficients, so
# their estimate is most of the function's memory. Too low and the budget
# over-commits (the function dies); too high and renders wait for nothing. Issue
# 13's bound: within 20 % of the measured peak, never below it.
@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
def test_progressive_jpeg_estimates_match_their_measured_peak(tmp_path: Path) -> None:
    from PIL import Image

    from resizer.config import Settings
    from resizer.imaging._admission import open_within_limits
    from resizer.imaging._memory import estimate_bytes

    folder = tmp_path / "progressive"
    folder.mkdir()
    photos = Path(__file__).resolve().parents[2] / "examples" / "photos"
    photo = Image.open(photos / "seeding_by_Clements_Engelhardt.jpg")  # 5312 x 2988
    large = photo.resize((7200, 4050), Image.Resampling.BILINEAR)  # 29 MP of photo
    for subsampling in (0, 2):  # 4:4:4 (6 bytes a pixel of coefficients) and 4:2:0 (3)
        large.save(
            folder / f"{subsampling}.jpg", quality=90, progressive=True, subsampling=subsampling
        )
    settings = Settings()
    lines = probe(folder)
    for line in lines:
        data = (folder / line["file"]).read_bytes()
        assert line["outcome"].startswith("rendered"), line
        opened = open_within_limits(data, settings)
        # The largest default rendition, 1600 x 900, in the stored orientation.
        estimate = estimate_bytes(opened, len(data), (1600, 900)) / 2**20
        peak = line["peak_mb"] + len(data) / 2**20  # the probe loaded the input before
        assert peak <= estimate <= 1.2 * peak, (line, estimate)


# Every encoder resizer uses needs memory of its own, on top of the pixels it is
# handed: a 6000 px AVIF rendition was admitted under an estimate of about 150 MB
# and used about 525 MB (issue 22, item 4). The estimate must cover each encoder's
# buffers (AVIF with and without alpha, WebP, PNG, JPEG, GIF) at large sizes, measured as
# the process' peak RSS (VmHWM) in a fresh process; and stay honest the other way
# (within ENCODE_ESTIMATE_SLACK of the peak), or big renders wait for nothing.
ENCODE_ESTIMATE_SLACK = 2.0


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("formats", ["avif", "webp+png+jpeg", "original"])
def test_large_renditions_are_budgeted_for_every_encoder(
    tmp_path: Path, formats: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import Image

    folder = tmp_path / "large"
    folder.mkdir()
    photos = Path(__file__).resolve().parents[2] / "examples" / "photos"
    photo = Image.open(photos / "seeding_by_Clements_Engelhardt.jpg")  # 5312 x 2988
    large = photo.resize((6000, 3375), Image.Resampling.BILINEAR)  # 20 MP
    large.save(folder / "opaque.jpg", quality=90)
    # Alpha: AVIF encodes it as a second image; PNG decodes whole (no shrink-on-load).
    with_alpha = large.convert("RGBA")
    with_alpha.putalpha(200)
    with_alpha.save(folder / "alpha.png", compress_level=1)
    # GIF is written for GIF sources only ("original"): a still of 256 colours.
    large.quantize(256).save(folder / "palette.gif")
    # One 6000 px rendition (the source's own size): the largest encode of each format.
    # AVIF at resizer's speed (config.AVIF_SPEED), as rendered.
    monkeypatch.setenv("RENDITIONS", f"big=6000x:format={formats}")
    lines = probe(folder)
    assert len(lines) == 3
    for line in lines:
        assert line["outcome"].startswith("rendered"), line
        data_mb = line["bytes"] / 2**20
        peak = line["peak_mb"] + data_mb  # the probe loaded the input before
        assert peak <= line["estimate_mb"] <= ENCODE_ESTIMATE_SLACK * peak, line


# Issue 19: a format=auto:quality=auto rendition holds the metric's references and the
# candidates beside every encode (_memory.search_bytes); the estimate must cover what
# such a search really peaks at, opaque and with alpha, and stay within
# ENCODE_ESTIMATE_SLACK of it.
@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
def test_a_searched_rendition_is_budgeted_for_the_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import Image

    folder = tmp_path / "auto"
    folder.mkdir()
    photos = Path(__file__).resolve().parents[2] / "examples" / "photos"
    photo = Image.open(photos / "seeding_by_Clements_Engelhardt.jpg")
    large = photo.resize((3000, 1688), Image.Resampling.BILINEAR)  # 5 MP
    large.save(folder / "opaque.jpg", quality=90)
    with_alpha = large.convert("RGBA")
    with_alpha.putalpha(200)
    with_alpha.save(folder / "alpha.png", compress_level=1)
    monkeypatch.setenv("RENDITIONS", "big=3000x:format=auto:quality=auto")
    lines = probe(folder)
    assert len(lines) == 2
    for line in lines:
        assert line["outcome"].startswith("rendered"), line
        peak = line["peak_mb"] + line["bytes"] / 2**20  # the probe loaded the input before
        assert peak <= line["estimate_mb"] <= ENCODE_ESTIMATE_SLACK * peak, line
