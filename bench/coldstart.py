"""Cold start: the handler's import time, its runtime's construction, the zip's size.

    python bench/coldstart.py [--runs 11] [--top 12] [--no-zip] [--no-experiments]

A benchmark, never a test: it prints figures and asserts nothing.

1. Wall time, each in a fresh interpreter (median of --runs): the interpreter alone
   (`python -c pass`), `import resizer.handler`, and the first `runtime()` (Settings,
   the boto3 S3 and SQS clients, the thread pool) with a dummy environment. That is
   what a Lambda cold start pays before the first record (Lambda's own bootstrap aside).
2. `python -X importtime -c "import resizer.handler"`: which packages dominate (self
   time summed per top-level package) and the handler's direct imports (cumulative).
3. The deployment zip: `scripts/package.py` for the template's Runtime/Architecture
   into a temporary folder (the wheels are cached in build/wheelhouse; the first build
   downloads them from PyPI), its manifest, and what takes the room inside.
4. Experiments: copies of src/resizer with one change to handler.py each (printed as
   a diff), timed interleaved with the unchanged code, fresh interpreters again.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"

#: What runtime() needs to build itself; no AWS call is made.
DUMMY_ENV = {
    "DESTINATION_BUCKET": "resizer-coldstart",
    "DEAD_LETTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/000000000000/resizer-coldstart",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "POWERTOOLS_METRICS_DISABLED": "true",
}

# Wall and CPU time: on a busy machine the CPU time of the child is the steadier figure.
_TIMED = """
import json, time
t0, c0 = time.perf_counter(), time.process_time()
import resizer.handler
t1, c1 = time.perf_counter(), time.process_time()
resizer.handler.runtime()
t2, c2 = time.perf_counter(), time.process_time()
print(json.dumps({
    "import_ms": (t1 - t0) * 1e3, "runtime_ms": (t2 - t1) * 1e3,
    "import_cpu_ms": (c1 - c0) * 1e3, "runtime_cpu_ms": (c2 - c1) * 1e3,
}))
"""


def _env(src: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    env.update(DUMMY_ENV)
    env["PYTHONPATH"] = str(src)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # leave no __pycache__ in the experiment copies
    return env


def _run(code: str, src: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *flags, "-c", code],
        env=_env(src),
        capture_output=True,
        text=True,
        check=True,
        cwd=src,
    )


def timed(src: Path) -> dict[str, float]:
    result = _run(_TIMED, src)
    return json.loads(result.stdout.strip().splitlines()[-1])


def interpreter_ms(runs: int) -> float:
    import time

    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        samples.append((time.perf_counter() - started) * 1e3)
    return statistics.median(samples)


# ------------------------------------------------------------------ -X importtime
_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)$")


def importtime(src: Path) -> list[tuple[int, int, int, str]]:
    """(self µs, cumulative µs, depth, module) for every module import."""
    result = _run("import resizer.handler", src, "-X", "importtime")
    rows = []
    for line in result.stderr.splitlines():
        match = _LINE.match(line)
        if match:
            depth = len(match.group(3)) // 2
            rows.append((int(match.group(1)), int(match.group(2)), depth, match.group(4)))
    return rows


def print_importtime(rows: list[tuple[int, int, int, str]], top: int) -> None:
    total = next(cum for _, cum, _, name in rows if name == "resizer.handler")
    by_package: dict[str, int] = defaultdict(int)
    for self_us, _, _, name in rows:
        by_package[name.split(".")[0]] += self_us
    print(f"\n-X importtime: import resizer.handler = {total / 1e3:.0f} ms (one run, traced)")
    print(f"  {'package (self time summed)':<36}{'ms':>8}{'share':>8}")
    for name, us in sorted(by_package.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {name:<36}{us / 1e3:8.1f}{us / total:8.0%}")
    # Direct imports of resizer.handler: depth 1, under it (the rows end with it).
    direct = [(cum, name) for _, cum, depth, name in rows if depth == 1]
    print(f"\n  {'imported by resizer.handler (cumulative)':<44}{'ms':>8}")
    for cum, name in sorted(direct, reverse=True)[:top]:
        print(f"  {name:<44}{cum / 1e3:8.1f}")


# ------------------------------------------------------------------ the zip
def zip_report(top: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "package.py"), "--out", tmp],
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT,
        )
        if result.returncode != 0:
            print(f"\nzip: scripts/package.py failed:\n{result.stderr.strip()}")
            return
        manifest_path = next(Path(tmp).glob("*.manifest.json"))
        manifest = json.loads(manifest_path.read_text())
        zip_path = Path(tmp) / manifest["zip"]
        sizes: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        with zipfile.ZipFile(zip_path) as zf:
            for info in zf.infolist():
                parts = info.filename.split("/")
                key = parts[0]
                if key == "botocore" and len(parts) > 2 and parts[1] == "data":
                    key = "botocore/data (service models)"
                sizes[key][0] += info.compress_size
                sizes[key][1] += info.file_size
    print(
        f"\ndeployment zip ({manifest['runtime']}, {manifest['arch']}): "
        f"{manifest['zipped_bytes'] / 1e6:.1f} MB zipped, "
        f"{manifest['unzipped_bytes'] / 1e6:.1f} MB unzipped, {manifest['file_count']} files "
        "(Lambda limits: 50 MB zipped for a direct upload, 250 MB unzipped)"
    )
    print("  wheels: " + ", ".join(f"{w['name']} {w['version']}" for w in manifest["wheels"]))
    print(f"  {'inside the zip':<40}{'zipped MB':>11}{'unzipped MB':>13}")
    for name, (zipped, unzipped) in sorted(sizes.items(), key=lambda kv: -kv[1][0])[:top]:
        print(f"  {name:<40}{zipped / 1e6:11.1f}{unzipped / 1e6:13.1f}")


# ------------------------------------------------------------------ experiments
_IMPORT = ("import boto3\n", "from botocore.session import get_session\n")
_CLIENTS = (
    '    s3 = boto3.client("s3", config=config)\n    sqs = boto3.client("sqs", config=config)\n'
)
_FIELD = "    pipeline: Pipeline\n    sqs: SQSClient\n    executor: ThreadPoolExecutor\n"
_EXECUTOR = '        executor=ThreadPoolExecutor(settings.workers, thread_name_prefix="render"),\n'


def _lazy_sqs(make_client: str) -> list[tuple[str, str]]:
    """Runtime.sqs becomes a cached property; the clients' Config is kept for it."""
    return [
        (
            _FIELD,
            "    pipeline: Pipeline\n    executor: ThreadPoolExecutor\n    config: Config\n\n"
            "    @functools.cached_property\n"
            "    def sqs(self) -> SQSClient:\n"
            '        """Only permanent failures need SQS: made on the first one, not at init."""\n'
            f'        return {make_client}("sqs", config=self.config)\n',
        ),
        ("        sqs=sqs,\n", ""),
        (_EXECUTOR, _EXECUTOR + "        config=config,\n"),
    ]


