"""One measurement, in a fresh interpreter (``python -m resizer_tools.tuning.child``).

Arguments: PATH AT_ONCE REPEATS. Imports the handler and builds its runtime (what a
Lambda container holds before its first record), then renders the image ``AT_ONCE``
times in threads, ``REPEATS`` times, and prints one JSON line: bytes, megapixels, the
memory before the render (the runtime baseline) and its peak after, and the CPU seconds
per render.

Peak memory is ``VmHWM`` (``/proc/self/status``), not ``ru_maxrss``: on Linux
``ru_maxrss`` survives ``execve`` (the kernel folds the parent's address space, shared
with a forked or vforked child until exec, into the child's high-water mark), so a child
of a large process would report the parent's size. ``ru_maxrss`` is the fallback where
``/proc`` is missing (macOS: bytes, not KiB).
"""

from __future__ import annotations

import io
import json
import re
import resource
import statistics
import sys
import threading
import time

from PIL import Image


def peak_mb() -> tuple[float, str]:
    """This process's peak resident memory in MB, and where the figure came from."""
    try:
        with open("/proc/self/status") as status:
            match = re.search(r"VmHWM:\s+(\d+) kB", status.read())
        if match:
            return int(match.group(1)) / 1024, "VmHWM"
    except OSError:
        pass
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024  # bytes vs KiB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale, "ru_maxrss"


def measure(path: str, at_once: int, repeats: int) -> dict[str, object]:
    """Render ``path`` as the function would; the figures, or ``{"error": reason}``."""
    import resizer.handler  # noqa: PLC0415 - imported here, so its cost is in the baseline
    from resizer.config import Settings  # noqa: PLC0415
    from resizer.imaging import render  # noqa: PLC0415

    resizer.handler.runtime()
    settings = Settings.from_env()
    baseline, _ = peak_mb()
    with open(path, "rb") as fh:
        data = fh.read()
    cpu: list[float] = []
    wall: list[float] = []
    out: list[int] = []
    errors: list[str] = []

    def one() -> None:
        try:
            out.append(sum(len(image.data) for image in render(data, settings)))
        except Exception as error:
            errors.append(f"{type(error).__name__}: {getattr(error, 'reason', error)}")

    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        threads = [threading.Thread(target=one) for _ in range(at_once)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
        if errors:
            return {"error": errors[0]}
    with Image.open(io.BytesIO(data)) as image:
        megapixels = image.width * image.height / 1e6
    peak, source = peak_mb()
    return {
        "bytes_in": len(data),
        "bytes_out": out[0],
        "megapixels": megapixels,
        "baseline_mb": baseline,
        "peak_mb": peak,
        "source": source,
        "cpu_s": statistics.median(cpu) / at_once,
        "wall_s": statistics.median(wall),
    }


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))))
