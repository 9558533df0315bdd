"""checkov on both templates: no failed check, and every skip says why.

checkov lives in its own venv (.tools, it pins an old boto3); ``make test`` puts
.tools/bin on PATH.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cfn_template import TEMPLATES, load

ROOT = Path(__file__).resolve().parents[2]
# checkov leaves out resources whose Condition is false with the parameters' defaults:
# the optional CDN and the existing source bucket's rule are checked in a copy of the
# template with Cdn defaulting to "true" and ExistingSourceBucket to a bucket name.
OPTIONAL = {"template.yaml": {"Cdn": "true", "ExistingSourceBucket": "acme-uploads"}}


@cache
def variant(path: Path) -> Path:
    """A copy of ``path`` with the OPTIONAL parameters' defaults switched on."""
    text = path.read_text(encoding="utf-8")
    for name, value in OPTIONAL[path.name].items():
        text, count = re.subn(
            rf'(\n  {name}:\n(?:    .*\n)*?    Default: )"[^"]*"', rf'\g<1>"{value}"', text
        )
        assert count == 1, f"no Default for parameter {name} in {path.name}"
    out = ROOT / "build" / "checkov" / f"{path.stem}-optional{path.suffix}"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return out


VARIANTS = [*TEMPLATES, *(variant(p) for p in TEMPLATES if p.name in OPTIONAL)]


@cache
def checkov(path: Path) -> dict[str, Any]:
    executable = shutil.which("checkov")
    if executable is None:
        pytest.fail("checkov is not on PATH: run `make tools` (make test puts .tools/bin on PATH)")
    run = subprocess.run(
        # --skip-download: no call to the vendor's API (offline CI, same result).
        [
            *(executable, "-f", str(path), "--framework", "cloudformation", "-o", "json"),
            *("--skip-download", "--compact"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # checkov exits 1 when a check fails; the JSON says which.
    assert run.returncode in (0, 1), run.stderr[-2000:]
    report = json.loads(run.stdout)
    assert isinstance(report, dict), f"unexpected checkov output: {run.stdout[:500]}"
    return report


def _skips_in_metadata(path: Path) -> set[tuple[str, str]]:
    resources = load(path)["Resources"]
    return {
        (f"{resource['Type']}.{logical_id}", skip["id"])
        for logical_id, resource in resources.items()
        for skip in (resource.get("Metadata") or {}).get("checkov", {}).get("skip", [])
    }


@pytest.mark.parametrize("path", VARIANTS, ids=lambda p: p.name)
def test_no_failed_checks(path: Path) -> None:
    report = checkov(path)
    failed = [
        f"{c['check_id']} {c['resource']}: {c['check_name']}"
        for c in report["results"]["failed_checks"]
    ]
    assert failed == []
    assert report["summary"]["failed"] == 0
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 0


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_every_skip_has_a_reason_and_is_used(path: Path) -> None:
    reports = [checkov(path)] + ([checkov(variant(path))] if path.name in OPTIONAL else [])
    skipped = [c for report in reports for c in report["results"]["skipped_checks"]]
    without_reason = [
        f"{c['check_id']} {c['resource']}"
        for c in skipped
        if len(str(c["check_result"].get("suppress_comment") or "").strip()) < 20
    ]
    assert without_reason == []
    # A skip that no longer matches a check (renamed check, fixed resource) is stale.
    assert {(c["resource"], c["check_id"]) for c in skipped} == _skips_in_metadata(path)
