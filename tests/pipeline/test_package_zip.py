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
import platform
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore
import lambda_wheels  # scripts/
import package  # scripts/, on pytest's pythonpath
import pytest
import zip_contents
from botocore.exceptions import EndpointVariantError
from botocore.regions import EndpointResolver
from emulated_aws import build_stack, moto_server
from PIL import Image

from resizer import handler
from resizer.config import Settings
from resizer.manifest import output_key

ROOT = Path(__file__).resolve().parents[2]
WHEELHOUSE = Path(os.environ.get("RESIZER_WHEELHOUSE", ROOT / "build" / "wheelhouse"))
EVENTS = ROOT / "tests" / "events"
ELF_MACHINE = {"aarch64": 183, "x86_64": 62}  # e_machine in the ELF header
BOXES = [r.name for r in Settings().renditions]


def build(target: Any, out: Path, build_id: str = "7") -> dict[str, Any]:
    manifest: dict[str, Any] = package.build(
        target, out, WHEELHOUSE, build_id=build_id, sha="0123456789ab"
    )
    return manifest


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture(autouse=True)
def _fresh_runtime() -> Iterator[None]:
    """build_stack builds the in-process handler runtime for its environment: drop it after."""
    yield
    handler.runtime.cache_clear()


@pytest.fixture(scope="session")
def host_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("host")
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    manifest = build(package.Target(python, platform.machine(), host=True), out)
    return out / manifest["zip"], manifest


@pytest.fixture(scope="session")
def lambda_builds(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Any]:
    """The template's Runtime on both architectures, and python3.12/arm64.

    Bytecode needs a Python of the target's version (pyenv's, the tool cache's or on PATH).
    """
    python = package.template_defaults()[0]
    targets = {(python, "arm64"), (python, "x86_64"), ("3.12", "arm64")}
    built = {}
    for python, arch in sorted(targets):
        out = tmp_path_factory.mktemp(f"py{python}-{arch}")
        manifest = build(package.Target(python, arch), out)
        built[(python, arch)] = (out / manifest["zip"], manifest)
    return built


# ---------------------------------------------------------------------------- host

# Run in a fresh interpreter (-I -S: no site-packages, no PYTHONPATH) with only the unzipped
# zip and the standard library on sys.path, writing no bytecode (-B: /var/task is read-only,
# and a chmod does not stop root), so a module without bytecode in the zip shows.
HANDLER_RUN = r"""
import json, sys
folder, stdlib, event = sys.argv[1], sys.argv[2:4], json.loads(sys.argv[4])
assert not any("site-packages" in p for p in sys.path), sys.path
sys.path.insert(0, folder)

class Context:
    function_name = "resizer"
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
        stack.s3.put_object(Bucket=stack.destination, Key=output_key(name, "zip/gone.jpg"))
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
    assert {output_key(name, "zip/photo.jpg") for name in BOXES} <= keys  # PUT
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


# ---------------------------------------------------------------------------- Lambda


def tag_fits_lambda(tag: str, python: str, machine: str) -> bool:
    interp, abi, plat = tag.split("-")
    cp = "cp" + python.replace(".", "")
    if plat == "any":
        return abi == "none" and interp in {"py3", "py2.py3", cp}
    manylinux = re.fullmatch(rf"manylinux(?:2014|_2_(\d+))_{machine}", plat)
    glibc_ok = bool(manylinux) and int(manylinux.group(1) or 17) <= 34  # AL2023: glibc 2.34
    return glibc_ok and (
        (interp == cp and abi == cp) or (interp.startswith("cp3") and abi == "abi3")
    )


def test_lambda_zip_holds_wheels_for_lambdas_python_and_cpu(
    lambda_builds: dict[tuple[str, str], Any],
) -> None:
    for (python, arch), (zip_path, manifest) in lambda_builds.items():
        machine = package.ARCHES[arch]
        assert manifest["runtime"] == f"python{python}"
        assert manifest["arch"] == arch
        names = {w["name"] for w in manifest["wheels"]}
        assert {"pillow", "pillow-heif", "aws-lambda-powertools", "botocore"} <= names
        assert not names & {"boto3", "s3transfer"}  # the function uses botocore directly
        for wheel in manifest["wheels"]:
            fits = [t for t in wheel["tags"] if tag_fits_lambda(t, python, machine)]
            assert fits, f"{wheel['file']} does not load on python{python}/{arch}"
        # Belt and braces: every shared object in the zip is built for the target CPU.
        with zipfile.ZipFile(zip_path) as zf:
            shared = [n for n in zf.namelist() if re.search(r"\.so(\.|$)", n)]
            assert shared
            for name in shared:
                header = zf.open(name).read(20)
                assert header[:4] == b"\x7fELF", name
                assert int.from_bytes(header[18:20], "little") == ELF_MACHINE[machine], name
            tagged = [n for n in shared if ".cpython-" in n]
            assert all(f"cpython-{python.replace('.', '')}-{machine}" in n for n in tagged)


def test_lambda_zip_is_within_lambdas_limits_and_the_budget(
    lambda_builds: dict[tuple[str, str], Any],
) -> None:
    for zip_path, manifest in lambda_builds.values():
        infos = zipfile.ZipFile(zip_path).infolist()
        unzipped = sum(i.file_size for i in infos)
        assert manifest["unzipped_bytes"] == unzipped
        assert manifest["zipped_bytes"] == zip_path.stat().st_size
        assert zip_path.stat().st_size <= zip_contents.ZIP_BUDGET_BYTES < package.MAX_ZIPPED_BYTES
        assert unzipped < package.MAX_UNZIPPED_BYTES
        assert manifest["bytecode"] == manifest["python"]


def _portable(name: str) -> str | None:
    """A zip entry's name with what differs per CPU taken out; None for bundled libraries."""
    if ".libs/" in name:
        return None  # auditwheel's vendored libraries, named by their hash
    return re.sub(r"(\.cpython-\d+)-(x86_64|aarch64)-linux-gnu\.so$", r"\1-ARCH.so", name)


