"""``resizer tune``: the Lambda's MemorySize, Timeout and cost, from measurements.

Three parts: :mod:`.sizing` (pure arithmetic), :mod:`.measure` (runs
:mod:`.child` per image) and :mod:`.report` (the command and its Rich report).

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

from resizer_tools.tuning.measure import (
    MeasurementError,
    corpus,
    measure_concurrent,
    measure_folder,
    measure_image,
)
from resizer_tools.tuning.report import TuningReport, render_report, tune_command
from resizer_tools.tuning.sizing import (
    ALLOWED_TIMEOUTS,
    DEFAULT_PRICES,
    Assumptions,
    ImageMeasurement,
    Option,
    Prices,
    Recommendation,
    batch_seconds,
    choose_timeout,
    cost_per_million,
    evaluate,
    memory_needed_mb,
    recommend,
    round_memory_mb,
    s3_seconds,
    vcpus,
)

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
