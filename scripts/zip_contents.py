"""What goes into the Lambda zip, and what is left out (scripts/package.py builds it).

* The function's own code: an allow-list of import packages from src/ (only ``resizer``;
  the laptop side lives in ``resizer_tools`` and never ships). A module of the function
  that imports the laptop side or a laptop-only library stops the build.
* The wheels' files minus what Lambda never loads: botocore's data for the services the
  function calls (plus what botocore reads to build any client), endpoints.json cut down
  to those services, dist-info kept to METADATA and licences, no type stubs. botocore's
  data for the ~400 other services was half the zip, and listing its folders on every
  client creation cost a cold start ~50 ms.
* Bytecode for the target Python: /var/task is read-only, so without it every cold start
  compiles every module it imports (measured 3x the import time; docs/tuning.md).

Only the standard library is used, like package.py.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

#: The function's import packages, taken from src/. Nothing else of src/ ships.
FUNCTION_PACKAGES = ("resizer",)

#: Top-level modules no module of the function may import: the laptop side and the
#: libraries only it installs (the `cli` extra). Checked by an AST scan at build time.
LAPTOP_IMPORTS = ("resizer_tools", "typer", "rich", "moto", "yaml")
#: Installed for the laptop side but not shipped: the function makes its clients from a
#: botocore session (resizer.handler.AWS.client), boto3 would cost a cold start ~40 ms.
NOT_SHIPPED = ("boto3", "s3transfer")
#: Development-only libraries no module of the function may import: the reference
#: SSIMULACRA2 and its numpy + scipy (resizer.imaging._ssimulacra2 is Pillow alone; numpy
#: does not fit the zip budget).
DEV_ONLY = ("ssimulacra2", "numpy", "scipy")

#: The AWS services the function makes clients for (S3 renditions, the SQS dead-letter
#: queue, EventBridge events). botocore's data for any other service is left out: a
#: client for one of them fails with UnknownServiceError, which the run-from-zip test
#: (tests/pipeline/test_package_zip.py) would show.
BOTOCORE_SERVICES = ("events", "s3", "sqs")

#: What the zip may weigh (issue 13): the upload, and the cold start reading it.
ZIP_BUDGET_BYTES = 20_000_000

_BOTOCORE_DATA = "botocore/data/"
_ENDPOINTS = "botocore/data/endpoints.json"
#: dist-info files nothing imports at run time (RECORD would also be wrong once trimmed).
_DIST_INFO_DROPPED = re.compile(
    r"[^/]+\.dist-info/(RECORD|WHEEL|INSTALLER|REQUESTED|top_level\.txt|zip-safe"
    r"|entry_points\.txt|direct_url\.json)$"
)


class PackagingError(Exception):
    """The package cannot be built as asked; the message says what to change."""


# ---------------------------------------------------------------------------- ours


def function_files(source: Path) -> dict[str, bytes]:
    """Every file of the allow-listed packages under ``source`` (no bytecode)."""
    files: dict[str, bytes] = {}
    for package in FUNCTION_PACKAGES:
        root = source / package
        if not (root / "__init__.py").is_file():
            raise PackagingError(f"{root} is not a package: nothing to deploy")
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(source).as_posix()
            if path.is_dir() or "__pycache__" in rel or path.suffix in (".pyc", ".pyo"):
                continue
            files[rel] = path.read_bytes()
    laptop = laptop_imports(files)
    if laptop:
        found = "; ".join(f"{path} imports {', '.join(names)}" for path, names in laptop.items())
        raise PackagingError(
            f"the function imports what the zip does not ship ({found}): move laptop code "
            "to resizer_tools; make AWS clients with resizer.handler.AWS.client (botocore)"
        )
    return files


def imported_modules(code: bytes, path: str) -> set[str]:
    """Every module an `import` or `from ... import` statement names, anywhere in the file."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(code, filename=path)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def laptop_imports(files: Mapping[str, bytes]) -> dict[str, list[str]]:
    """{path: [laptop or unshipped modules it imports]} for the Python files given."""
    found = {}
    for path, code in sorted(files.items()):
        if not path.endswith(".py"):
            continue
        hits = sorted(
            name
            for name in imported_modules(code, path)
            if name.split(".")[0] in LAPTOP_IMPORTS + NOT_SHIPPED + DEV_ONLY
        )
        if hits:
            found[path] = hits
    return found


