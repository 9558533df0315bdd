"""scripts/package.py: the zip runs with nothing else on the path, targets Lambda, reproduces.

Builds download wheels (pip, through the package registry) into build/wheelhouse, which
`make package` and the pipeline's cache share, so only the first run pays for them.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path
from typing import Any

import package  # scripts/, on pytest's pythonpath
import pytest

ROOT = Path(__file__).resolve().parents[2]
WHEELHOUSE = Path(os.environ.get("RESIZER_WHEELHOUSE", ROOT / "build" / "wheelhouse"))
EVENTS = ROOT / "tests" / "events"
ELF_MACHINE = {"aarch64": 183, "x86_64": 62}  # e_machine in the ELF header


def build(target: Any, out: Path, build_id: str = "7") -> dict[str, Any]:
    manifest: dict[str, Any] = package.build(
        target, out, WHEELHOUSE, build_id=build_id, sha="0123456789ab"
    )
    return manifest


@pytest.fixture(scope="session")
def host_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("host")
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    manifest = build(package.Target(python, platform.machine(), host=True), out)
    return out / manifest["zip"], manifest


@pytest.fixture(scope="session")
def lambda_builds(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Any]:
    """The template's default target and python3.12/arm64 (the issue's reference target)."""
    targets = {package.template_defaults(), ("3.12", "arm64")}
    built = {}
    for python, arch in sorted(targets):
        out = tmp_path_factory.mktemp(f"py{python}-{arch}")
        manifest = build(package.Target(python, arch), out)
        built[(python, arch)] = (out / manifest["zip"], manifest)
    return built


# ---------------------------------------------------------------------------- host


HANDLER_RUN = r"""
import json, sys, sysconfig
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

from resizer.handler import lambda_handler
result = lambda_handler(event, Context())
outside = sorted(
    name for name, module in list(sys.modules.items())
    if getattr(module, "__file__", None)
    and not module.__file__.startswith((folder, *stdlib))
)
print(json.dumps({"result": result, "outside": outside}))
"""


def test_host_zip_runs_the_handler_with_nothing_else_on_the_path(
    host_build: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    zip_path, _ = host_build
    folder = tmp_path / "task"  # like /var/task
    folder.mkdir()
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(folder)
    event = (EVENTS / "sqs_s3_test_event.json").read_text()
    assert "s3:TestEvent" in event
    stdlib = [sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]]
    env = {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        "DESTINATION_BUCKET": "resizer-destination",
        "DEAD_LETTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/resizer-dlq",
        "POWERTOOLS_METRICS_NAMESPACE": "Resizer",
    }
    run = subprocess.run(
        [sys.executable, "-I", "-S", "-c", HANDLER_RUN, str(folder), *stdlib, event],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["result"] == {"batchItemFailures": []}
    assert report["outside"] == [], "modules loaded from outside the zip and the stdlib"


def test_zip_holds_only_the_runtime_side_of_resizer(host_build: tuple[Path, Any]) -> None:
    zip_path, manifest = host_build
    names = zipfile.ZipFile(zip_path).namelist()
    ours = sorted(n for n in names if n.startswith("resizer/"))
    assert "resizer/handler.py" in ours
    assert not [n for n in ours if n.startswith(("resizer/local/", "resizer/cli.py"))]
    assert not [n for n in names if n.endswith(".pyc") or "__pycache__" in n]
    assert manifest["source_files"] == ours


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
        assert {"pillow", "pillow-heif", "aws-lambda-powertools", "boto3"} <= names
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


def test_lambda_zip_is_within_lambdas_limits(lambda_builds: dict[tuple[str, str], Any]) -> None:
    for zip_path, manifest in lambda_builds.values():
        infos = zipfile.ZipFile(zip_path).infolist()
        unzipped = sum(i.file_size for i in infos)
        assert manifest["unzipped_bytes"] == unzipped
        assert manifest["zipped_bytes"] == zip_path.stat().st_size
        assert zip_path.stat().st_size < package.MAX_ZIPPED_BYTES
        assert unzipped < package.MAX_UNZIPPED_BYTES


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
    accept = package.accepted_tags(package.Target("3.12", "arm64"))
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
        dev[package.normalise(name)] = version.strip()
    pins = package.read_lock(package.LOCK)
    assert all("--hash=sha256:" in pin for pin in pins)
    for pin in pins:
        name, _, version = pin.split(" ")[0].partition("==")
        assert dev.get(package.normalise(name)) == version, (
            f"{name}: lambda.lock and dev.lock differ"
        )


def test_a_tampered_wheel_in_the_wheelhouse_is_not_used(
    lambda_builds: dict[tuple[str, str], Any], tmp_path: Path
) -> None:
    target = package.Target("3.12", "arm64")
    pins = package.read_lock(package.LOCK)
    for wheel in package.select_wheels(target, pins, WHEELHOUSE):
        shutil.copy(wheel, tmp_path / wheel.name)
    assert package.cached_wheels(target, pins, tmp_path) is not None
    victim = next(tmp_path.glob("six-*.whl"))
    victim.write_bytes(victim.read_bytes() + b"\0")
    assert package.cached_wheels(target, pins, tmp_path) is None
