"""Cold start, this tree against other commits: the import, the first invocation, the zip.

    python bench/coldstart.py --baseline 461ffa4 [--runs 15] [--mode zip venv]
                              [--importtime] [--no-zip-sizes] [--without-bytecode]

A benchmark, never a test: it prints figures and asserts nothing but that every
contestant did the same work.

Contestants: the working tree, and each ``--baseline`` commit (``git archive`` into a
temporary folder). Each is run as a Lambda container would run it, in fresh processes,
interleaved round by round (the order rotating, so the machine's noise hits everyone):

* ``zip``: the contestant's own ``scripts/package.py --host`` builds its deployment zip
  for this interpreter; the zip is unzipped into a read-only folder and the probe runs
  with ``-I -S -B``: nothing but the zip and the standard library, and no bytecode
  written (/var/task is read-only: a zip without bytecode compiles every module it
  imports on every cold start). What Lambda runs.
* ``venv``: the contestant's src/ in front of this venv's site-packages (bytecode cached):
  what a developer's ``import resizer.handler`` costs.

Each run is ``bench/coldstart_probe.py``: ``import resizer.handler``, then one
``lambda_handler`` call with one fresh small JPEG against moto's server on 127.0.0.1
(clients, HEAD, GET, three renditions PUT). The process's whole CPU time (interpreter
start-up included) comes from ``getrusage``. CPU time is the steadier figure on a shared
machine; the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resizer.config import Settings
from resizer.layout import rendition_key
from resizer.notifications import created_record, notification_body
from resizer_tools.local.emulator import Emulator as Moto
from resizer_tools.local.lambda_event import to_lambda_record

ROOT = Path(__file__).resolve().parents[1]
PROBE = Path(__file__).with_name("coldstart_probe.py")
WHEELHOUSE = ROOT / "build" / "wheelhouse"
REGION = "us-east-1"
#: A Lambda container: nothing but the zip and the standard library (-I -S), and no
#: bytecode written (-B: /var/task is read-only; chmod alone does not stop root).
ZIP_FLAGS = ["-I", "-S", "-B"]
#: What a commit's package.py needs from its tree.
TREE = ("src", "scripts", "requirements", "infra", "pyproject.toml")


@dataclass
class Contestant:
    name: str
    root: Path  # a checkout (the working tree, or a commit's archive)
    package_args: tuple[str, ...] = ()  # extra scripts/package.py options
    task: Path | None = None  # its unzipped host zip
    manifest: dict[str, Any] | None = None

    def path(self, mode: str) -> Path:
        if mode == "zip":
            assert self.task is not None
            return self.task
        return self.root / "src"


# ---------------------------------------------------------------------------- setup


def export(ref: str, dest: Path) -> Path:
    """The files of ``ref`` that a build needs, extracted into dest."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref, *TREE], cwd=ROOT, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def wheelhouse() -> list[str]:
    """Every commit's build shares this tree's wheel cache (pins are hash-checked anyway)."""
    return ["--wheelhouse", str(WHEELHOUSE)]


def build_zip(contestant: Contestant, tmp: Path) -> None:
    """The contestant's own package.py builds its zip for this interpreter; unzip read-only."""
    out = tmp / f"{contestant.name}-dist"
    options = ["--host", "--out", str(out), *wheelhouse(), *contestant.package_args]
    subprocess.run(
        [sys.executable, "scripts/package.py", *options],
        cwd=contestant.root,
        check=True,
        capture_output=True,
    )
    contestant.manifest = json.loads(next(out.glob("*.manifest.json")).read_text())
    task = tmp / f"{contestant.name}-task"
    with zipfile.ZipFile(out / contestant.manifest["zip"]) as zf:
        zf.extractall(task)
    for path in [task, *task.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)
    contestant.task = task


def unfreeze(path: Path) -> None:
    for item in [path, *path.rglob("*")]:
        item.chmod(item.stat().st_mode | 0o200)


@dataclass
class Emulator:
    s3: Any
    sqs: Any
    endpoint: str
    source: str
    destination: str
    queue_url: str
    dlq_url: str

    def env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
        return keep | {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "DESTINATION_BUCKET": self.destination,
            "DEAD_LETTER_QUEUE_URL": self.dlq_url,
            "POWERTOOLS_METRICS_NAMESPACE": "Resizer",
        }

    def new_image(self, data: bytes) -> tuple[str, dict[str, Any]]:
        """A fresh key in the source bucket and its S3 notification through the queue, as
        Lambda hands it to the function (the local stack poller's to_lambda_record)."""
        key = f"coldstart/{uuid.uuid4().hex}.jpg"
        etag = self.s3.put_object(Bucket=self.source, Key=key, Body=data)["ETag"].strip('"')
        record = created_record(self.source, key, etag=etag, size=len(data))
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=notification_body([record]))
        message = self.sqs.receive_message(
            QueueUrl=self.queue_url, AttributeNames=["All"], MessageAttributeNames=["All"]
        )["Messages"][0]
        self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        arn = f"arn:aws:sqs:{REGION}:123456789012:coldstart-q"
        return key, {"Records": [to_lambda_record(message, arn, REGION)]}

    def rendered(self, key: str) -> bool:
        wanted = {rendition_key(key, rendition.name) for rendition in Settings().renditions}
        listed = self.s3.list_objects_v2(Bucket=self.destination).get("Contents", [])
        return wanted <= {o["Key"] for o in listed}


