"""``resizer tune``: measure a folder, recommend, and the report as Rich renderables."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from resizer.config import Settings
from resizer.errors import ConfigurationError
from resizer_tools.tuning.measure import corpus, measure_concurrent, measure_folder
from resizer_tools.tuning.sizing import (
    ALLOWED_TIMEOUTS,
    DEFAULT_PRICES,
    VISIBILITY_FACTOR,
    Assumptions,
    ImageMeasurement,
    Prices,
    Recommendation,
    recommend,
)

if TYPE_CHECKING:
    from rich.console import RenderableType


# ------------------------------------------------------------------ the command
@dataclass(frozen=True)
class TuningReport:
    folder: Path
    measurements: list[ImageMeasurement]
    failed: list[str]
    concurrent_peak_mb: float | None
    recommendation: Recommendation
    max_input_pixels: int
    notes: list[str] = field(default_factory=list)


def tune_command(
    folder: Path | None = None,
    *,
    prices: Path | None = None,
    workers: int | None = None,
    batch_size: int = 10,
    repeats: int = 3,
    on_image: Callable[[Path, ImageMeasurement | str], None] | None = None,
) -> TuningReport:
    """What ``resizer tune`` does: measure the folder (default examples/photos), recommend.

    Raises :class:`~resizer_tools.errors.UsageError` (no folder, no images) and
    ConfigurationError (a bad or missing price table, a bad setting), which the CLI
    turns into exit 2; :class:`~resizer_tools.errors.MeasurementError` (the largest
    image could not be measured concurrently) exits 1.
    """
    settings = Settings.from_env()
    folder = folder or Path("examples/photos")
    paths = corpus(folder)
    price_table = Prices.from_json(prices) if prices else DEFAULT_PRICES
    assume = Assumptions(
        workers=workers or settings.workers,
        batch_size=batch_size,
        renditions=len(settings.renditions),
    )
    measurements, failed = measure_folder(paths, repeats, on_image)
    if not measurements:
        raise ConfigurationError(
            f"none of the {len(paths)} image(s) in {folder} could be rendered: {failed[0]}"
        )
    largest = max(measurements, key=lambda m: m.render_mb)
    concurrent = measure_concurrent(folder / largest.name, assume.workers)
    rec = recommend(measurements, price_table, assume, concurrent)
    return TuningReport(
        folder=folder,
        measurements=measurements,
        failed=failed,
        concurrent_peak_mb=concurrent,
        recommendation=rec,
        max_input_pixels=settings.max_input_pixels,
        notes=_notes(rec, measurements, settings.max_input_pixels),
    )


def _notes(rec: Recommendation, measured: Sequence[ImageMeasurement], max_pixels: int) -> list[str]:
    chosen, assume = rec.chosen, rec.assumptions
    notes = []
    biggest_mp = max(m.megapixels for m in measured)
    if max_pixels / 1e6 > biggest_mp * 1.5:
        notes.append(
            f"MaxInputPixels allows {max_pixels / 1e6:.0f} MP but the largest image here is "
            f"{biggest_mp:.1f} MP: a larger upload needs more memory than recommended. Set "
            f"MaxInputPixels near {math.ceil(biggest_mp * 1.25) * 1_000_000}, or tune on a "
            "folder that holds the largest images you accept."
        )
    if chosen.timeout_s is None:
        notes.append(
            f"no allowed Timeout covers {chosen.timeout_needed_s:.0f} s: lower BatchSize or "
            "raise MemorySize."
        )
    for option in rec.alternatives:
        speedup = chosen.batch_s_mean / option.batch_s_mean
        extra = option.cost_per_million["arm64"] / chosen.cost_per_million["arm64"] - 1
        notes.append(
            f"{option.memory_mb} MB ({option.vcpus:.2f} vCPU): batches {speedup:.1f}x faster "
            f"for {extra:+.0%} cost (the render is CPU-bound and CPU grows with memory; "
            "the S3 waits are billed at the larger size)."
        )
    notes.append(
        "CPU times are this machine's; Lambda's vCPUs may be slower (the Timeout's safety "
        f"factor is {assume.timeout_safety:g}x). Prices: {rec.prices.source}. Not included: "
        f"S3 requests ({assume.renditions} PUTs, 3 HEADs, 1 GET per "
        "image), SQS, CloudWatch Logs."
    )
    return notes


def render_report(report: TuningReport) -> RenderableType:
    """The report as rich renderables: measurements, recommendation, options, notes."""
    from rich.console import Group  # noqa: PLC0415 - rich is the CLI's, not the Lambda's
    from rich.table import Table  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415

    from resizer_tools.cli.common import literal  # noqa: PLC0415 - file names, not markup

    rec = report.recommendation
    chosen, assume = rec.chosen, rec.assumptions
    images = Table(
        "image", "MP", "bytes in", "bytes out", "peak MB", "render MB", "CPU s", "wall s",
        title=literal(f"one render per fresh process ({report.folder})"),
    )  # fmt: skip
    for m in report.measurements:
        images.add_row(
            literal(m.name),
            f"{m.megapixels:.1f}",
            f"{m.bytes_in:,}",
            f"{m.bytes_out:,}",
            f"{m.peak_mb:.0f}",
            f"{m.render_mb:.0f}",
            f"{m.cpu_s:.3f}",
            f"{m.wall_s:.3f}",
        )

    concurrent = (
        f"; {rec.concurrent_peak_mb:.0f} MB measured with {assume.workers} at once"
        if rec.concurrent_peak_mb is not None
        else ""
    )
    summary = Table("parameter", "value", "why", title="recommended (infra/template.yaml)")
    summary.add_row(
        "MemorySize",
        f"{chosen.memory_mb}",
        f"runtime {rec.baseline_mb:.0f} MB + {assume.workers} x {rec.largest.render_mb:.0f} MB "
        f"({literal(rec.largest.name)}){concurrent}; +{assume.memory_headroom:.0%}; "
        f"{chosen.vcpus:.2f} vCPU",
    )
    summary.add_row(
        "Timeout",
        f"{chosen.timeout_s}" if chosen.timeout_s else "none fits",
        f"batch of {assume.batch_size} of the slowest image: {chosen.batch_s_worst:.1f} s "
        f"x {assume.timeout_safety:g} + {assume.deadline_margin_s:.0f} s margin = "
        f"{chosen.timeout_needed_s:.0f} s; allowed: {', '.join(map(str, ALLOWED_TIMEOUTS))}",
    )
    summary.add_row(
        "(queue visibility)",
        f"{chosen.visibility_timeout_s}" if chosen.visibility_timeout_s else "-",
        f"{VISIBILITY_FACTOR} x Timeout: the template derives it",
    )
    summary.add_row("BatchSize", str(assume.batch_size), f"WORKERS={assume.workers}")
    for arch, dollars in chosen.cost_per_million.items():
        summary.add_row(
            f"$ per 1M images, {arch}",
            f"{dollars:,.2f}",
            f"{chosen.batch_s_mean:.2f} s per batch (mean image) x "
            f"{chosen.memory_mb / 1024:.3f} GB x ${rec.prices.per_gb_s(arch):.10f}/GB-s "
            f"+ ${rec.prices.requests_per_million:.2f} per 1M requests",
        )
    options = Table(
        "MemorySize", "vCPU", "batch s (mean)", "batch s (slowest)", "Timeout",
        "$/1M arm64", "$/1M x86_64", title="more memory: CPU share, latency and cost",
    )  # fmt: skip
    for option in [chosen, *rec.alternatives]:
        options.add_row(
            str(option.memory_mb),
            f"{option.vcpus:.2f}",
            f"{option.batch_s_mean:.2f}",
            f"{option.batch_s_worst:.2f}",
            str(option.timeout_s or "none fits"),
            f"{option.cost_per_million['arm64']:,.2f}",
            f"{option.cost_per_million['x86_64']:,.2f}",
        )
    notes = Text("\n".join(f"- {note}" for note in report.notes))
    if report.failed:
        notes.append(
            "\n- not measured:\n  " + "\n  ".join(report.failed),
            style="red",
        )
    return Group(images, summary, options, notes)
