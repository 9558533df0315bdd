"""checkov on both templates: no failed check, and every skip says why.

checkov lives in its own venv (.tools, it pins an old boto3); ``make test`` puts
.tools/bin on PATH.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cfn_template import TEMPLATES, load


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


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
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
    report = checkov(path)
    skipped = report["results"]["skipped_checks"]
    without_reason = [
        f"{c['check_id']} {c['resource']}"
        for c in skipped
        if len(str(c["check_result"].get("suppress_comment") or "").strip()) < 20
    ]
    assert without_reason == []
    # A skip that no longer matches a check (renamed check, fixed resource) is stale.
    assert {(c["resource"], c["check_id"]) for c in skipped} == _skips_in_metadata(path)