@contextmanager
def emulator() -> Iterator[Emulator]:
    import boto3

    with Moto() as moto:
        url = moto.endpoint_url
        creds = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        s3 = boto3.client("s3", region_name=REGION, endpoint_url=url, **creds)
        sqs = boto3.client("sqs", region_name=REGION, endpoint_url=url, **creds)
        source, destination = "coldstart-source", "coldstart-destination"
        s3.create_bucket(Bucket=source)
        s3.create_bucket(Bucket=destination)
        queue, dlq = (sqs.create_queue(QueueName=f"coldstart-{q}")["QueueUrl"] for q in "qd")
        yield Emulator(s3, sqs, url, source, destination, queue, dlq)


def small_jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.linear_gradient("L").resize((640, 480)).convert("RGB").save(buffer, "JPEG")
    return buffer.getvalue()


# ---------------------------------------------------------------------------- runs


def probe(contestant: Contestant, mode: str, aws: Emulator, image: bytes) -> dict[str, float]:
    key, event = aws.new_image(image)
    flags = ZIP_FLAGS if mode == "zip" else []
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, *flags, str(PROBE), str(contestant.path(mode)), json.dumps(event)],
        capture_output=True,
        text=True,
        env=aws.env(),
        cwd=tempfile.gettempdir(),
        check=False,
    )
    wall = (time.perf_counter() - started) * 1e3
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{contestant.name} ({mode}) failed:\n{result.stderr[-3000:]}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    if figures["response"] != {"batchItemFailures": []} or not aws.rendered(key):
        raise SystemExit(f"{contestant.name} ({mode}) did not render {key}: {figures}")
    if not figures["resizer"].startswith(str(contestant.path(mode))):
        raise SystemExit(f"{contestant.name} ({mode}) imported {figures['resizer']}")
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1e3
    return {
        "import_ms": figures["import_ms"],
        "import_cpu_ms": figures["import_cpu_ms"],
        "invoke_ms": figures["invoke_ms"],
        "invoke_cpu_ms": figures["invoke_cpu_ms"],
        "first_ms": figures["import_ms"] + figures["invoke_ms"],
        "first_cpu_ms": figures["import_cpu_ms"] + figures["invoke_cpu_ms"],
        "process_ms": wall,
        "process_cpu_ms": cpu,
    }


ROWS = (
    ("import resizer.handler", "import_ms", "import_cpu_ms"),
    ("first invocation (clients + one batch)", "invoke_ms", "invoke_cpu_ms"),
    ("import + first invocation", "first_ms", "first_cpu_ms"),
    ("whole process (interpreter start-up too)", "process_ms", "process_cpu_ms"),
)


def report(mode: str, samples: dict[str, list[dict[str, float]]], runs: int) -> None:
    names = list(samples)
    print(f"\n{mode}: fresh processes, interleaved, median of {runs}  (wall ms | CPU ms)")
    print(f"  {'':<44}" + "".join(f"{n:>22}" for n in names))
    for label, wall, cpu in ROWS:
        cells = []
        for name in names:
            w = statistics.median(s[wall] for s in samples[name])
            c = statistics.median(s[cpu] for s in samples[name])
            cells.append(f"{w:10.0f} |{c:7.0f}   ")
        print(f"  {label:<44}" + "".join(f"{c:>22}" for c in cells))
    if len(names) > 1:
        base = names[-1]
        for name in names[:-1]:
            ratios = []
            for label, _, cpu in ROWS:
                new = statistics.median(s[cpu] for s in samples[name])
                old = statistics.median(s[cpu] for s in samples[base])
                ratios.append(f"{label.split(' (')[0]} {new / old:.0%}")
            print(f"  CPU, {name} / {base}: " + "; ".join(ratios))


# ---------------------------------------------------------------------------- importtime

_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)$")


