"""scripts/package.py for Lambda: wheels for its Python and CPU, within its limits,
both architectures, reproducible builds, the wheel selection (lambda_wheels.py)."""

from __future__ import annotations

import re
import shutil
import sys
import zipfile
from pathlib import Path
from typing import Any

import lambda_wheels  # scripts/
import package  # scripts/, on pytest's pythonpath
import pytest
import zip_contents
from zip_builds import ROOT, WHEELHOUSE

ELF_MACHINE = {"aarch64": 183, "x86_64": 62}  # e_machine in the ELF header


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
