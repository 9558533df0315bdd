"""glibc's malloc, tuned for a process that decodes one large image after another.

By default glibc returns every block of 128 KB or more to the kernel when it is freed
(``mmap``/``munmap``; the threshold grows with use, but never past 32 MB) and trims
the heap's free top above 128 KB. A render allocates and frees tens of megabytes per
image: libjpeg's coefficient buffers (a progressive JPEG's whole image), Pillow's
pixel blocks (16 MB each), the encoders' buffers. Each time they come back from the
kernel as fresh pages, which it zeroes, one page fault per 4 KB.

:func:`tune` (``resizer.imaging.tune_allocator``: called once by the processes that
render, the handler at its init and ``resizer resize``; importing the package does
not) keeps the memory instead, for the next image to reuse:

* ``M_MMAP_THRESHOLD`` :data:`MMAP_THRESHOLD` (32 MB): smaller blocks come from the
  heap, larger ones (a 100 MP image's buffers) still go straight back to the kernel;
* ``M_TRIM_THRESHOLD`` :data:`TRIM_THRESHOLD` (64 MB): at most that much free memory
  stays at the heap's top;
* ``M_ARENA_MAX`` 1: the render threads share one heap, so what one thread frees the
  next render reuses, whichever thread runs it. Per-thread arenas would each keep
  their own free memory, and the renders' memory budget (``_memory``) counts bytes in
  use, not bytes held. The threads allocate a few large blocks per image, so the one
  lock costs nothing measurable.

What it saves (page faults, system CPU, whole-process CPU, memory in a long-running
process) is measured in docs/performance.md, "malloc tuned for large images": a
young process gains, a long-running one keeps its memory lower and flat. Not glibc
(musl, macOS): a no-op.
"""

from __future__ import annotations

import ctypes
import functools
import os

MB = 1024 * 1024
MMAP_THRESHOLD = 32 * MB
TRIM_THRESHOLD = 64 * MB
ARENA_MAX = 1

# mallopt's parameter numbers, from glibc's <malloc.h>.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8


@functools.cache
def tune() -> bool:
    """Set glibc's thresholds (once per process); False where the C library is not glibc."""
    try:
        glibc = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (ValueError, OSError):  # not a name this platform's confstr knows
        glibc = ""
    if not glibc.startswith("glibc"):
        return False
    libc = ctypes.CDLL(None)  # the process's own symbols, glibc's mallopt among them
    settings = (
        (M_MMAP_THRESHOLD, MMAP_THRESHOLD),
        (M_TRIM_THRESHOLD, TRIM_THRESHOLD),
        (M_ARENA_MAX, ARENA_MAX),
    )
    # mallopt returns 1 on success, 0 when glibc refuses a value.
    return all(libc.mallopt(parameter, value) == 1 for parameter, value in settings)
