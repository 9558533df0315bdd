"""scripts/package.py: the zip runs with nothing else on the path, targets Lambda, reproduces.

Builds download wheels (pip, through the package registry) into build/wheelhouse, which
`make package` and the pipeline's cache share, so only the first run pays for them.
"""

from __future__ import annotations

import importlib.util
import io
import itertools
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore
import package  # scripts/, on pytest's pythonpath
import pytest
import zip_contents
from botocore.exceptions import EndpointVariantError
from botocore.regions import EndpointResolver
from emulated_aws import build_stack, moto_server
from PIL import Image
from zip_builds import ROOT

from resizer import handler
from resizer.config import Settings
from resizer.layout import rendition_key

BOXES = [r.name for r in Settings().renditions]


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture(autouse=True)
def _fresh_runtime() -> Iterator[None]:
    """build_stack builds the in-process handler runtime for its environment: drop it after."""
    yield
    handler.runtime.cache_clear()


# ---------------------------------------------------------------------------- host

# Run in a fresh interpreter (-I -S: no site-packages, no PYTHONPATH) with only the unzipped
# zip and the standard library on sys.path, writing no bytecode (-B: /var/task is read-only,
# and a chmod does not stop root), so a module without bytecode in the zip shows.
HANDLER_RUN = r"""
import json, sys
folder, stdlib, event = sys.argv[1], sys.argv[2:4], json.loads(sys.argv[4])
assert not any("site-packages" in p for p in sys.path), sys.path
sys.path.insert(0, folder)

class Context:  # as the Python runtime's (docs.aws.amazon.com/lambda/latest/dg/python-context.html)
    function_name = "resizer"
    function_version = "1"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:resizer:live"
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    def get_remaining_time_in_millis(self):
        return 60000

import resizer.handler
result = resizer.handler.lambda_handler(event, Context())
# EventBridge: a client from the function's own session, one event to the default bus.
events = resizer.handler.runtime().aws.client("events")
put = events.put_events(Entries=[
    {"Source": "resizer.zip-test", "DetailType": "ZipTest", "Detail": json.dumps({"ok": 1})}
])
modules = [m for m in list(sys.modules.values()) if getattr(m, "__file__", None)]
print(json.dumps({
    "result": result,
    "events_failed": put["FailedEntryCount"],
    "outside": sorted(
        m.__name__ for m in modules if not m.__file__.startswith((folder, *stdlib))
    ),
    "compiled_at_import": sorted(
        m.__name__ for m in modules
        if m.__file__.startswith(folder) and m.__file__.endswith(".py")
        and not (m.__cached__ and __import__("os").path.isfile(m.__cached__))
    ),
    "laptop": sorted(
        m for m in sys.modules if m.split(".")[0] in json.loads(sys.argv[5])
    ),
}))
"""