def importtime(contestant: Contestant, mode: str, top: int) -> None:
    """One traced import (python -X importtime): self time summed per top-level package."""
    code = f"import sys; sys.path.insert(0, {str(contestant.path(mode))!r}); import resizer.handler"
    flags = ZIP_FLAGS if mode == "zip" else []
    env = {"DESTINATION_BUCKET": "x", "PATH": os.environ.get("PATH", "")}
    result = subprocess.run(
        [sys.executable, *flags, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    per_package: dict[str, int] = defaultdict(int)
    total = 0
    for line in result.stderr.splitlines():
        match = _LINE.match(line)
        if match:
            per_package[match.group(4).split(".")[0]] += int(match.group(1))
            if match.group(4) == "resizer.handler":
                total = int(match.group(2))
    print(
        f"\n-X importtime, {contestant.name} ({mode}): import resizer.handler {total / 1e3:.0f} ms"
    )
    for name, us in sorted(per_package.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {name:<32}{us / 1e3:8.1f} ms{us / max(total, 1):7.0%}")


# ---------------------------------------------------------------------------- zip sizes


def zip_sizes(contestants: list[Contestant], tmp: Path) -> None:
    """Each contestant's zip for the template's Runtime, on both architectures."""
    print("\ndeployment zips (each commit's own scripts/package.py, its template's Runtime)")
    print(f"  {'':<14}{'arch':<8}{'zipped MB':>10}{'unzipped MB':>13}{'files':>7}  biggest")
    for contestant in contestants:
        for arch in ("arm64", "x86_64"):
            out = tmp / f"{contestant.name}-{arch}"
            subprocess.run(
                [
                    sys.executable,
                    "scripts/package.py",
                    "--arch",
                    arch,
                    "--out",
                    str(out),
                    *wheelhouse(),
                ],
                cwd=contestant.root,
                check=True,
                capture_output=True,
            )
            manifest = json.loads(next(out.glob("*.manifest.json")).read_text())
            sizes: dict[str, int] = defaultdict(int)
            with zipfile.ZipFile(out / manifest["zip"]) as zf:
                for info in zf.infolist():
                    parts = info.filename.split("/")
                    top = "/".join(parts[:2]) if parts[:2] == ["botocore", "data"] else parts[0]
                    sizes[top] += info.compress_size
            biggest = ", ".join(
                f"{k} {v / 1e6:.1f}" for k, v in sorted(sizes.items(), key=lambda kv: -kv[1])[:3]
            )
            print(
                f"  {contestant.name:<14}{arch:<8}{manifest['zipped_bytes'] / 1e6:10.1f}"
                f"{manifest['unzipped_bytes'] / 1e6:13.1f}{manifest['file_count']:7}  {biggest}"
            )


# ---------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", action="append", default=[], help="a commit to compare")
    parser.add_argument("--runs", type=int, default=15, help="fresh processes per figure")
    parser.add_argument("--mode", nargs="+", choices=("zip", "venv"), default=["zip", "venv"])
    parser.add_argument("--importtime", action="store_true", help="one traced import each")
    parser.add_argument("--top", type=int, default=10, help="rows of the importtime breakdown")
    parser.add_argument("--no-zip-sizes", action="store_true", help="skip the Lambda zips")
    parser.add_argument(
        "--without-bytecode",
        action="store_true",
        help="also this tree's zip built with --no-bytecode (what the bytecode is worth)",
    )
    args = parser.parse_args()

    print(f"python {sys.version.split()[0]} on {os.cpu_count()} CPU(s); load {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        contestants = [Contestant("this tree", ROOT)]
        if args.without_bytecode:
            contestants.append(Contestant("no bytecode", ROOT, ("--no-bytecode",)))
        for ref in args.baseline:
            sha = subprocess.run(
                ["git", "rev-parse", "--short", ref],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            contestants.append(Contestant(sha or ref, export(ref, tmp / f"tree-{ref}")))
        try:
            if "zip" in args.mode:
                for contestant in contestants:
                    build_zip(contestant, tmp)
            image = small_jpeg()
            with emulator() as aws:
                for mode in args.mode:
                    # A build option only changes the zip: in venv mode it is this tree again.
                    runners = [c for c in contestants if mode == "zip" or not c.package_args]
                    samples: dict[str, list[dict[str, float]]] = {c.name: [] for c in runners}
                    for round_ in range(args.runs):
                        turn = round_ % len(runners)
                        for contestant in runners[turn:] + runners[:turn]:
                            samples[contestant.name].append(probe(contestant, mode, aws, image))
                    report(mode, samples, args.runs)
            print(f"\nload after the runs {os.getloadavg()}")
            if args.importtime:
                for mode in args.mode:
                    for contestant in contestants:
                        if mode == "zip" or not contestant.package_args:
                            importtime(contestant, mode, args.top)
            if not args.no_zip_sizes:
                zip_sizes([c for c in contestants if not c.package_args], tmp)
        finally:
            for contestant in contestants:
                if contestant.task is not None:
                    unfreeze(contestant.task)
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
