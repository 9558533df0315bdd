"""``resizer tune``: the Lambda's MemorySize, Timeout and cost, from measurements.

Two halves:

* **measuring** (:func:`measure_image`, :func:`measure_concurrent`): each image is
  rendered with the real engine (``resizer.imaging.render`` and the settings of
  ``Settings.from_env``) in a fresh child interpreter that first imports the
  handler and builds its :func:`resizer.handler.runtime` (boto3 clients, thread
  pool), as a Lambda container does. The child reports its memory before the
  render (the runtime baseline) and its peak after, and the CPU seconds of the
  render. One process per image, so one image's peak never hides another's.
* **arithmetic** (everything else, pure): memory for ``WORKERS`` concurrent renders
  of the largest image + the baseline + headroom, rounded to a MemorySize; the CPU
  share that memory buys (1,769 MB = one vCPU); the time a batch takes at that
  share; the smallest Timeout the template allows that covers it with a safety
  factor; the queue's visibility timeout (6 x, derived by the template); the cost
  per million images on arm64 and x86_64.

Peak memory is the child's ``VmHWM`` (``/proc/self/status``), not ``ru_maxrss``:
on Linux ``ru_maxrss`` survives ``execve`` (the kernel folds the parent's address
space, shared with a forked or vforked child until exec, into the child's
high-water mark), so a child of a large process would report the parent's size.
``ru_maxrss`` is the fallback where ``/proc`` is missing (macOS: bytes, not KiB).
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resizer.config import Settings
from resizer.errors import ConfigurationError

if TYPE_CHECKING:
    from rich.console import RenderableType

__all__ = [
    "ALLOWED_TIMEOUTS",
    "DEFAULT_PRICES",
    "Assumptions",
    "ImageMeasurement",
    "MeasurementError",
    "Option",
    "Prices",
    "Recommendation",
    "TuningReport",
    "batch_seconds",
    "choose_timeout",
    "corpus",
    "cost_per_million",
    "evaluate",
    "measure_concurrent",
    "measure_folder",
    "measure_image",
    "memory_needed_mb",
    "recommend",
    "render_report",
    "round_memory_mb",
    "s3_seconds",
    "tune_command",
    "vcpus",
]

# ------------------------------------------------------------------ Lambda facts
MEMORY_MIN_MB = 128
MEMORY_MAX_MB = 10_240
#: Lambda allocates CPU in proportion to memory: 1,769 MB is one full vCPU...
MB_PER_VCPU = 1_769
#: ...up to 6 vCPUs at 10,240 MB.
MAX_VCPUS = 6.0
#: Any whole MB from 128 to 10,240 is valid; 64 MB steps keep the figures readable.
MEMORY_STEP_MB = 64
#: infra/template.yaml's Timeout AllowedValues: the visibility timeout (6 x) comes
#: from a Mappings table, since CloudFormation has no arithmetic.
ALLOWED_TIMEOUTS = (30, 60, 90, 120, 180, 300, 600, 900)
VISIBILITY_FACTOR = 6
#: S3 calls per new object: a HEAD of the source, a HEAD of its smallest rendition
#: (missing: not current), the GET, a PUT per rendition, a HEAD of the source after.
S3_CALLS_FIXED = 4  # three HEADs + the GET; the PUTs scale with the renditions


@dataclass(frozen=True)
class Prices:
    """Lambda list prices. Override with ``--prices FILE`` (see :meth:`from_json`)."""

    arm64_gb_s: float
    x86_64_gb_s: float
    requests_per_million: float
    source: str

    @classmethod
    def from_json(cls, path: Path, defaults: Prices | None = None) -> Prices:
        """``{"arm64": 0.0000133334, "x86_64": 0.0000166667, "requests_per_million": 0.2,
        "source": "eu-west-1, 2026-11"}``; any key left out keeps the default."""
        base = defaults or DEFAULT_PRICES
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ConfigurationError(f"price table {path}: {error}") from None
        if not isinstance(raw, dict):
            raise ConfigurationError(f"price table {path}: expected a JSON object")
        known = {"arm64", "x86_64", "requests_per_million", "source"}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigurationError(
                f"price table {path}: unknown key(s) {unknown}; expected {sorted(known)}"
            )

        def number(name: str, default: float) -> float:
            value = raw.get(name, default)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ConfigurationError(
                    f"price table {path}: {name} must be a non-negative number, got {value!r}"
                )
            return float(value)

        return cls(
            arm64_gb_s=number("arm64", base.arm64_gb_s),
            x86_64_gb_s=number("x86_64", base.x86_64_gb_s),
            requests_per_million=number("requests_per_million", base.requests_per_million),
            source=str(raw.get("source", f"{path.name} (over {base.source})")),
        )

    def per_gb_s(self, architecture: str) -> float:
        return self.arm64_gb_s if architecture == "arm64" else self.x86_64_gb_s


#: AWS Lambda list prices, us-east-1, first pricing tier (as published in 2024-2026;
#: other regions and volume tiers differ): check https://aws.amazon.com/lambda/pricing/.
DEFAULT_PRICES = Prices(
    arm64_gb_s=0.0000133334,
    x86_64_gb_s=0.0000166667,
    requests_per_million=0.20,
    source=(
        "AWS list prices, us-east-1, first tier (2024-2026); "
        "check https://aws.amazon.com/lambda/pricing/"
    ),
)


@dataclass(frozen=True)
class Assumptions:
    """What the measurement cannot know; each is a named, documented guess."""

    workers: int = 4  # WORKERS: records of a batch rendered at once
    batch_size: int = 10  # the event source mapping's BatchSize
    renditions: int = 3  # one PUT each
    #: fraction added to the measured memory (allocator fragmentation in a warm
    #: container, the Lambda runtime client, images a little larger than the corpus)
    memory_headroom: float = 0.25
    #: the Timeout must cover this many times the estimated batch: Lambda's vCPUs
    #: (Graviton2 on arm64) can be slower per core than this machine, S3 has slow
    #: moments and its retries back off
    timeout_safety: float = 3.0
    #: the handler stops starting records when less than this is left (DEADLINE_MARGIN_MS)
    deadline_margin_s: float = 10.0
    s3_request_s: float = 0.03  # typical first-byte latency of a small S3 request in-region
    s3_mb_per_s: float = 80.0  # one stream between Lambda and S3


# ------------------------------------------------------------------ arithmetic
def vcpus(memory_mb: int) -> float:
    """The CPU share Lambda gives a function of this size (1,769 MB = 1 vCPU).

    Linear all the way: at 10,240 MB Lambda gives 6 vCPUs, the rule 5.79, so the
    estimate errs on the slow side at the top (a Timeout a little too generous).
    """
    return min(memory_mb / MB_PER_VCPU, MAX_VCPUS)


def round_memory_mb(memory_mb: float, step: int = MEMORY_STEP_MB) -> int:
    """Up to the next ``step``, within Lambda's 128 - 10,240 MB."""
    rounded = math.ceil(memory_mb / step) * step
    return int(min(max(rounded, MEMORY_MIN_MB), MEMORY_MAX_MB))


