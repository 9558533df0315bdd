"""imaging/_allocator: freed image-sized blocks are reused, not handed back and faulted in again.

Each case runs in a fresh interpreter (malloc's settings are per process), counting
the minor page faults of writing a block again after it was written and freed once.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from resizer.imaging import _allocator

PAGE = 4096
PROBE = textwrap.dedent(
    """
    import resource, sys, threading
    if sys.argv[1] == "tuned":
        import resizer.imaging  # tunes malloc on import
    size, where = int(sys.argv[2]), sys.argv[3]

    def faults():
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

    def write_and_free():
        block = b"\\1" * size  # malloc, then every page written
        del block

    first = threading.Thread(target=write_and_free) if where == "thread" else None
    if first:
        first.start()
        first.join()
    else:
        write_and_free()
    before = faults()
    write_and_free()
    print(faults() - before)
    """
)


def faults_of_a_second_write(size: int, *, tuned: bool, where: str = "main") -> int:
    mode = "tuned" if tuned else "default"
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode, str(size), where],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(out.stdout)


needs_glibc = pytest.mark.skipif(not _allocator.tune(), reason="malloc tuning is glibc's")


@needs_glibc
def test_a_freed_block_below_the_mmap_threshold_is_reused() -> None:
    size = 24 * _allocator.MB
    pages = size // PAGE
    # The control: glibc's defaults hand the block back and fault it in again.
    assert faults_of_a_second_write(size, tuned=False) > pages // 2
    assert faults_of_a_second_write(size, tuned=True) < pages // 10


@needs_glibc
def test_what_one_thread_freed_another_reuses() -> None:
    size = 24 * _allocator.MB
    assert faults_of_a_second_write(size, tuned=True, where="thread") < size // PAGE // 10


@needs_glibc
def test_blocks_above_the_mmap_threshold_still_go_back_to_the_kernel() -> None:
    size = 2 * _allocator.MMAP_THRESHOLD
    assert faults_of_a_second_write(size, tuned=True) > size // PAGE // 2


def test_not_glibc_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_allocator.os, "confstr", lambda name: None)
    assert _allocator.tune.__wrapped__() is False

    def unknown(name: str) -> str:
        raise ValueError(name)

    monkeypatch.setattr(_allocator.os, "confstr", unknown)
    assert _allocator.tune.__wrapped__() is False
