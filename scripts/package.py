#!/usr/bin/env python3
"""Build the Lambda deployment zip: pinned manylinux wheels for Lambda's CPU + src/resizer.

    python scripts/package.py                      # the template's Runtime/Architecture defaults
    python scripts/package.py --python-version 3.13 --arch x86_64
    python scripts/package.py --host               # this interpreter's Python and CPU (for tests)
    python scripts/package.py --update-lock        # re-resolve requirements/lambda.lock (network)

The wheels come from `pip download --only-binary=:all: --platform ...` for the *target*
(never the build agent's interpreter), pinned and hash-checked by requirements/lambda.lock.
What goes in (the function's packages, the wheels' files Lambda loads, bytecode compiled
by the target's Python) is decided by scripts/zip_contents.py.
The zip is reproducible: entries sorted, timestamps fixed at 1980-01-01, permissions 0644,
hash-based bytecode, nothing that depends on the build (build id, git sha, time) inside it.
Same inputs, same bytes, so the sha256 of the zip names it. The build id and git sha only go
into the file name and the manifest beside the zip.

Only the standard library is used, so any Python 3.11+ with pip can run this.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile
import zlib
from dataclasses import asdict
from pathlib import Path

import zip_contents  # scripts/, beside this file
from artifact_keys import code_key, template_key
from lambda_wheels import (
    ARCHES,
    PYTHONS,
    Target,
    download_wheels,
    installed_files,
    normalise,
    sha256_file,
    wheel_record,
)
from zip_contents import PackagingError

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "lambda.lock"
TEMPLATE = ROOT / "infra" / "template.yaml"
SOURCE = ROOT / "src"

# Lambda's quotas for a .zip deployment package (docs: "Lambda quotas").
MAX_ZIPPED_BYTES = 50 * 1024 * 1024  # direct upload; from S3 only the unzipped limit applies
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024  # function code + layers, unzipped

FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip can hold
FILE_MODE = 0o100644  # regular file, rw-r--r--: Lambda needs world-readable files


# ---------------------------------------------------------------------------- inputs


def project_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as fh:
        return str(tomllib.load(fh)["project"]["version"])


def template_defaults(path: Path = TEMPLATE) -> tuple[str, str]:
    """(python, arch) from the template's Runtime and Architecture parameter defaults.

    Read with a regex rather than a YAML parser: CloudFormation's short-form tags (!Sub...)
    need a custom loader, and only two scalar defaults are wanted. Falls back to 3.12/arm64
    when the template or a default is missing.
    """
    python, arch = "3.12", "arm64"
    if not path.exists():
        return python, arch
    text = path.read_text(encoding="utf-8")
    for name in ("Runtime", "Architecture"):
        block = re.search(rf"^  {name}:\s*\n((?:    .*\n|\s*\n)+)", text, re.MULTILINE)
        default = block and re.search(r"^    Default:\s*['\"]?([\w.]+)", block.group(1), re.M)
        if not default:
            continue
        value = default.group(1)
        if name == "Runtime" and value.startswith("python"):
            python = value.removeprefix("python")
        elif name == "Architecture" and value in ARCHES:
            arch = value
    return python, arch


def git_sha() -> str:
    sha = os.environ.get("BUILD_SOURCEVERSION", "")  # Azure Pipelines
    if not sha:
        try:
            sha = subprocess.run(
                ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return "unknown"
    return sha[:12]


def tree_dirty() -> bool:
    """Whether what goes into the zip differs from the commit named by the git sha."""
    try:
        out = subprocess.run(
            ["git", "status", "--porcelain", "--", "src/resizer", str(LOCK.relative_to(ROOT))],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return False
    return bool(out.strip())


# ---------------------------------------------------------------------------- build


def write_zip(files: dict[str, bytes], dest: Path) -> None:
    with zipfile.ZipFile(dest, "w") as zf:
        for path in sorted(files):
            info = zipfile.ZipInfo(path, date_time=FIXED_DATE)
            info.create_system = 3  # unix, so external_attr carries the mode
            info.external_attr = FILE_MODE << 16
            # botocore's service models are .json.gz already: deflating them again costs
            # half the build time and saves 0.1 %. Level 9 over 6 saved 0.2 % for 40 %.
            already = path.endswith(".gz")
            info.compress_type = zipfile.ZIP_STORED if already else zipfile.ZIP_DEFLATED
            zf.writestr(info, files[path], compresslevel=None if already else 6)


def build(
    target: Target,
    out: Path,
    wheelhouse: Path,
    *,
    lock: Path = LOCK,
    build_id: str = "0",
    sha: str | None = None,
    max_zipped: int = MAX_ZIPPED_BYTES,
    source: Path = SOURCE,
    bytecode: bool = True,
    bytecode_python: str | None = None,
) -> dict[str, object]:
    """Build the zip and its manifest into ``out``; what goes in: scripts/zip_contents.py."""
    started = time.monotonic()
    ours = zip_contents.function_files(source)
    python = None
    if bytecode:
        given = sys.executable if target.host else bytecode_python
        python = zip_contents.find_interpreter(target.python, given)
    wheels = download_wheels(target, lock, wheelhouse)
    files = zip_contents.slim(installed_files(wheels))
    clash = sorted(p for p in ours if p in files)
    if clash:
        raise PackagingError(f"a wheel ships files of the resizer package itself: {clash}")
    files.update(ours)
    if python is not None:
        files.update(zip_contents.compile_bytecode(files, python))

    unzipped = sum(len(d) for d in files.values())
    if unzipped > MAX_UNZIPPED_BYTES:
        raise PackagingError(
            f"{unzipped / 1e6:.1f} MB unzipped exceeds Lambda's 250 MiB limit: drop a "
            "dependency from requirements/lambda.lock or move it to a layer/container image"
        )

    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".building-{os.getpid()}.zip"
    write_zip(files, tmp)
    digest = sha256_file(tmp)
    zipped = tmp.stat().st_size
    if zipped > max_zipped:
        tmp.unlink()
        raise PackagingError(
            f"{zipped / 1e6:.1f} MB zipped exceeds Lambda's 50 MiB direct-upload limit "
            "(deploying from S3 allows more: pass --max-zipped-mb)"
        )

    sha = sha or git_sha()
    dirty = tree_dirty()
    version = f"{project_version()}+b{build_id}.g{sha}" + (".dirty" if dirty else "")
    stem = f"resizer-{version}-{target.tag}-{digest[:12]}"
    zip_path = out / f"{stem}.zip"
    tmp.replace(zip_path)

    manifest: dict[str, object] = {
        "zip": zip_path.name,
        "sha256": digest,
        # Content-addressed: the same code and pins always land on the same key, and a
        # rollback is a redeploy of an older key. 76 characters: the template's CodeKey
        # allows at most 80 (it goes into the published version's description).
        "code_key": code_key(digest),
        "version": version,
        "project_version": project_version(),
        "build_id": build_id,
        "git_sha": sha,
        "dirty": dirty,
        "python": target.python,
        "arch": target.arch,
        "runtime": f"python{target.python}",
        "handler": "resizer.handler.lambda_handler",
        "host_build": target.host,
        "zipped_bytes": zipped,
        "unzipped_bytes": unzipped,
        "file_count": len(files),
        "lock": {"path": lock.name, "sha256": sha256_file(lock)},
        "wheels": [asdict(wheel_record(w)) for w in wheels],
        "source_files": sorted(ours),
        "botocore_services": list(zip_contents.BOTOCORE_SERVICES),
        # Hash-based pycs compiled by the target's Python (None: built with --no-bytecode).
        "bytecode": target.python if python is not None else None,
        # Deflate output can differ between zlib versions: the same bytes are promised
        # for the same inputs *and* the same zlib.
        "builder": {"python": platform.python_version(), "zlib": zlib.ZLIB_RUNTIME_VERSION},
        "build_seconds": round(time.monotonic() - started, 1),
    }
    # What a deploy needs besides the zip travels with it: the template and the
    # per-environment parameters of the same commit (scripts/stack_parameters.py
    # adds CodeBucket/CodeKey/Runtime/Architecture at deploy time).
    if TEMPLATE.exists():
        shutil.copyfile(TEMPLATE, out / "template.yaml")
        manifest["template_sha256"] = sha256_file(TEMPLATE)
        # Where scripts/publish_artifact.py puts it: deploys send its URL, not its body.
        manifest["template_key"] = template_key(str(manifest["template_sha256"]))
    for params in sorted((TEMPLATE.parent / "parameters").glob("*.json")):
        (out / "parameters").mkdir(exist_ok=True)
        shutil.copyfile(params, out / "parameters" / params.name)
    manifest_path = out / f"{stem}.manifest.json"
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    manifest["manifest"] = manifest_path.name
    return manifest


# ---------------------------------------------------------------------------- lock


def update_lock(lock: Path, constraints: Path) -> None:
    """Resolve the runtime closure for every Lambda target; pin it with all wheel hashes.

    Versions follow the dev lock (constraints), so the tests run what Lambda runs.
    """
    with (ROOT / "pyproject.toml").open("rb") as fh:
        direct = tomllib.load(fh)["project"]["dependencies"]
    pins: dict[str, str] = {}
    hashes: dict[str, set[str]] = {}
    for python in PYTHONS:
        for arch in ARCHES:
            target = Target(python, arch)
            with tempfile.TemporaryDirectory() as tmp:
                report = Path(tmp) / "report.json"
                cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--dry-run"]
                cmd += ["--ignore-installed", "--only-binary=:all:", "--target", tmp]
                cmd += ["--report", str(report), "-c", str(constraints), *direct]
                cmd += target.pip_args()
                subprocess.run(cmd, check=True)
                for item in json.loads(report.read_text())["install"]:
                    name = normalise(item["metadata"]["name"])
                    version = item["metadata"]["version"]
                    if pins.setdefault(name, version) != version:
                        raise PackagingError(f"{name} resolves differently per target")
                    sha = item["download_info"]["archive_info"]["hashes"]["sha256"]
                    hashes.setdefault(name, set()).add(sha)
    lines = [
        "# Runtime closure of the Lambda function (pyproject `dependencies`), every wheel",
        "# hash for python3.12/3.13 x arm64/x86_64. Generated: scripts/package.py --update-lock",
        "",
    ]
    for name in sorted(pins):
        lines.append(f"{name}=={pins[name]} \\")
        lines += [f"    --hash=sha256:{h} \\" for h in sorted(hashes[name])]
        lines[-1] = lines[-1].removesuffix(" \\")
    lock.write_text("\n".join(lines) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------- cli


def main(argv: list[str] | None = None) -> int:
    default_python, default_arch = template_defaults()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--python-version", choices=PYTHONS, default=default_python)
    parser.add_argument("--arch", choices=sorted(ARCHES), default=default_arch)
    parser.add_argument(
        "--host", action="store_true", help="build for this interpreter and CPU (tests)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    parser.add_argument("--wheelhouse", type=Path, default=ROOT / "build" / "wheelhouse")
    parser.add_argument("--lock", type=Path, default=LOCK)
    parser.add_argument("--build-id", default=os.environ.get("BUILD_BUILDID", "0"))
    parser.add_argument("--git-sha", default=None)
    parser.add_argument("--max-zipped-mb", type=float, default=MAX_ZIPPED_BYTES / 1024 / 1024)
    parser.add_argument("--update-lock", action="store_true")
    parser.add_argument(
        "--bytecode-python", help="the target's Python, to compile the bytecode (default: found)"
    )
    parser.add_argument(
        "--no-bytecode", action="store_true", help="no .pyc in the zip (slower cold starts)"
    )
    args = parser.parse_args(argv)

    try:
        if args.update_lock:
            update_lock(args.lock, ROOT / "requirements" / "dev.lock")
            print(f"wrote {args.lock}")
            return 0
        if args.host:
            host_python = f"{sys.version_info.major}.{sys.version_info.minor}"
            target = Target(host_python, platform.machine(), host=True)
        else:
            target = Target(args.python_version, args.arch)
        manifest = build(
            target,
            args.out,
            args.wheelhouse,
            lock=args.lock,
            build_id=args.build_id,
            sha=args.git_sha,
            max_zipped=int(args.max_zipped_mb * 1024 * 1024),
            bytecode=not args.no_bytecode,
            bytecode_python=args.bytecode_python,
        )
    except PackagingError as exc:
        print(f"package: {exc}", file=sys.stderr)
        return 1
    zipped, unzipped = manifest["zipped_bytes"], manifest["unzipped_bytes"]
    print(
        f"{args.out / str(manifest['zip'])}\n"
        f"  sha256 {manifest['sha256']}\n"
        f"  {zipped} bytes zipped, {unzipped} bytes unzipped, "
        f"{manifest['file_count']} files, {manifest['build_seconds']} s"
    )
    if os.environ.get("TF_BUILD"):  # Azure Pipelines: hand the names to later steps
        for key in ("zip", "manifest", "sha256", "code_key", "version"):
            print(f"##vso[task.setvariable variable={key};isOutput=true]{manifest[key]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
