"""Upload-to-rendition latency with S3 faults injected, for one version of the function.

    python bench/fault_latency.py [--images 120] [--rate 0.1] [--every 0.25] [--src DIR]

A benchmark, never a test: it prints figures and asserts nothing.

The local stack (infra/template.yaml on the emulator, Timeout 30, the queue's
visibility timeout set to that same 30 s as in tests/soak/test_faults.py) runs
without its in-process poller; ``resizer local worker`` runs in a subprocess whose S3
requests go through FaultProxy (tests/support/fault_proxy.py): ``--rate`` of them
meet 503 SlowDown, a reset, a lost response, a GET cut short mid-body, or a delay.
``--src`` runs the worker from another copy of the sources (``git archive <commit> src
| tar -x -C DIR``, then ``--src DIR/src``): the same run against an older version.

Images (distinct 600-2000 px JPEGs) are uploaded one every ``--every`` seconds, straight
to the emulator; a watcher HEADs the destination and records when each image's last
rendition appears. Latency = that moment minus the end of the image's upload. Prints
the median, p90, p99 and max, the proxy's fault counts, and the records the worker
gave back to SQS (each waits a visibility timeout), by error type.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "support"), str(ROOT / "tests" / "soak")]
from fault_proxy import FaultProxy  # noqa: E402
from local_runs import (  # noqa: E402
    BOXES,
    fault_stack,
    photos,
    shorten_visibility,
    worker_command,
    worker_environment,
)


def percentile(values: list[float], percent: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(percent / 100 * len(ordered)) - 1))]


def worker(
    endpoint: str, stack_name: str, proxy: str, src: Path | None, log: Path
) -> subprocess.Popen[bytes]:
    environment = worker_environment(proxy)
    if src is not None:
        environment["PYTHONPATH"] = str(src)
    return subprocess.Popen(
        worker_command(endpoint, stack_name),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env=environment,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=120)
    parser.add_argument("--rate", type=float, default=0.1, help="share of S3 requests faulted")
    parser.add_argument("--every", type=float, default=0.25, help="seconds between uploads")
    parser.add_argument("--src", type=Path, help="run the worker from this source tree")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--log", type=Path, default=Path("build/fault_latency.log"))
    args = parser.parse_args()
    args.log.parent.mkdir(parents=True, exist_ok=True)

    uploads = photos(args.images, f"latency-{uuid.uuid4().hex[:6]}")
    stack = fault_stack("fault-latency")
    stack.start()
    proxy = FaultProxy(stack.endpoint_url, rate=args.rate).start()
    process = None
    try:
        aws, resources = stack.aws, stack.resources
        assert aws is not None
        assert resources is not None
        shorten_visibility(aws, resources)
        process = worker(stack.endpoint_url, resources.stack_name, proxy.url, args.src, args.log)
        uploaded: dict[str, float] = {}
        seen: dict[str, float] = {}
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                for key in [k for k in uploaded if k not in seen]:
                    try:
                        for name in BOXES:
                            aws.s3.head_object(
                                Bucket=resources.destination_bucket, Key=f"{name}/{key}"
                            )
                    except ClientError:
                        continue
                    seen[key] = time.monotonic()
                time.sleep(0.05)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        load = os.getloadavg()[0]
        started = time.monotonic()
        for upload in uploads:
            aws.s3.put_object(Bucket=resources.source_bucket, Key=upload.key, Body=upload.data)
            uploaded[upload.key] = time.monotonic()
            time.sleep(args.every)
        while len(seen) < len(uploads) and time.monotonic() - started < args.timeout:
            time.sleep(0.2)
        done.set()
        watcher.join(5)
    finally:
        if process is not None:
            process.terminate()
            process.wait(30)
        proxy.stop()
        stack.stop()

    latencies = [seen[k] - uploaded[k] for k in seen]
    faults = {k: v for k, v in proxy.counts.items() if k not in ("requests", "upstream_error")}
    label = str(args.src) if args.src else "this checkout"
    print(f"worker from {label}: {len(seen)}/{len(uploads)} images complete, load {load:.1f}")
    print(f"S3 requests through the proxy: {proxy.counts['requests']}, faults: {faults}")
    if latencies:
        print(
            f"upload -> last rendition (s): median {statistics.median(latencies):.2f}  "
            f"p90 {percentile(latencies, 90):.2f}  p99 {percentile(latencies, 99):.2f}  "
            f"max {max(latencies):.2f}  (> 10 s: {sum(1 for v in latencies if v > 10)})"
        )
    print(f"records given back to SQS, by error: {dict(transient_failures(args.log))}")


def transient_failures(log: Path) -> Counter[str]:
    """The handler's "transient failure" log lines in the worker's log, by error type."""
    found: Counter[str] = Counter()
    for line in log.read_text(errors="replace").splitlines():
        if '"transient failure' in line:
            with contextlib.suppress(ValueError):
                found[str(json.loads(line).get("error_type"))] += 1
    return found


if __name__ == "__main__":
    main()
