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
import hashlib
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
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import zip_contents  # scripts/, beside this file
from zip_contents import PackagingError

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "lambda.lock"
TEMPLATE = ROOT / "infra" / "template.yaml"
SOURCE = ROOT / "src"

# Lambda's quotas for a .zip deployment package (docs: "Lambda quotas").
MAX_ZIPPED_BYTES = 50 * 1024 * 1024  # direct upload; from S3 only the unzipped limit applies
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024  # function code + layers, unzipped

# python3.12 and python3.13 run on Amazon Linux 2023, glibc 2.34: any manylinux_2_x with
# x <= 34 loads. pip does not expand manylinux_2_x platforms by itself, so list them all.
LAMBDA_GLIBC = (2, 34)
ARCHES = {"arm64": "aarch64", "x86_64": "x86_64"}
PYTHONS = ("3.12", "3.13")

FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip can hold
FILE_MODE = 0o100644  # regular file, rw-r--r--: Lambda needs world-readable files


@dataclass(frozen=True)
class Target:
    python: str  # "3.12"
    arch: str  # "arm64" | "x86_64" (Lambda's names), or the host machine for --host
    host: bool = False

    @property
    def tag(self) -> str:
        return f"py{self.python.replace('.', '')}-{self.arch}"

    def pip_args(self) -> list[str]:
        """pip options selecting wheels for this target rather than for the running pip."""
        if self.host:
            return []
        machine = ARCHES[self.arch]
        platforms = [f"manylinux2014_{machine}"] + [
            f"manylinux_2_{minor}_{machine}" for minor in range(17, LAMBDA_GLIBC[1] + 1)
        ]
        abi = "cp" + self.python.replace(".", "")
        args = ["--implementation", "cp", "--python-version", self.python, "--abi", abi]
        for plat in platforms:
            args += ["--platform", plat]
        return args


@dataclass(frozen=True)
class Wheel:
    file: str
    name: str
    version: str
    tags: list[str]
    sha256: str


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


def read_lock(path: Path) -> list[str]:
    """Requirement lines (`name==version --hash=...`), comments and blanks dropped."""
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    lines = []
    for raw in text.splitlines():
        line = " ".join(raw.split("#", 1)[0].split())
        if line:
            lines.append(line)
    if not lines:
        raise PackagingError(f"{path} pins nothing: run `scripts/package.py --update-lock`")
    return lines


# ---------------------------------------------------------------------------- wheels


def parse_wheel_name(filename: str) -> tuple[str, str, list[str]]:
    """`name-version(-build)?-python-abi-platform.whl` -> (name, version, expanded tags)."""
    parts = filename.removesuffix(".whl").split("-")
    if len(parts) not in (5, 6):
        raise PackagingError(f"not a wheel file name: {filename}")
    name, version = parts[0], parts[1]
    pythons, abis, plats = parts[-3].split("."), parts[-2].split("."), parts[-1].split(".")
    tags = [f"{py}-{abi}-{plat}" for py in pythons for abi in abis for plat in plats]
    return name, version, tags


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def download_wheels(target: Target, lock: Path, wheelhouse: Path) -> list[Path]:
    """pip download every pinned wheel for the target into wheelhouse; return the wheels used.

    The lock is the whole closure (--no-deps): a dependency missing from it shows up as an
    ImportError in the unzipped-handler test, never as a silently resolved extra package.
    For a Lambda target the hashes in the lock are enforced; a host build (test only) may
    need wheels for an interpreter the lock has no hashes for, so it checks pins only.
    """
    wheelhouse.mkdir(parents=True, exist_ok=True)
    pins = read_lock(lock)
    cached = cached_wheels(target, pins, wheelhouse)
    if cached is not None:
        return cached
    with tempfile.TemporaryDirectory() as tmp:
        req = Path(tmp) / "requirements.txt"
        if target.host:
            req.write_text("\n".join(p.split(" --hash")[0] for p in pins) + "\n")
        else:
            req.write_text("\n".join(pins) + "\n")
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"]
        cmd += ["--no-deps", "--only-binary=:all:", "--dest", str(wheelhouse), "-r", str(req)]
        if not target.host:
            cmd.append("--require-hashes")
        cmd += target.pip_args()
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise PackagingError(
                f"pip download failed for {target.tag}:\n{result.stderr.strip()}\n"
                "If a pin has no wheel for this Python/CPU, pick another version in "
                f"{lock} (`--update-lock` re-resolves)."
            )
    wheels = select_wheels(target, pins, wheelhouse)
    if not target.host and not hashes_match(wheels, pins):
        raise PackagingError(f"a wheel in {wheelhouse} does not match the hashes in {lock}")
    return wheels


def hashes_match(wheels: list[Path], pins: list[str]) -> bool:
    allowed = set(re.findall(r"--hash=sha256:([0-9a-f]{64})", " ".join(pins)))
    return all(sha256_file(w) in allowed for w in wheels)