#: Each experiment: edits (old text, new text) applied to resizer/handler.py, in order.
EXPERIMENTS: dict[str, list[tuple[str, str]]] = {
    "A: botocore session instead of boto3 (no s3transfer import)": [
        _IMPORT,
        (
            _CLIENTS,
            "    session = get_session()\n"
            '    s3 = session.create_client("s3", config=config)\n'
            '    sqs = session.create_client("sqs", config=config)\n',
        ),
    ],
    "B: SQS client made on the first dead letter, not at cold start": [
        (_CLIENTS, '    s3 = boto3.client("s3", config=config)\n'),
        *_lazy_sqs("boto3.client"),
    ],
    "A + B": [
        _IMPORT,
        (_CLIENTS, '    s3 = get_session().create_client("s3", config=config)\n'),
        *_lazy_sqs("get_session().create_client"),
    ],
}


def variant(tmp: Path, name: str, edits: list[tuple[str, str]]) -> tuple[Path, str]:
    """A copy of src/resizer with the edits applied to handler.py; (its src, the diff)."""
    dest = tmp / re.sub(r"\W+", "-", name)[:40] / "src"
    shutil.copytree(SRC / "resizer", dest / "resizer", ignore=shutil.ignore_patterns("__pycache__"))
    handler = dest / "resizer" / "handler.py"
    before = handler.read_text()
    after = before
    for old, new in edits:
        if old not in after:
            raise SystemExit(f"experiment {name!r}: handler.py no longer contains {old!r}")
        after = after.replace(old, new, 1)
    handler.write_text(after)
    diff = "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            "a/src/resizer/handler.py",
            "b/src/resizer/handler.py",
            n=1,
        )
    )
    return dest, diff


