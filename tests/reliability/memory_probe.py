"""Peak memory of rendering each file in a folder: ``python memory_probe.py FOLDER``.

Run in a fresh process, as Lambda would, with Python's default warning filters.
Before each file the kernel's peak-RSS mark is reset (``/proc/self/clear_refs`` 5,
Linux >= 4.0) and freed heap is handed back (``malloc_trim``), so each line is the
memory that one render needed on top of what was resident before it: the bytes of
the input are already loaded, everything Pillow decodes and resamples is counted.
Prints one JSON object per file (peak MB, the admission estimate in MB, wall ms, CPU
ms: user + system, all threads). Settings come from the environment (``RENDITIONS=...``
measures other renditions and formats than the default ones).
"""

from __future__ import annotations

import ctypes
import gc
import json
import sys
import time
from pathlib import Path

from resizer import imaging
from resizer.config import Settings
from resizer.errors import ResizerError
from resizer.imaging import _decode
from resizer.imaging._admission import estimate, open_within_limits

_LIBC = ctypes.CDLL("libc.so.6")


def _status(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} missing from /proc/self/status")


def _reset_peak() -> None:
    gc.collect()
    _LIBC.malloc_trim(0)
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")


def main(folder: Path) -> None:
    settings = Settings.from_env()
    # The optional JPEG decoder (simplejpeg, with numpy) is imported on a container's
    # first JPEG, once: runtime memory, not any one render's.
    _decode.turbo()
    for path in sorted(folder.iterdir()):
        data = path.read_bytes()
        try:
            estimate_mb: float | None = round(
                estimate(open_within_limits(data, settings), len(data), settings) / 2**20, 1
            )
        except ResizerError:
            estimate_mb = None
        _reset_peak()
        before = _status("VmRSS:")
        started = time.perf_counter()
        cpu = time.process_time()
        try:
            outputs = imaging.render(data, settings)
        except ResizerError as error:
            outcome = type(error).__name__
        else:
            outcome = f"rendered {sum(len(o.data) for o in outputs)} bytes"
            del outputs
        peak = _status("VmHWM:")
        line = {
            "file": path.name,
            "bytes": len(data),
            "outcome": outcome,
            "peak_mb": round((peak - before) / 2**20, 1),
            # The render's reservation, which includes the input's bytes (loaded before).
            "estimate_mb": estimate_mb,
            "ms": round((time.perf_counter() - started) * 1000),
            "cpu_ms": round((time.process_time() - cpu) * 1000),
        }
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