def small_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 120, 40)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def test_host_zip_runs_the_handler_alone_against_emulated_aws(
    host_build: tuple[Path, dict[str, Any]],
    tmp_path: Path,
    endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every AWS call the function makes, from the zip alone: S3 HEAD, GET, PUT and DELETE
    (a render and a removal), SQS SendMessage (a dead letter), EventBridge PutEvents."""
    zip_path, _ = host_build
    folder = tmp_path / "task"  # like /var/task: read-only, so no bytecode can be written
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(folder)
    for path in [folder, *folder.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)

    stack = build_stack(monkeypatch, endpoint)
    stack.put("zip/photo.jpg", small_jpeg())
    for name in BOXES:  # renditions of an image that is then deleted
        stack.s3.put_object(Bucket=stack.destination, Key=rendition_key("zip/gone.jpg", name))
    stack.put("zip/gone.jpg", small_jpeg())
    stack.s3.delete_object(Bucket=stack.source, Key="zip/gone.jpg")
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody="not a notification")
    messages = stack.receive()
    assert len(messages) == 4  # created photo, created + removed gone, the junk

    stdlib = [sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]]
    env = {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "DESTINATION", "DEAD"))}
    env |= {"AWS_EC2_METADATA_DISABLED": "true", "POWERTOOLS_METRICS_NAMESPACE": "Resizer"}
    laptop = json.dumps(zip_contents.LAPTOP_IMPORTS)
    event = json.dumps(stack.lambda_event(messages))
    run = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", HANDLER_RUN, str(folder), *stdlib, event, laptop],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    for path in [folder, *folder.rglob("*")]:  # let pytest clean up
        path.chmod(path.stat().st_mode | 0o200)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["result"] == {"batchItemFailures": []}
    assert report["outside"] == [], "modules loaded from outside the zip and the stdlib"
    assert report["laptop"] == []
    assert report["compiled_at_import"] == [], "modules without bytecode in the zip"
    assert report["events_failed"] == 0

    listed = stack.s3.list_objects_v2(Bucket=stack.destination).get("Contents", [])
    keys = {o["Key"] for o in listed}
    assert {rendition_key("zip/photo.jpg", name) for name in BOXES} <= keys  # PUT
    assert not [k for k in keys if "zip/gone.jpg" in k]  # DELETE
    # The junk, and the creation of zip/gone.jpg (deleted before it was rendered).
    dead = {
        m["MessageAttributes"]["SourceKey"]["StringValue"]: (
            m["MessageAttributes"]["ErrorType"]["StringValue"]
        )
        for m in stack.receive(stack.dlq_url)
    }
    assert dead == {"-": "MalformedMessageError", "zip/gone.jpg": "SourceGoneError"}


def test_zip_holds_the_function_and_nothing_of_the_laptop_side(
    host_build: tuple[Path, Any],
) -> None:
    zip_path, manifest = host_build
    names = zipfile.ZipFile(zip_path).namelist()
    source = sorted(
        p.relative_to(ROOT / "src").as_posix()
        for p in (ROOT / "src" / "resizer").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    ours = sorted(n for n in names if n.startswith("resizer/") and "__pycache__/" not in n)
    assert ours == source == manifest["source_files"]
    # The face detector's cascade and its licence: package data, read at run time.
    assert {"resizer/imaging/faces_lbp.json", "resizer/imaging/faces_lbp.NOTICE"} <= set(ours)
    assert not [n for n in names if n.split("/")[0] in zip_contents.LAPTOP_IMPORTS]
    assert not [n for n in names if n.startswith(("boto3/", "s3transfer/"))]
    assert not [n for n in names if n.endswith((".pyi", ".dist-info/RECORD"))]


def test_no_module_of_the_function_imports_the_laptop_side() -> None:
    files = zip_contents.function_files(ROOT / "src")
    assert "resizer/handler.py" in files
    assert zip_contents.laptop_imports(files) == {}


@pytest.mark.parametrize(
    "line",
    [
        "import resizer_tools.cli",
        "from resizer_tools import cli",
        "import typer",
        "from rich.console import Console",
        "def f():\n    import yaml",
        "if TYPE_CHECKING:\n    from moto import mock_aws",
        "import boto3",  # installed, but not in the zip
        "from s3transfer.manager import TransferManager",
        "from ssimulacra2 import compute_ssimulacra2",  # the reference metric: dev only
        "import numpy as np",
        "from scipy import ndimage",
    ],
)
def test_a_function_module_importing_the_laptop_side_stops_the_build(
    line: str, tmp_path: Path
) -> None:
    source = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "resizer", source / "resizer")
    (source / "resizer" / "leak.py").write_text(f"from typing import TYPE_CHECKING\n{line}\n")
    with pytest.raises(package.PackagingError, match=r"resizer/leak\.py imports"):
        zip_contents.function_files(source)


def test_every_module_in_the_zip_has_hash_based_bytecode(host_build: tuple[Path, Any]) -> None:
    zip_path, manifest = host_build
    tag = sys.implementation.cache_tag
    assert manifest["bytecode"] == f"{sys.version_info.major}.{sys.version_info.minor}"
    with zipfile.ZipFile(zip_path) as zf:
        names = set(zf.namelist())
        sources = [n for n in names if n.endswith(".py")]
        assert len(sources) > 100
        for source in sources:
            folder, _, stem = source.rpartition("/")
            pyc = f"{folder}/__pycache__/{stem[:-3]}.{tag}.pyc".lstrip("/")
            assert pyc in names, source
        pycs = [n for n in names if n.endswith(".pyc")]
        assert len(pycs) == len(sources)
        header = zf.read("resizer/__pycache__/handler." + tag + ".pyc")[:16]
    assert header[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(header[4:8], "little") == 0b01  # hash-based, source not checked


def resolve(resolver: EndpointResolver, service: str, region: str, fips: bool, dual: bool) -> Any:
    try:
        return resolver.construct_endpoint(
            service, region, use_fips_endpoint=fips, use_dualstack_endpoint=dual
        )
    except EndpointVariantError as error:  # no such variant modelled: the same error
        return str(error)


def test_trimmed_endpoints_resolve_the_functions_services_as_botocore_does() -> None:
    """Every partition and region, with and without FIPS and dual-stack."""
    full = json.loads((Path(botocore.__file__).parent / "data" / "endpoints.json").read_bytes())
    trimmed = json.loads(zip_contents.trim_endpoints(json.dumps(full).encode()))
    before, after = EndpointResolver(full), EndpointResolver(trimmed)
    checked = 0
    for partition in full["partitions"]:
        assert set(partition["services"]) >= set(zip_contents.BOTOCORE_SERVICES)
        for region in partition["regions"]:
            for service in zip_contents.BOTOCORE_SERVICES:
                for fips, dual in itertools.product((False, True), repeat=2):
                    args = (service, region, fips, dual)
                    assert resolve(after, *args) == resolve(before, *args), args
                    checked += 1
    assert checked > 400
    kept = {s for p in trimmed["partitions"] for s in p["services"]}
    assert kept == set(zip_contents.BOTOCORE_SERVICES)