def experiments(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        variants = {"unchanged": SRC}
        diffs = {}
        for name, edits in EXPERIMENTS.items():
            variants[name], diffs[name] = variant(Path(tmp), name, edits)
        samples: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
        names = list(variants)
        for round_ in range(runs):  # interleaved, order rotating: noise hits every variant
            for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
                samples[name].append(timed(variants[name]))
    print(f"\nexperiments (fresh interpreters, interleaved, median of {runs}; wall | CPU ms)")
    print(f"  {'variant':<64}{'import':>14}{'runtime':>14}{'total':>14}")
    base = _medians(samples["unchanged"])
    for name, rows in samples.items():
        med = _medians(rows)
        delta = (
            ""
            if name == "unchanged"
            else f"  ({med['total'] - base['total']:+.0f} | {med['cpu'] - base['cpu']:+.0f})"
        )
        print(
            f"  {name:<64}{_pair(med, 'import_ms', 'import_cpu_ms')}"
            f"{_pair(med, 'runtime_ms', 'runtime_cpu_ms')}{_pair(med, 'total', 'cpu')}{delta}"
        )
    print(f"\n--- the change, A + B\n{diffs['A + B']}")


def _medians(rows: list[dict[str, float]]) -> dict[str, float]:
    keys = ("import_ms", "runtime_ms", "import_cpu_ms", "runtime_cpu_ms")
    med = {key: statistics.median(r[key] for r in rows) for key in keys}
    med["total"] = statistics.median(r["import_ms"] + r["runtime_ms"] for r in rows)
    med["cpu"] = statistics.median(r["import_cpu_ms"] + r["runtime_cpu_ms"] for r in rows)
    return med


def _pair(med: dict[str, float], wall: str, cpu: str) -> str:
    return f"{med[wall]:7.0f} |{med[cpu]:5.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=11, help="fresh interpreters per figure")
    parser.add_argument("--top", type=int, default=12, help="rows per breakdown")
    parser.add_argument("--no-zip", action="store_true", help="skip building the zip")
    parser.add_argument("--no-experiments", action="store_true", help="skip the lazy imports")
    args = parser.parse_args()

    print(f"python {sys.version.split()[0]} on {os.cpu_count()} CPU(s); load {os.getloadavg()}")
    bare = interpreter_ms(args.runs)
    rows = [timed(SRC) for _ in range(args.runs)]
    med = _medians(rows)
    print(f"\ncold start, fresh interpreters, median of {args.runs}")
    print(f"  {'interpreter alone (python -c pass)':<44}{bare:9.0f}")
    print(f"  {'':<44}{'wall ms':>9}{'CPU ms':>9}")
    for label, wall, cpu in (
        ("import resizer.handler", "import_ms", "import_cpu_ms"),
        ("first runtime() (settings, S3+SQS clients)", "runtime_ms", "runtime_cpu_ms"),
        ("handler ready (import + runtime)", "total", "cpu"),
    ):
        print(f"  {label:<44}{med[wall]:9.0f}{med[cpu]:9.0f}")
    print_importtime(importtime(SRC), args.top)
    if not args.no_zip:
        zip_report(args.top)
    if not args.no_experiments:
        experiments(args.runs)


if __name__ == "__main__":
    main()