def memory_needed_mb(baseline_mb: float, render_mb: float, workers: int) -> float:
    """The runtime's own memory plus ``workers`` renders of the largest image at once."""
    return baseline_mb + workers * render_mb


def s3_seconds(bytes_in: int, bytes_out: int, renditions: int, assume: Assumptions) -> float:
    """S3 time of one object: request latencies (HEADs, GET, PUTs) plus the transfer."""
    calls = S3_CALLS_FIXED + renditions  # a PUT per rendition
    transfer = (bytes_in + bytes_out) / (assume.s3_mb_per_s * 1e6)
    return calls * assume.s3_request_s + transfer


def batch_seconds(
    cpu_s: float, s3_s: float, memory_mb: int, workers: int, batch_size: int
) -> float:
    """Wall time of one invocation whose ``batch_size`` records each take ``cpu_s`` CPU.

    ``min(workers, batch_size)`` records render at once; they share ``vcpus(memory)``.
    Compute is bounded below both by the rounds of workers (a record is one thread:
    it never runs faster than one core) and by the CPU the batch needs over the share.
    S3 waits do not use the CPU; they are added per round (a conservative overlap).
    """
    parallel = max(1, min(workers, batch_size))
    rounds = math.ceil(batch_size / parallel)
    compute = max(rounds * cpu_s, batch_size * cpu_s / vcpus(memory_mb))
    return compute + rounds * s3_s


def choose_timeout(needed_s: float, allowed: Sequence[int] = ALLOWED_TIMEOUTS) -> int | None:
    """The smallest allowed Timeout covering ``needed_s``; None when none does."""
    for value in sorted(allowed):
        if value >= needed_s:
            return value
    return None


