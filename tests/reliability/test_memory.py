"""Peak memory per class of hostile input, measured in a fresh process and bounded.

A bound, not a speed test: the limits are generous multiples of what was measured
(docs/reliability.md has the figures). The in-limit bomb (100 MP, exactly
MAX_INPUT_PIXELS, 32 KB on disk) must still fit the function's default 1,024 MB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hostile import CASES

PROBE = Path(__file__).with_name("memory_probe.py")
MB = 1.0
# Default bound for every class, and the exceptions (decoded size dominates).
DEFAULT_LIMIT = 150 * MB
LIMITS = {"bomb-at-limit": 600 * MB}


def measure(tmp_path: Path) -> list[dict[str, object]]:
    tmp_path.mkdir()
    for number, case in enumerate(CASES):
        (tmp_path / f"{number:03d}").write_bytes(case.build())
    completed = subprocess.run(
        [sys.executable, str(PROBE), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "default"},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return [json.loads(line) for line in completed.stdout.splitlines()]


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
def test_peak_memory_per_input_class_is_bounded(tmp_path: Path) -> None:
    lines = measure(tmp_path / "corpus")
    assert len(lines) == len(CASES)
    peaks: dict[str, float] = {}
    for case, line in zip(CASES, lines, strict=True):
        peak = float(line["peak_mb"])  # type: ignore[arg-type]
        peaks[case.kind] = max(peaks.get(case.kind, 0.0), peak)
        limit = LIMITS.get(case.kind, DEFAULT_LIMIT)
        assert peak < limit, f"{case.key}: {peak} MB over the {limit} MB bound ({line})"
    report = os.environ.get("RESIZER_MEMORY_REPORT")
    if report:
        Path(report).write_text(
            json.dumps(
                {
                    "peaks_mb": peaks,
                    "inputs": [dict(line, key=c.key) for c, line in zip(CASES, lines, strict=True)],
                },
                indent=1,
            )
        )