def test_both_architectures_ship_the_same_files_but_their_binaries(
    lambda_builds: dict[tuple[str, str], Any],
) -> None:
    python = package.template_defaults()[0]
    listings = {}
    for arch in package.ARCHES:
        zip_path, _ = lambda_builds[(python, arch)]
        names = zipfile.ZipFile(zip_path).namelist()
        listings[arch] = {p for p in map(_portable, names) if p is not None}
        extensions = [n for n in names if n.endswith(".so") and ".libs/" not in n]
        machine = package.ARCHES[arch]
        assert extensions
        assert all(n.endswith(f"-{machine}-linux-gnu.so") or ".abi3." in n for n in extensions)
        assert f"PIL/_imaging.cpython-{python.replace('.', '')}-{machine}-linux-gnu.so" in names
    assert listings["arm64"] == listings["x86_64"]


def test_zip_name_and_manifest_carry_version_build_and_hash(
    lambda_builds: dict[tuple[str, str], Any],
) -> None:
    zip_path, manifest = lambda_builds[("3.12", "arm64")]
    pattern = (
        r"resizer-(\d+\.\d+\.\d+)\+b7\.g0123456789ab(\.dirty)?-py312-arm64-([0-9a-f]{12})\.zip"
    )
    match = re.fullmatch(pattern, zip_path.name)
    assert match, zip_path.name
    assert match.group(3) == manifest["sha256"][:12]
    assert manifest["code_key"] == f"resizer/{manifest['sha256']}.zip"
    assert len(manifest["code_key"]) <= 80  # the template's CodeKey limit
    assert (zip_path.parent / f"{zip_path.name.removesuffix('.zip')}.manifest.json").is_file()
    assert (zip_path.parent / "template.yaml").is_file()


# ---------------------------------------------------------------------------- reproducible


def test_same_inputs_give_the_same_bytes(tmp_path: Path) -> None:
    # A snapshot of src, so that edits landing in the working tree meanwhile don't count.
    source = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "resizer", source / "resizer")
    target = package.Target("3.12", "arm64")
    first = package.build(target, tmp_path / "a", WHEELHOUSE, build_id="7", source=source)
    again = package.build(target, tmp_path / "b", WHEELHOUSE, build_id="8", source=source)
    first_zip = tmp_path / "a" / first["zip"]
    assert again["sha256"] == first["sha256"]
    assert (tmp_path / "b" / again["zip"]).read_bytes() == first_zip.read_bytes()
    assert again["zip"] != first["zip"]  # only the name carries the build id
    for info in zipfile.ZipFile(first_zip).infolist():
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.external_attr >> 16 == 0o100644


