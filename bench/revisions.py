"""A git revision against the working tree, in one interleaved run: the CLI and the engine.

    python bench/revisions.py REV PHOTO... [--rounds 5] [--passes 3] [--ladder RENDITIONS]

The revision is exported with ``git archive`` into a temporary folder; both trees are
compiled to bytecode (as installed) and run with this virtualenv's libraries and their
own ``src`` first on ``PYTHONPATH``. Four
contestants per tree, each a fresh process, rounds interleaved (the order rotates each
round so drift on a shared machine falls on both trees alike):

  cli        the ``resizer`` command as the tree's ``pyproject.toml`` declares it
             (``[project.scripts]``), ``resize PHOTO... --out DIR``: imports, threads,
             manifests and all, what a user runs on a folder
  help       ``resizer --help``: the start-up cost of every command
  engine     the function's engine in one warm process, one thread: ``--passes`` times
             over the photos with the default renditions; the first pass is discarded
             (imports, first touches of memory), the rest averaged
  ladder     the same with ``--ladder`` (a web ladder with crops and modern formats)

Figures are medians over the rounds: wall seconds and CPU seconds (user + system of the
child and its threads, from ``wait4``: what Lambda bills), then each contestant's ratio
``REV / working tree`` (above 1.00x: the working tree is faster). A benchmark, never a
test: it prints, it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WEB_LADDER = (
    "thumb=200x200:cover,card=640x360:cover:format=avif+webp+jpeg,hero=1600x:format=webp+jpeg"
)

# The engine as a Lambda container runs it between cold starts: one thread, warm.
# ``render_set`` where the tree has it (older trees: ``render``).
ENGINE = """
import os, sys, time
from pathlib import Path
from resizer.config import Settings
import resizer.imaging as imaging
render = getattr(imaging, "render_set", None) or imaging.render
env = dict(os.environ)
if sys.argv[2]:
    env["RENDITIONS"] = sys.argv[2]
settings = Settings.from_env(env)
photos = [Path(p).read_bytes() for p in sys.argv[3:]]
passes = int(sys.argv[1])
for index in range(passes):
    if index == 1:
        start_cpu, start_wall = time.process_time(), time.perf_counter()
    for data in photos:
        render(data, settings)
cpu, wall = time.process_time() - start_cpu, time.perf_counter() - start_wall
print(f"{wall / (passes - 1)} {cpu / (passes - 1)}")
"""

CLI = (
    "import sys; from {module} import {function} as main; sys.argv[0] = 'resizer'; sys.exit(main())"
)


def export(revision: str, into: Path) -> Path:
    """The revision's files (``git archive``) in ``into``."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", revision],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def compiled(tree: Path) -> Path:
    """``tree`` with its ``src`` compiled to bytecode, as an installed package runs.
    Without it, an exported tree (no ``.pyc``) under ``PYTHONDONTWRITEBYTECODE`` would
    compile its modules at every start, and the comparison would bill that to it alone."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "src")], check=True)
    return tree


def entry_point(tree: Path) -> str:
    """The ``python -c`` program that runs the tree's ``resizer`` command."""
    scripts = tomllib.loads((tree / "pyproject.toml").read_text())["project"]["scripts"]
    module, function = scripts["resizer"].split(":")
    return CLI.format(module=module, function=function)


def timed(command: list[str], tree: Path, ok: tuple[int, ...] = (0,)) -> tuple[float, float, str]:
    """(wall s, CPU s, stdout) of one child with ``tree/src`` first on the path; CPU is
    user + system of the child and every thread of it, from wait4. An exit code not in
    ``ok`` raises."""
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=tree)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) not in ok:
            err.seek(0)
            raise RuntimeError(f"{command[:3]} in {tree} failed: {err.read().decode()[-2000:]}")
        out.seek(0)
        return wall, usage.ru_utime + usage.ru_stime, out.read().decode()


def contestants(
    tree: Path, photos: list[str], out: Path, passes: int, ladder: str
) -> dict[str, list[str]]:
    cli = [sys.executable, "-c", entry_point(tree)]
    engine = [sys.executable, "-c", ENGINE, str(passes)]
    return {
        "cli": [*cli, "resize", *photos, "--out", str(out)],
        "help": [*cli, "--help"],
        "engine": [*engine, "", *photos],
        "ladder": [*engine, ladder, *photos],
    }


def measure(trees: dict[str, Path], args: argparse.Namespace, tmp: Path) -> dict:
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    photos = [str(Path(p).resolve()) for p in args.photos]
    failed: dict[tuple[str, str], str] = {}
    jobs = [(label, name) for label in trees for name in ("cli", "help", "engine", "ladder")]
    for round_ in range(args.rounds):
        shift = round_ % len(jobs)
        for label, name in jobs[shift:] + jobs[:shift]:
            if (label, name) in failed:
                continue
            out = tmp / f"out-{label}-{round_}"
            command = contestants(trees[label], photos, out, args.passes, args.ladder)[name]
            try:
                wall, cpu, printed = timed(command, trees[label])
            except RuntimeError as error:  # e.g. an old tree without the ladder's grammar
                failed[(label, name)] = str(error).splitlines()[-1]
                print(f"  {label} {name}: cannot run ({failed[(label, name)]})")
                continue
            if name in ("engine", "ladder"):  # the warm passes, measured inside
                wall, cpu = (float(x) for x in printed.split())
            results.setdefault((label, name), []).append((wall, cpu))
            print(f"  round {round_ + 1} {label:>8} {name:7} wall {wall:7.3f} s  CPU {cpu:7.3f} s")
    return results


def report(results: dict, revision: str) -> None:
    print(f"\nmedians; ratio = {revision} / working tree (above 1.00x: the working tree is faster)")
    print(f"{'contestant':10}{'tree':>10}{'wall s':>9}{'CPU s':>9}{'wall x':>9}{'CPU x':>8}")
    for name in ("cli", "help", "engine", "ladder"):
        if ("revision", name) not in results or ("working", name) not in results:
            print(f"{name:10}{'':>10}  not comparable: one tree could not run it")
            continue
        old = [statistics.median(v) for v in zip(*results[("revision", name)], strict=True)]
        new = [statistics.median(v) for v in zip(*results[("working", name)], strict=True)]
        print(f"{name:10}{revision[:10]:>10}{old[0]:9.3f}{old[1]:9.3f}")
        print(
            f"{'':10}{'working':>10}{new[0]:9.3f}{new[1]:9.3f}"
            f"{old[0] / new[0]:8.2f}x{old[1] / new[1]:7.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision", help="a git revision, e.g. 461ffa4 or HEAD~3")
    parser.add_argument("photos", nargs="+", help="the photos both trees resize")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--passes", type=int, default=3, help="engine passes (first discarded)")
    parser.add_argument("--ladder", default=WEB_LADDER)
    args = parser.parse_args()
    if args.passes < 2:
        parser.error("--passes must be at least 2 (the first pass is discarded)")
    print(f"{os.cpu_count()} CPUs, load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        trees = {"revision": export(args.revision, tmp / "revision"), "working": ROOT}
        trees = {label: compiled(tree) for label, tree in trees.items()}
        results = measure(trees, args, tmp)
    report(results, args.revision)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
