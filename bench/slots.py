"""RENDER_CONCURRENCY: a batch rendered by WORKERS threads, with and without render slots.

    python bench/slots.py [FOLDER] [--cpus 1] [--rounds 5] [--copies 2]

Each run is a fresh process pinned to ``--cpus`` CPUs (as a Lambda function of up to
1,769 MB gets one vCPU), whose pipeline handles every JPEG of FOLDER (``--copies`` times,
under different keys) on InMemoryStorage with WORKERS=4 threads, as the handler does
with a batch. Contestants: ``RENDER_CONCURRENCY=0`` (the four render at once, the
behaviour before the setting) and ``RENDER_CONCURRENCY=<cpus>`` (the default on
Lambda). Interleaved rounds; medians of CPU seconds (user + system, all threads),
wall seconds and the child's peak RSS, and the median of when each record's
renditions were written (how long the front end waits for an image of the batch).
A benchmark, never a test: it prints, it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import os, sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from resizer.config import Settings
from resizer.notifications import Action, ObjectChange
from resizer.memory_storage import InMemoryStorage
from resizer.pipeline import Pipeline, Result

cpus, copies, files = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:cpus]))
settings = Settings.from_env({**os.environ, "DESTINATION_BUCKET": "out"})
storage = InMemoryStorage(settings)
keys = []
for copy in range(copies):
    for name in files:
        key = f"{copy}/{Path(name).name}"
        storage.upload("in", key, Path(name).read_bytes())
        keys.append(key)
pipeline = Pipeline(settings, storage)
import statistics, time
started = time.perf_counter()

def handle(key):
    outcome = pipeline.handle(ObjectChange(Action.RENDER, "in", key))
    return outcome, time.perf_counter() - started

with ThreadPoolExecutor(settings.workers) as pool:
    done = list(pool.map(handle, keys))
assert all(o.kind is Result.RENDERED for o, _ in done), done
print(statistics.median(t for _, t in done))
"""


def run(slots: int, cpus: int, copies: int, files: list[str]) -> tuple[float, float, float, float]:
    env = {**os.environ, "WORKERS": "4", "RENDER_CONCURRENCY": str(slots)}
    started = time.perf_counter()
    command = [sys.executable, "-c", CHILD, str(cpus), str(copies), *files]
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    waited = float(child.stdout.read())
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"RENDER_CONCURRENCY={slots} failed")
    cpu = usage.ru_utime + usage.ru_stime
    return time.perf_counter() - started, cpu, usage.ru_maxrss / 1024, waited


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=ROOT / "examples" / "photos")
    parser.add_argument("--cpus", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--copies", type=int, default=2)
    args = parser.parse_args()
    files = sorted(str(p) for p in args.folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
    print(f"load average before: {os.getloadavg()}")
    contestants = [0, args.cpus]
    figures: dict[int, list[tuple[float, float, float, float]]] = {s: [] for s in contestants}
    for round_ in range(args.rounds):
        for slots in contestants[round_ % 2 :] + contestants[: round_ % 2]:
            figures[slots].append(run(slots, args.cpus, args.copies, files))
    images = len(files) * args.copies
    print(f"{images} images, WORKERS=4, {args.cpus} CPU(s), median of {args.rounds}")
    for slots, runs in figures.items():
        wall, cpu, rss, waited = (statistics.median(run[i] for run in runs) for i in range(4))
        print(
            f"  RENDER_CONCURRENCY={slots}: CPU {cpu:.2f} s, wall {wall:.2f} s, "
            f"peak RSS {rss:.0f} MB, a record's renditions written after {waited:.2f} s (median)"
        )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