def test_wheel_tag_predicate_rejects_wrong_targets() -> None:
    accept = lambda_wheels.accepted_tags(package.Target("3.12", "arm64"))
    assert accept("cp312-cp312-manylinux_2_28_aarch64")
    assert accept("cp310-abi3-manylinux2014_aarch64")
    assert accept("py3-none-any")
    assert not accept("cp312-cp312-manylinux_2_28_x86_64")
    assert not accept("cp313-cp313-manylinux_2_28_aarch64")
    assert not accept("cp312-cp312-musllinux_1_2_aarch64")
    assert not accept("cp312-cp312-manylinux_2_39_aarch64")  # newer glibc than AL2023


def test_default_target_is_the_templates() -> None:
    """package.py reads two defaults with a regex; cfn-lint's parser must agree."""
    from cfnlint.decode import decode

    document, matches = decode(str(ROOT / "infra" / "template.yaml"))
    assert not matches
    assert document is not None
    runtime = document["Parameters"]["Runtime"]["Default"]
    arch = document["Parameters"]["Architecture"]["Default"]
    assert package.template_defaults() == (runtime.removeprefix("python"), arch)
    assert set(document["Parameters"]["Runtime"]["AllowedValues"]) <= {
        f"python{p}" for p in package.PYTHONS
    }


def test_lambda_lock_pins_what_the_tests_run() -> None:
    """Same versions in the zip as in the dev environment the test suite runs in."""
    dev = {}
    for line in (ROOT / "requirements" / "dev.lock").read_text().splitlines():
        name, _, version = line.partition("==")
        dev[lambda_wheels.normalise(name)] = version.strip()
    pins = lambda_wheels.read_lock(package.LOCK)
    assert all("--hash=sha256:" in pin for pin in pins)
    for pin in pins:
        name, _, version = pin.split(" ")[0].partition("==")
        assert dev.get(lambda_wheels.normalise(name)) == version, (
            f"{name}: lambda.lock and dev.lock differ"
        )


def test_a_tampered_wheel_in_the_wheelhouse_is_not_used(
    lambda_builds: dict[tuple[str, str], Any], tmp_path: Path
) -> None:
    target = package.Target("3.12", "arm64")
    pins = lambda_wheels.read_lock(package.LOCK)
    for wheel in lambda_wheels.select_wheels(target, pins, WHEELHOUSE):
        shutil.copy(wheel, tmp_path / wheel.name)
    assert lambda_wheels.cached_wheels(target, pins, tmp_path) is not None
    victim = next(tmp_path.glob("six-*.whl"))
    victim.write_bytes(victim.read_bytes() + b"\0")
    assert lambda_wheels.cached_wheels(target, pins, tmp_path) is None


@pytest.mark.parametrize(
    ("path", "kept"),
    [
        ("botocore/data/s3/2006-03-01/service-2.json.gz", True),
        ("botocore/data/sqs/2012-11-05/service-2.json.gz", True),
        ("botocore/data/events/2015-10-07/service-2.json.gz", True),
        ("botocore/data/endpoints.json", True),
        ("botocore/data/_retry.json", True),
        ("botocore/data/sdk-default-configuration.json", True),
        ("botocore/data/ec2/2016-11-15/service-2.json.gz", False),
        ("botocore/data/s3control/2018-08-20/service-2.json.gz", False),
        ("botocore/client.py", True),
        ("botocore-1.44.8.dist-info/METADATA", True),
        ("botocore-1.44.8.dist-info/LICENSE.txt", True),
        ("pillow-13.0.0.dist-info/licenses/LICENSE", True),
        ("botocore-1.44.8.dist-info/RECORD", False),
        ("botocore-1.44.8.dist-info/WHEEL", False),
        ("PIL/_imaging.pyi", False),
    ],
)
def test_what_of_a_wheel_goes_into_the_zip(path: str, kept: bool) -> None:
    assert zip_contents.keep(path) is kept


def test_no_python_of_the_targets_version_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(package.PackagingError, match="--bytecode-python PATH"):
        zip_contents.find_interpreter("3.12", str(tmp_path / "no-such-python"))
    assert (
        zip_contents.find_interpreter(
            f"{sys.version_info.major}.{sys.version_info.minor}", sys.executable
        )
        == sys.executable
    )
