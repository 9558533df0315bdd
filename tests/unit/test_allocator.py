"""imaging/_allocator: freed image-sized blocks are reused, not handed back and faulted in again;
tuned by an explicit call from the processes that render (the handler's init, which
the local stack, ``resizer invoke`` and ``resizer tune``'s measurements run too, and
``resizer resize``), never by importing ``resizer.imaging``.

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
    size, where = int(sys.argv[2]), sys.argv[3]
    if sys.argv[1] == "tuned":
        import resizer.imaging
        resizer.imaging.tune_allocator()
    elif sys.argv[1] == "imported":
        import resizer.imaging, resizer.pipeline  # the package and all it imports
    elif sys.argv[1] == "handler":
        import resizer.handler  # Lambda's init phase
    elif sys.argv[1] == "resize":  # `resizer resize`, as the console script runs it
        import contextlib, io, pathlib, tempfile
        from PIL import Image
        from resizer_tools.cli import main
        with tempfile.TemporaryDirectory() as folder:
            photo = pathlib.Path(folder, "photo.jpg")
            Image.new("RGB", (64, 48)).save(photo)
            sys.argv[1:] = ["resize", str(photo), "--out", str(pathlib.Path(folder, "out"))]
            with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
                main()

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


def faults_of_a_second_write(
    size: int, *, tuned: bool = False, where: str = "main", mode: str = ""
) -> int:
    mode = mode or ("tuned" if tuned else "default")
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


@needs_glibc
def test_importing_the_imaging_package_leaves_malloc_alone() -> None:
    size = 24 * _allocator.MB
    assert faults_of_a_second_write(size, mode="imported") > size // PAGE // 2


@needs_glibc
@pytest.mark.parametrize("entry", ["handler", "resize"])
def test_the_handler_s_init_and_the_resize_command_tune_malloc(entry: str) -> None:
    size = 24 * _allocator.MB
    assert faults_of_a_second_write(size, mode=entry) < size // PAGE // 10


def test_not_glibc_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_allocator.os, "confstr", lambda name: None)
    assert _allocator.tune.__wrapped__() is False

    def unknown(name: str) -> str:
        raise ValueError(name)

    monkeypatch.setattr(_allocator.os, "confstr", unknown)
    assert _allocator.tune.__wrapped__() is False
