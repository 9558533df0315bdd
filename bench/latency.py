"""End-to-end latency through the local stack, and the handler's own split.

    python bench/latency.py [--uploads 21] [--burst] [--photos FILE...]

A benchmark, never a test: it prints figures and asserts nothing.

Starts the local stack in this process (moto's server on 127.0.0.1, infra/template.yaml
deployed into it, the poller calling resizer.handler.lambda_handler), as `resizer demo`
does, then uploads the bundled photos (examples/photos, cycled; each upload under a
key of its own) and times, per upload:

* upload: the PUT of the source (boto3 upload_file, as `resizer upload` does);
* end to end: from the end of that upload until the last of its renditions exists in
  the destination bucket (HEAD polled every --poll-ms): S3 notification, queue, the
  poller's long poll, the handler's work;

and, from the handler's own JSON log line per object (captured from Powertools' stream
handler: the very line CloudWatch would get), its steps_ms: fetch (the GET of the
source), render (decode, resize, encode: resizer.imaging.render), store (the PUTs of
the renditions), and the rest of its `ms` (HEADs: renditions current? source changed?).

Sequential by default (one upload at a time on an idle stack: latency without
queueing); --burst uploads them all at once (latency with queueing behind the
template's MaximumConcurrency and this machine's cores). Everything (emulator, poller,
handler, this loop) shares one process and its GIL, so the figures are an upper bound
of what the handler would see against real S3, and a lower bound of nothing.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import statistics
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from botocore.exceptions import ClientError

from resizer.config import parse_renditions
from resizer_tools.local.stack import LocalStack
from resizer_tools.ops.aws import Aws, StackResources
from resizer_tools.ops.operations import upload_file

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT / "examples" / "photos"
TEMPLATE = ROOT / "infra" / "template.yaml"
PREFIX = "latency"
#: Log every object (INFO), but no EMF metrics lines.
ENVIRONMENT = {"POWERTOOLS_LOG_LEVEL": "INFO", "POWERTOOLS_METRICS_DISABLED": "true"}


class LogLines(io.TextIOBase):
    """A stream for Powertools' handler: keeps the JSON lines that carry ``steps_ms``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._partial = ""
        self.objects: dict[str, tuple[float, dict[str, float]]] = {}  # key -> (ms, steps)

    def write(self, text: str) -> int:
        with self._lock:
            self._partial += text
            *lines, self._partial = self._partial.split("\n")
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("steps_ms") and "key" in entry:
                steps = {str(k): float(v) for k, v in entry["steps_ms"].items()}
                with self._lock:
                    self.objects[str(entry["key"])] = (float(entry["ms"]), steps)
        return len(text)


def capture_handler_logs(lines: LogLines) -> None:
    """Point the handler logger's stream handlers (Powertools: stdout) at ``lines``."""
    logger = logging.getLogger(os.environ.get("POWERTOOLS_SERVICE_NAME", "resizer"))
    handlers = [h for h in logger.handlers if isinstance(h, logging.StreamHandler)]
    if not handlers:
        raise SystemExit("the handler's logger has no stream handler: nothing to capture")
    for handler in handlers:
        handler.setStream(lines)


def _exists(aws: Aws, bucket: str, key: str) -> bool:
    try:
        aws.s3.head_object(Bucket=bucket, Key=key)
    except ClientError:
        return False
    return True


def watch(
    aws: Aws,
    resources: StackResources,
    pending: dict[str, list[str]],
    poll_s: float,
    timeout_s: float,
) -> dict[str, float]:
    """Monotonic time each source's last rendition was first seen (missing: timed out).

    ``pending`` maps a source key to its rendition keys; every missing rendition is
    HEADed each round, so a source that finishes early is seen early.
    """
    missing = {key: list(keys) for key, keys in pending.items()}
    seen: dict[str, float] = {}
    deadline = time.monotonic() + timeout_s
    while missing and time.monotonic() < deadline:
        for key, keys in list(missing.items()):
            keys[:] = [k for k in keys if not _exists(aws, resources.destination_bucket, k)]
            if not keys:
                seen[key] = time.monotonic()
                del missing[key]
        if missing:
            time.sleep(poll_s)
    return seen