def cost_per_million(
    memory_mb: int,
    batch_s: float,
    batch_size: int,
    price_gb_s: float,
    requests_per_million: float,
) -> float:
    """Dollars per million images: GB-seconds of the invocations plus their requests.

    Lambda bills each invocation's duration (rounded up to 1 ms) times its memory in
    GB (MB / 1024), and each invocation as a request: one per batch.
    """
    invocations = 1e6 / batch_size
    billed_s = math.ceil(batch_s * 1000) / 1000
    gb_seconds = invocations * billed_s * memory_mb / 1024
    return gb_seconds * price_gb_s + invocations * requests_per_million / 1e6


# ------------------------------------------------------------------ measurements
@dataclass(frozen=True)
class ImageMeasurement:
    """One image rendered in a fresh child process."""

    name: str
    bytes_in: int
    bytes_out: int
    megapixels: float
    baseline_mb: float  # the child's peak before rendering: interpreter, handler, clients
    peak_mb: float  # the child's peak after rendering
    cpu_s: float  # median CPU seconds of one render (all threads of the child)
    wall_s: float  # median wall seconds of one render
    source: str = "VmHWM"  # where peak_mb comes from: VmHWM or ru_maxrss

    @property
    def render_mb(self) -> float:
        """Memory one render adds above the baseline (its source bytes included)."""
        return max(0.0, self.peak_mb - self.baseline_mb)


@dataclass(frozen=True)
class Option:
    """One MemorySize and what it gives: CPU share, batch times, Timeout, cost."""

    memory_mb: int
    vcpus: float
    batch_s_worst: float  # a batch of the slowest image
    batch_s_mean: float  # a batch of the corpus' mean image
    timeout_needed_s: float
    timeout_s: int | None  # None: no allowed value covers the batch (split it)
    visibility_timeout_s: int | None
    cost_per_million: dict[str, float]  # architecture -> dollars


@dataclass(frozen=True)
class Recommendation:
    chosen: Option  # the smallest memory that holds WORKERS renders of the largest image
    alternatives: list[Option]  # more memory: one vCPU, one vCPU per worker
    memory_needed_mb: float  # before headroom and rounding
    baseline_mb: float
    largest: ImageMeasurement
    concurrent_peak_mb: float | None
    assumptions: Assumptions
    prices: Prices


def evaluate(
    memory_mb: int,
    measurements: Sequence[ImageMeasurement],
    prices: Prices,
    assume: Assumptions,
) -> Option:
    """Batch times, Timeout and cost of this corpus at ``memory_mb``.

    The Timeout covers a whole batch of the slowest image (times the safety factor,
    plus the handler's deadline margin); the cost, a batch of the mean image.
    """
    slowest = max(measurements, key=lambda m: m.cpu_s)
    worst = batch_seconds(
        slowest.cpu_s,
        s3_seconds(slowest.bytes_in, slowest.bytes_out, assume.renditions, assume),
        memory_mb,
        assume.workers,
        assume.batch_size,
    )
    timeout_needed = worst * assume.timeout_safety + assume.deadline_margin_s
    timeout = choose_timeout(timeout_needed)
    mean_cpu = statistics.fmean(m.cpu_s for m in measurements)
    mean_s3 = statistics.fmean(
        s3_seconds(m.bytes_in, m.bytes_out, assume.renditions, assume) for m in measurements
    )
    typical = batch_seconds(mean_cpu, mean_s3, memory_mb, assume.workers, assume.batch_size)
    return Option(
        memory_mb=memory_mb,
        vcpus=vcpus(memory_mb),
        batch_s_worst=worst,
        batch_s_mean=typical,
        timeout_needed_s=timeout_needed,
        timeout_s=timeout,
        visibility_timeout_s=None if timeout is None else timeout * VISIBILITY_FACTOR,
        cost_per_million={
            arch: cost_per_million(
                memory_mb,
                typical,
                assume.batch_size,
                prices.per_gb_s(arch),
                prices.requests_per_million,
            )
            for arch in ("arm64", "x86_64")
        },
    )


