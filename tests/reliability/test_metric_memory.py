"""The SSIMULACRA2 metric's memory estimate (_memory.METRIC_BYTES_PER_PIXEL) against
its peak RSS, measured in a fresh process: a prepared reference and scores against it,
opaque and with alpha (two backgrounds). The estimate must cover the peak and stay
within METRIC_ESTIMATE_SLACK of it, or renders that score candidates wait for nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from resizer.imaging._memory import metric_bytes

METRIC_ESTIMATE_SLACK = 1.5
SUPPORT = Path(__file__).resolve().parents[1] / "support"

# Before preparing, the heap is trimmed and the kernel's peak-RSS mark reset (as
# memory_probe.py does): the peak is what the metric needed on top of the images.
PROBE = """
import ctypes, gc, io, json, sys
sys.path.insert(0, {support!r})
import images
from PIL import Image
from resizer.imaging._ssimulacra2 import Reference

def status(field):
    for line in open('/proc/self/status'):
        if line.startswith(field):
            return int(line.split()[1]) * 1024

image = images.photo(images.PHOTOS / 'seeding_by_Clements_Engelhardt.jpg', 1600)
if {alpha}:
    image = images.cutout(image)
candidates = []
for quality in (40, 80):
    with Image.open(io.BytesIO(images.encode(image, 'WEBP', quality=quality))) as opened:
        candidates.append(opened.convert(image.mode))
gc.collect()
ctypes.CDLL('libc.so.6').malloc_trim(0)
with open('/proc/self/clear_refs', 'w') as marks:
    marks.write('5')
base = status('VmRSS:')
reference = Reference(image)
scores = [reference.score(candidate) for candidate in candidates]
print(json.dumps({{'size': image.size, 'peak': status('VmHWM:') - base, 'scores': scores}}))
"""


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("alpha", [False, True])
def test_the_metric_is_budgeted_for_what_it_uses(alpha: bool) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", PROBE.format(support=str(SUPPORT), alpha=alpha)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    measured = json.loads(completed.stdout)
    width, height = measured["size"]
    assert width * height > 1_000_000
    assert measured["scores"][0] < measured["scores"][1] < 100
    estimate = metric_bytes((width, height), alpha)
    assert measured["peak"] <= estimate <= METRIC_ESTIMATE_SLACK * measured["peak"], measured[
        "peak"
    ] / (width * height)
