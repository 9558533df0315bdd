"""The arithmetic of ``resizer tune`` (pure): from measurements to MemorySize, Timeout, cost.

Memory for ``WORKERS`` concurrent renders of the largest image + the baseline +
headroom, rounded to a MemorySize; the CPU share that memory buys (1,769 MB = one
vCPU); the time a batch takes at that share; the smallest Timeout the template
allows that covers it with a safety factor; the queue's visibility timeout (6 x,
derived by the template); the cost per million images on arm64 and x86_64.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from resizer import config
from resizer.errors import ConfigurationError
from resizer_tools.errors import UsageError

# ------------------------------------------------------------------ Lambda facts
MEMORY_MIN_MB = 128
MEMORY_MAX_MB = 10_240
#: Lambda allocates CPU in proportion to memory: 1,769 MB is one full vCPU...
MB_PER_VCPU = config.MB_PER_VCPU
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
        raise UsageError("no measurements to recommend from: measure at least one image")
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