# ---------------------------------------------------------------------------- wheels


def keep(path: str) -> bool:
    """Whether a file a wheel installs goes into the zip."""
    if path.startswith(_BOTOCORE_DATA):
        rest = path[len(_BOTOCORE_DATA) :]
        return "/" not in rest or rest.split("/")[0] in BOTOCORE_SERVICES
    if _DIST_INFO_DROPPED.fullmatch(path):
        return False
    return not path.endswith(".pyi")


def slim(files: Mapping[str, bytes]) -> dict[str, bytes]:
    """The wheels' files the function can load; endpoints.json cut to its services."""
    kept = {path: data for path, data in files.items() if keep(path)}
    if _ENDPOINTS in kept:
        kept[_ENDPOINTS] = trim_endpoints(kept[_ENDPOINTS])
    return kept


def trim_endpoints(data: bytes) -> bytes:
    """endpoints.json with each partition's services limited to BOTOCORE_SERVICES.

    botocore parses the whole 1.2 MB file for the first client of a process; partitions,
    regions and defaults stay, so every kept service resolves exactly as before
    (tests/pipeline/test_package_zip.py compares the resolvers region by region).
    """
    document = json.loads(data)
    for partition in document["partitions"]:
        services = partition.get("services", {})
        partition["services"] = {k: v for k, v in services.items() if k in BOTOCORE_SERVICES}
    return json.dumps(document, separators=(",", ":")).encode()


# ---------------------------------------------------------------------------- bytecode

# Run by the target's interpreter: hash-based pycs that never check the source (the zip
# is immutable), file names as Lambda sees them (/var/task), PYTHONHASHSEED fixed so the
# marshalled sets are in the same order on every build.
_COMPILE = """
import compileall, py_compile, sys
ok = compileall.compile_dir(
    sys.argv[1], ddir="/var/task", quiet=1, workers=1,
    invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
)
sys.exit(0 if ok else 1)
"""

_VERSION = "import sys; print('%d.%d' % sys.version_info[:2])"


def interpreter_version(python: str) -> str | None:
    try:
        result = subprocess.run(
            [python, "-I", "-c", _VERSION], capture_output=True, text=True, timeout=60, check=False
        )
    except OSError:
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def _candidates(version: str) -> Iterator[str]:
    yield f"python{version}"
    # pyenv and Azure DevOps' tool cache keep several Pythons without putting each on PATH.
    roots = [Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"]
    if os.environ.get("AGENT_TOOLSDIRECTORY"):
        roots += sorted(Path(os.environ["AGENT_TOOLSDIRECTORY"], "Python").glob("*/*"))
    for root in roots:
        yield from (str(p) for p in sorted(root.glob(f"{version}*/bin/python{version}")))
        yield from (str(p) for p in sorted(root.glob(f"bin/python{version}")))


def find_interpreter(version: str, given: str | None = None) -> str:
    """A Python of the target's version to compile the bytecode with."""
    for python in [given] if given else _candidates(version):
        if interpreter_version(python) == version:
            return python
    raise PackagingError(
        f"no Python {version} to compile the zip's bytecode with"
        + (f" ({given} is not one)" if given else "")
        + f": install python{version} or pass --bytecode-python PATH; --no-bytecode builds "
        "without (every cold start then compiles each module it imports, about 3x the import)"
    )


def compile_bytecode(files: Mapping[str, bytes], python: str) -> dict[str, bytes]:
    """{__pycache__/*.pyc path: bytes} for every .py file, compiled by ``python``."""
    sources = {path: data for path, data in files.items() if path.endswith(".py")}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for path, data in sources.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_bytes(data)
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONHASHSEED": "0"}
        result = subprocess.run(
            [python, "-I", "-c", _COMPILE, tmp],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if result.returncode != 0:
            raise PackagingError(f"compiling the bytecode failed:\n{result.stdout[-2000:]}")
        return {
            pyc.relative_to(root).as_posix(): pyc.read_bytes()
            for pyc in sorted(root.rglob("__pycache__/*.pyc"))
        }
