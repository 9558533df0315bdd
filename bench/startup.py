"""The start of the ``resizer`` command: a git revision against the working tree, CPU.

    python bench/startup.py [REV] [--rounds 15]

REV (default ``main``) is exported with ``git archive`` as bench/revisions.py does;
both trees run their ``resizer`` entry point (``[project.scripts]``) with this
virtualenv's libraries and their own ``src`` first on ``PYTHONPATH``. Each start is a
fresh process, rounds interleaved (the order rotates each round); CPU is user + system
of the whole process from ``wait4``. Both trees are compiled to bytecode first
(``revisions.compiled``), so both run from ``.pyc`` as an installed package does, and
one warm-up round is discarded.

  help          ``resizer --help``
  resize-help   ``resizer resize --help``
  resize-fails  ``resizer resize MISSING --out DIR``: its input check fails (exit 2)
  to-engine     ``resizer resize PHOTO --out DIR`` up to the engine's first call
                (``render_set`` ends the process there; a 64x48 JPEG)
  resize-one    the same resize to the end: the engine's imports and one tiny photo

Prints the median and lowest CPU per start and tree, and the ratio REV / working tree
(above 1.00x: the working tree starts cheaper). A benchmark: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image
from revisions import ROOT, compiled, entry_point, export, timed

#: Ends the process at the engine's first call (``render_set``; older trees ``render``).
TO_ENGINE = """
import os
import resizer.imaging as imaging
def stop(*args, **kwargs):
    os._exit(0)
imaging.render_set = imaging.render = stop
"""

STARTS = ("help", "resize-help", "resize-fails", "to-engine", "resize-one")


def commands(tree: Path, tmp: Path, photo: Path) -> dict[str, list[str]]:
    program = entry_point(tree)
    cli = [sys.executable, "-c", program]
    out = str(tmp / "out")
    return {
        "help": [*cli, "--help"],
        "resize-help": [*cli, "resize", "--help"],
        "resize-fails": [*cli, "resize", str(tmp / "missing.jpg"), "--out", out],
        "to-engine": [sys.executable, "-c", TO_ENGINE + program, "resize", str(photo), "-o", out],
        "resize-one": [*cli, "resize", str(photo), "--out", out],
    }


def measure(trees: dict[str, Path], rounds: int, tmp: Path) -> dict[tuple[str, str], list[float]]:
    photo = tmp / "photo.jpg"
    Image.new("RGB", (64, 48), (10, 20, 30)).save(photo, "JPEG")
    jobs = [(label, start) for label in trees for start in STARTS]
    results: dict[tuple[str, str], list[float]] = {}
    for round_ in range(rounds + 1):
        shift = round_ % len(jobs)
        for label, start in jobs[shift:] + jobs[:shift]:
            scratch = tmp / f"{label}-{start}-{round_}"
            scratch.mkdir()
            command = commands(trees[label], scratch, photo)[start]
            _, seconds, _ = timed(command, trees[label], ok=(0, 2))  # 2: resize-fails
            if round_:  # round 0 warms the caches: discarded
                results.setdefault((label, start), []).append(seconds)
    return results


def report(results: dict[tuple[str, str], list[float]], revision: str) -> None:
    print(f"CPU s per start; ratio = {revision} / working tree (above 1.00x: working is cheaper)")
    print(f"{'start':14}{'tree':>12}{'median':>9}{'lowest':>9}{'ratio':>8}")
    for start in STARTS:
        old, new = results[("revision", start)], results[("working", start)]
        print(f"{start:14}{revision[:12]:>12}{statistics.median(old):9.3f}{min(old):9.3f}")
        ratio = statistics.median(old) / statistics.median(new)
        print(f"{'':14}{'working':>12}{statistics.median(new):9.3f}{min(new):9.3f}{ratio:7.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision", nargs="?", default="main", help="a git revision")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    revision = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", args.revision],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    print(f"{os.cpu_count()} CPUs, load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        trees = {"revision": export(revision, tmp / "revision"), "working": ROOT}
        trees = {label: compiled(tree) for label, tree in trees.items()}
        results = measure(trees, args.rounds, tmp)
    print(f"revision: {args.revision} = {revision}")
    report(results, revision)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