def recommend(
    measurements: Sequence[ImageMeasurement],
    prices: Prices = DEFAULT_PRICES,
    assume: Assumptions | None = None,
    concurrent_peak_mb: float | None = None,
) -> Recommendation:
    """MemorySize, Timeout, visibility timeout and cost per million for this corpus.

    ``concurrent_peak_mb``, when measured, is the peak of one child rendering the
    largest image ``workers`` times at once; the memory is sized for the larger of
    it and the sum estimated from the single renders. Alternatives with more memory
    (one vCPU; one vCPU per worker) show what latency costs.
    """
    if not measurements:
        raise ValueError("no measurements to recommend from")
    assume = assume or Assumptions()
    largest = max(measurements, key=lambda m: m.render_mb)
    baseline = max(m.baseline_mb for m in measurements)
    needed = memory_needed_mb(baseline, largest.render_mb, assume.workers)
    if concurrent_peak_mb is not None:
        needed = max(needed, concurrent_peak_mb)
    memory = round_memory_mb(needed * (1 + assume.memory_headroom))
    parallel = min(assume.workers, assume.batch_size)
    bigger = sorted(
        {
            size
            for size in (MB_PER_VCPU, min(parallel * MB_PER_VCPU, MEMORY_MAX_MB))
            if size > memory
        }
    )
    return Recommendation(
        chosen=evaluate(memory, measurements, prices, assume),
        alternatives=[evaluate(size, measurements, prices, assume) for size in bigger],
        memory_needed_mb=needed,
        baseline_mb=baseline,
        largest=largest,
        concurrent_peak_mb=concurrent_peak_mb,
        assumptions=assume,
        prices=prices,
    )


# ------------------------------------------------------------------ the child process
# Runs in a fresh interpreter: argv = [path, renders at once, repeats]. Imports the
# handler and builds its runtime (what a Lambda container holds before its first
# record), then renders and prints one JSON line.
_CHILD = r"""
import json, re, resource, statistics, sys, threading, time

def peak_mb():
    try:
        with open('/proc/self/status') as status:
            match = re.search(r'VmHWM:\s+(\d+) kB', status.read())
        if match:
            return int(match.group(1)) / 1024, 'VmHWM'
    except OSError:
        pass
    scale = 1024 * 1024 if sys.platform == 'darwin' else 1024  # bytes vs KiB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale, 'ru_maxrss'

import resizer.handler
from resizer.config import Settings
from resizer.imaging import render

resizer.handler.runtime()
settings = Settings.from_env()
baseline, source = peak_mb()
path, at_once, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, 'rb') as fh:
    data = fh.read()
cpu, wall, out, errors = [], [], [], []

def one():
    try:
        out.append(sum(len(image.data) for image in render(data, settings)))
    except Exception as error:  # reported to the parent, one line
        errors.append(f"{type(error).__name__}: {getattr(error, 'reason', error)}")

for _ in range(repeats):
    c0, w0 = time.process_time(), time.perf_counter()
    threads = [threading.Thread(target=one) for _ in range(at_once)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cpu.append(time.process_time() - c0)
    wall.append(time.perf_counter() - w0)
    if errors:
        print(json.dumps({'error': errors[0]}))
        sys.exit(0)
from PIL import Image
import io
with Image.open(io.BytesIO(data)) as image:
    megapixels = image.width * image.height / 1e6
peak, source = peak_mb()
print(json.dumps({
    'bytes_in': len(data), 'bytes_out': out[0], 'megapixels': megapixels,
    'baseline_mb': baseline, 'peak_mb': peak, 'source': source,
    'cpu_s': statistics.median(cpu) / at_once, 'wall_s': statistics.median(wall),
}))
"""

#: What the handler needs to build its runtime; no AWS call is made.
_DUMMY_ENVIRONMENT = {
    "DESTINATION_BUCKET": "resizer-tune",
    "DEAD_LETTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/000000000000/resizer-tune",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_METRICS_DISABLED": "true",
}


class MeasurementError(Exception):
    """A child could not render an image; the message is the reason (one line)."""


def _run_child(path: Path, at_once: int, repeats: int, env: Mapping[str, str]) -> dict[str, Any]:
    environment = {**os.environ, **_DUMMY_ENVIRONMENT, **env}
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), str(at_once), str(repeats)],
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
    """The images directly in ``folder`` (by suffix), sorted."""
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder of images")
    found = sorted(p for p in folder.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)
    if not found:
        raise FileNotFoundError(
            f"no images in {folder} (looked for {', '.join(sorted(_IMAGE_SUFFIXES))})"
        )
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

    Raises FileNotFoundError (no folder, no images, no price file) and
    ConfigurationError (a bad price table or setting), which the CLI turns into exit 2.
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

    rec = report.recommendation
    chosen, assume = rec.chosen, rec.assumptions
    images = Table(
        "image", "MP", "bytes in", "bytes out", "peak MB", "render MB", "CPU s", "wall s",
        title=f"one render per fresh process ({report.folder})",
    )  # fmt: skip
    for m in report.measurements:
        images.add_row(
            m.name,
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
        f"({rec.largest.name}){concurrent}; +{assume.memory_headroom:.0%}; "
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
