"""The wheels of the Lambda zip: which loads on the target, download, hash check, install.

Lambda targets (python3.12/3.13 on arm64/x86_64, Amazon Linux 2023) and the lock's pins
(requirements/lambda.lock, hashes enforced) decide which wheel of each pin goes into the
zip; `installed_files` lays them out as pip would in one flat folder. scripts/package.py
builds the zip from them. Standard library only.
"""

from __future__ import annotations

import hashlib
import platform
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from zip_contents import PackagingError

# python3.12 and python3.13 run on Amazon Linux 2023, glibc 2.34: any manylinux_2_x with
# x <= 34 loads. pip does not expand manylinux_2_x platforms by itself, so list them all.
LAMBDA_GLIBC = (2, 34)
ARCHES = {"arm64": "aarch64", "x86_64": "x86_64"}
PYTHONS = ("3.12", "3.13")


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


def installed_files(wheels: list[Path]) -> dict[str, bytes]:
    """The files of all the wheels, as pip would install them into one flat folder."""
    files: dict[str, bytes] = {}
    for whl in wheels:
        for path, data in wheel_files(whl).items():
            if path in files and files[path] != data:
                raise PackagingError(f"{path} comes from two wheels with different content")
            files[path] = data
    return files


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def wheel_record(whl: Path) -> Wheel:
    name, version, tags = parse_wheel_name(whl.name)
    return Wheel(whl.name, normalise(name), version, tags, sha256_file(whl))