def percentile(values: Sequence[float], percent: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def summary(label: str, values: Sequence[float]) -> str:
    return (
        f"  {label:<34}{statistics.median(values):9.0f}{percentile(values, 95):9.0f}"
        f"{min(values):9.0f}{max(values):9.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--uploads", type=int, default=21, help="uploads (photos cycled)")
    parser.add_argument("--burst", action="store_true", help="upload all, then wait")
    parser.add_argument("--photos", type=Path, nargs="*", help="default: examples/photos/*.jpg")
    parser.add_argument("--poll-ms", type=float, default=20.0, help="HEAD polling interval")
    parser.add_argument("--timeout", type=float, default=120.0, help="s to wait for renditions")
    args = parser.parse_args()

    photos = args.photos or sorted(PHOTOS.glob("*.jpg"))
    uploads = [
        (f"{PREFIX}/{i:03d}-{photos[i % len(photos)].name}", photos[i % len(photos)])
        for i in range(args.uploads)
    ]
    lines = LogLines()
    with LocalStack(
        TEMPLATE, port=0, stack_name="resizer-latency", environment=ENVIRONMENT
    ) as stack:
        assert stack.aws is not None
        assert stack.resources is not None
        assert stack.poller is not None
        aws, resources, config = stack.aws, stack.resources, stack.poller.config
        capture_handler_logs(lines)
        renditions = parse_renditions(config.environment.get("RENDITIONS", ""))
        print(
            f"local stack up in {stack.seconds:.1f} s ({stack.endpoint_url}): batch "
            f"{config.batch_size}, {config.concurrency} concurrent invocations, "
            f"{config.memory_mb} MB, renditions {', '.join(map(str, renditions))}; "
            f"{os.cpu_count()} CPU(s), load {os.getloadavg()[0]:.1f}"
        )
        upload_ms: list[float] = []
        ended: dict[str, float] = {}
        seen: dict[str, float] = {}
        poll_s = args.poll_ms / 1000

        def upload(key: str, path: Path) -> None:
            t0 = time.monotonic()
            upload_file(aws, resources, path, key)
            ended[key] = time.monotonic()
            upload_ms.append((ended[key] - t0) * 1000)

        def outputs(key: str) -> list[str]:
            return [f"{r.name}/{key}" for r in renditions]

        started = time.monotonic()
        if args.burst:
            for key, path in uploads:
                upload(key, path)
            seen = watch(aws, resources, {k: outputs(k) for k, _ in uploads}, poll_s, args.timeout)
        else:
            for key, path in uploads:
                upload(key, path)
                seen.update(watch(aws, resources, {key: outputs(key)}, poll_s, args.timeout))
        e2e_ms = {key: (seen[key] - ended[key]) * 1000 for key in seen}
        elapsed = time.monotonic() - started
        # The log line is written after the last PUT: give the last one a moment.
        deadline = time.monotonic() + 5
        while len(lines.objects) < len(e2e_ms) and time.monotonic() < deadline:
            time.sleep(0.05)

    mode = "burst (all uploaded, then waited for)" if args.burst else "sequential (one at a time)"
    print(
        f"\n{len(uploads)} uploads of {len(photos)} photos, {mode}, in {elapsed:.1f} s; "
        f"{len(e2e_ms)} complete"
    )
    print(f"  {'ms':<34}{'p50':>9}{'p95':>9}{'min':>9}{'max':>9}")
    print(summary("upload (PUT of the source)", upload_ms))
    if e2e_ms:
        print(summary("upload end -> last rendition", list(e2e_ms.values())))
    logged = [lines.objects[k] for k in e2e_ms if k in lines.objects]
    if logged:
        print(f"\nthe handler's own split ({len(logged)} log lines, steps_ms)")
        for step in ("fetch", "render", "store"):
            values = [steps[step] for _, steps in logged if step in steps]
            if values:
                print(summary(step, values))
        print(summary("HEADs (current? changed?)", [ms - sum(st.values()) for ms, st in logged]))
        print(summary("handler total (ms)", [ms for ms, _ in logged]))
    missing = len(uploads) - len(e2e_ms)
    if missing:
        print(f"\n{missing} upload(s) did not get every rendition within {args.timeout:.0f} s")


if __name__ == "__main__":
    main()