def cached_wheels(target: Target, pins: list[str], wheelhouse: Path) -> list[Path] | None:
    """The wheels already in the wheelhouse, if all are there (and match the lock's hashes).

    Saves pip's round trip to the index on every build; works offline once cached.
    """
    try:
        wheels = select_wheels(target, pins, wheelhouse)
    except PackagingError:
        return None
    if target.host or hashes_match(wheels, pins):
        return wheels
    return None


def select_wheels(target: Target, pins: list[str], wheelhouse: Path) -> list[Path]:
    """The one wheel per pin that pip chose for this target (the wheelhouse is shared)."""
    wanted = {}
    for pin in pins:
        spec = pin.split(" --hash")[0].split(";")[0].strip()
        name, _, version = spec.partition("==")
        wanted[normalise(name)] = version.strip()
    accept = accepted_tags(target)
    chosen: dict[str, Path] = {}
    for whl in sorted(wheelhouse.glob("*.whl")):
        name, version, tags = parse_wheel_name(whl.name)
        key = normalise(name)
        if wanted.get(key) != version or not any(accept(t) for t in tags):
            continue
        # Several compatible wheels (e.g. abi3 and cp312): keep the most specific, as pip does.
        if key not in chosen or specificity(whl.name) > specificity(chosen[key].name):
            chosen[key] = whl
    missing = sorted(set(wanted) - set(chosen))
    if missing:
        raise PackagingError(f"no wheel for {target.tag} in {wheelhouse} for: {missing}")
    return [chosen[k] for k in sorted(chosen)]


def specificity(filename: str) -> int:
    _, _, tags = parse_wheel_name(filename)
    return max((0 if t.endswith("-any") else 2) + (0 if "-abi3-" in t else 1) for t in tags)


def accepted_tags(target: Target) -> Callable[[str], bool]:
    """A predicate on a wheel tag: does it load on the target's Python and CPU?"""
    if target.host:
        py = f"cp{sys.version_info.major}{sys.version_info.minor}"
        machine = platform.machine()
    else:
        py = "cp" + target.python.replace(".", "")
        machine = ARCHES[target.arch]

    def accept(tag: str) -> bool:
        interp, abi, plat = tag.split("-")
        if plat == "any":
            return interp in {"py3", "py2.py3", py} and abi == "none"
        if interp != py and not (abi == "abi3" and interp.startswith("cp3")):
            return False
        if abi not in {py, "abi3", "none"}:
            return False
        return plat_ok(plat, machine)

    return accept


def plat_ok(plat: str, machine: str) -> bool:
    legacy = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
    m = re.fullmatch(r"(manylinux1|manylinux2010|manylinux2014)_(\w+)", plat)
    if m:
        glibc, arch = legacy[m.group(1)], m.group(2)
    else:
        m = re.fullmatch(r"manylinux_(\d+)_(\d+)_(\w+)", plat)
        if not m:
            return False  # musllinux, macOS, Windows, plain linux_*: not for Lambda
        glibc, arch = (int(m.group(1)), int(m.group(2))), m.group(3)
    return arch == machine and glibc <= LAMBDA_GLIBC


def wheel_files(whl: Path) -> dict[str, bytes]:
    """Install a wheel the way pip would into a flat target: purelib/platlib at the root."""
    name, version, _ = parse_wheel_name(whl.name)
    data_dir = f"{name}-{version}.data/"
    files: dict[str, bytes] = {}
    with zipfile.ZipFile(whl) as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            path = info.filename
            if path.startswith(data_dir):
                scheme, _, rest = path[len(data_dir) :].partition("/")
                if scheme not in ("purelib", "platlib"):
                    continue  # scripts, headers, data: nothing Lambda imports
                path = rest
            if "__pycache__/" in path or path.endswith(".pyc"):
                continue
            files[path] = zf.read(info)
    return files


# ---------------------------------------------------------------------------- build


def installed_files(wheels: list[Path]) -> dict[str, bytes]:
    """The files of all the wheels, as pip would install them into one flat folder."""
    files: dict[str, bytes] = {}
    for whl in wheels:
        for path, data in wheel_files(whl).items():
            if path in files and files[path] != data:
                raise PackagingError(f"{path} comes from two wheels with different content")
            files[path] = data
    return files


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


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


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
        "code_key": f"resizer/{digest}.zip",
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
    for params in sorted((TEMPLATE.parent / "parameters").glob("*.json")):
        (out / "parameters").mkdir(exist_ok=True)
        shutil.copyfile(params, out / "parameters" / params.name)
    manifest_path = out / f"{stem}.manifest.json"
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    manifest["manifest"] = manifest_path.name
    return manifest


def wheel_record(whl: Path) -> Wheel:
    name, version, tags = parse_wheel_name(whl.name)
    return Wheel(whl.name, normalise(name), version, tags, sha256_file(whl))


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
