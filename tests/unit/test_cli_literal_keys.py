"""Keys are printed literally by every command that prints them (issue 22 item 7).

S3 keys are any UTF-8: ``[/].jpg`` is a closing Rich tag with nothing to close (Rich
raises MarkupError, which killed ``resizer events --follow`` and ``resizer dlq list``)
and ``[bold]x[/bold].jpg`` would be printed as ``x.jpg`` in bold. Each command is run
through the Typer app with its AWS calls replaced by in-memory fakes returning such
keys; its output must hold each key exactly as stored.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from resizer_tools.cli import common, dlq, events, stack, tune
from resizer_tools.cli.app import app
from resizer_tools.errors import UsageError
from resizer_tools.ops import dead_letters, prune
from resizer_tools.ops import events as ops_events
from resizer_tools.ops.aws import StackResources
from resizer_tools.ops.dead_letters import DeadLetter, RedriveResult
from resizer_tools.ops.events import ResizerEvent, Watch

#: A closing tag with nothing open (MarkupError), a style pair (silently eaten), a
#: link-looking tag and a backslash before a bracket (Rich's escape character).
HOSTILE = ("shop/[/].jpg", "[bold]x[/bold].jpg", "[link=http://e]y[/link].png", "a\\[red]b.jpg")


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables wide enough to show whole keys: without a terminal (xdist's workers,
    CI) Rich would wrap and truncate them at 80 columns."""
    for console in (common.console, common.err_console):
        monkeypatch.setattr(console, "width", 1000)


RESOURCES = StackResources(
    stack_name="resizer",
    source_bucket="src",
    destination_bucket="dst",
    queue_url="http://q",
    dead_letter_queue_url="http://dlq",
    function_name="fn",
)


class _FakeAws:
    def stack(self, stack_name: str) -> StackResources:
        return RESOURCES


def _fake_clients(monkeypatch: pytest.MonkeyPatch, *modules: Any) -> None:
    for module in modules:
        if hasattr(module, "stack_clients"):
            monkeypatch.setattr(module, "stack_clients", lambda *a: (_FakeAws(), RESOURCES))
        if hasattr(module, "aws_clients"):
            monkeypatch.setattr(module, "aws_clients", lambda *a: _FakeAws())


def _letter(key: str, number: int) -> DeadLetter:
    return DeadLetter(
        message_id=f"id-{number}",
        source_bucket="src",
        source_key=key,
        event_name="ObjectCreated:Put",
        error_type="CorruptImageError",
        reason=f"cannot decode {key}",
        sent_timestamp_ms=1_700_000_000_000,
        receive_count=1,
        body="{}",
    )


LETTERS = [_letter(key, n) for n, key in enumerate(HOSTILE)]


def _run(*arguments: str) -> tuple[int, str]:
    # Wide, so that a table cell is not wrapped inside a key.
    result = CliRunner().invoke(app, list(arguments), env={"COLUMNS": "400"})
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result.exit_code, output


def _assert_literal(output: str, keys: tuple[str, ...] = HOSTILE) -> None:
    for key in keys:
        assert key in output, f"{key!r} not printed literally in:\n{output}"


def _deliver(monkeypatch: pytest.MonkeyPatch, batches: list[list[ResizerEvent]]) -> None:
    """`resizer events` watches a fake bus that hands over ``batches``, one a poll."""

    @contextlib.contextmanager
    def watching(*args: Any) -> Iterator[Watch]:
        yield Watch("default", "rule", "arn:rule", "http://watch", "src")

    monkeypatch.setattr(ops_events, "event_bus", lambda *a: "default")
    monkeypatch.setattr(ops_events, "watching", watching)
    monkeypatch.setattr(ops_events, "receive", lambda *a, **k: batches.pop(0) if batches else [])


def test_events_prints_every_kind_of_event_with_its_key_literally(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _fake_clients(monkeypatch, events)
    sent: list[ResizerEvent] = []
    for number, key in enumerate(HOSTILE):
        kind = ("Renditions Ready", "Renditions Removed", "Rendition Failed")[number % 3]
        detail: dict[str, Any] = {
            "renditions": [{"name": "hero", "width": 8, "height": 6, "format": "WEBP"}],
            "error_type": "CorruptImageError",
            "reason": f"cannot decode {key}",
        }
        sent.append(ResizerEvent(kind, "2026-12-07T07:00:00Z", "src", key, detail, {}))

    _deliver(monkeypatch, [sent[:2], sent[2:]])
    code, output = _run("events", "--follow", "--count", str(len(HOSTILE)))
    assert code == 0
    _assert_literal(output)
    assert f"{len(HOSTILE)} event(s)" in output  # every event reached the watcher
    _assert_literal(output, tuple(f"cannot decode {key}" for key in HOSTILE[2::3]))


def test_dlq_list_show_and_redrive_print_keys_literally(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_clients(monkeypatch, dlq)
    monkeypatch.setattr(dead_letters, "dead_letters", lambda *a: LETTERS)
    code, output = _run("dlq", "list")
    assert code == 0
    _assert_literal(output)

    monkeypatch.setattr(dead_letters, "find", lambda aws, stack, message_id: LETTERS[0])
    code, output = _run("dlq", "show", "id-0")
    assert code == 0
    _assert_literal(output, HOSTILE[:1])

    monkeypatch.setattr(
        dead_letters,
        "redrive",
        lambda *a, **k: RedriveResult(moved=[], source_gone=LETTERS, dropped=False),
    )
    code, output = _run("dlq", "redrive")
    assert code == 0
    _assert_literal(output)


def test_backfill_prune_lists_deleted_keys_literally(monkeypatch: pytest.MonkeyPatch) -> None:
    from resizer_tools.ops import operations

    _fake_clients(monkeypatch, stack)
    deleted = [f"hero/{key}" for key in HOSTILE]
    monkeypatch.setattr(operations, "backfill", lambda *a, **k: 0)
    monkeypatch.setattr(prune, "drained", lambda *a: True)
    monkeypatch.setattr(prune, "prune", lambda *a, **k: prune.PruneReport(deleted=deleted))
    for dry_run in ([], ["--dry-run"]):
        code, output = _run("backfill", "--prune", *dry_run)
        assert code == 0
        _assert_literal(output, tuple(deleted))


def test_upload_and_backfill_print_the_prefix_literally(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from resizer_tools.ops import operations

    _fake_clients(monkeypatch, stack)
    image = tmp_path / "[red]x.jpg"
    image.write_bytes(b"x")
    sent: list[str] = []
    monkeypatch.setattr(operations, "files_to_upload", lambda *a, **k: [(image, image.name)])
    monkeypatch.setattr(
        operations, "upload_file", lambda aws, stack, path, key, progress: sent.append(key)
    )
    monkeypatch.setattr(operations, "require_source_bucket", lambda *a: None)
    code, output = _run("upload", str(image), "--prefix", "[/]in/")
    assert code == 0
    assert sent == [f"[/]in/{image.name}"]
    _assert_literal(output, ("s3://src/[/]in/",))

    monkeypatch.setattr(operations, "backfill", lambda *a, **k: 1)
    code, output = _run("backfill", "--prefix", "[/]in/")
    assert code == 0
    _assert_literal(output, ("s3://src/[/]in/",))


def test_status_prints_top_level_folders_literally(monkeypatch: pytest.MonkeyPatch) -> None:
    from collections import Counter

    from resizer_tools.ops import operations

    _fake_clients(monkeypatch, stack)
    now = operations.Status(0, 0, 0, 0, 0, 1, Counter({"[/]odd": 1, "[red]x": 2}))
    monkeypatch.setattr(operations, "status", lambda *a: now)
    code, output = _run("status")
    assert code == 0
    _assert_literal(output, ("[/]odd/", "[red]x/"))


def test_resize_prints_file_names_literally(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    # A folder "x[" holding "].jpg": the path reads x[/].jpg, a closing tag.
    good, bad = folder / "[red]x.jpg", folder / "x[" / "].jpg"
    bad.parent.mkdir()
    Image.new("RGB", (64, 48), (10, 20, 30)).save(good, "JPEG")
    bad.write_bytes(b"not an image")
    code, output = _run("resize", str(folder), "--out", str(tmp_path / "out"))
    assert code == 1  # the corrupt one failed, and said so
    _assert_literal(output, (str(good), str(bad)))


def test_tune_prints_file_names_and_errors_literally(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import resizer_tools.tuning

    def tune_command(folder: Path, *, on_image: Any, **options: Any) -> Any:
        on_image(folder / HOSTILE[0], "cannot decode")
        raise UsageError(f"{folder / HOSTILE[1]}: no images")

    monkeypatch.setattr(resizer_tools.tuning, "tune_command", tune_command)
    assert tune.tune  # the command module is the one registered
    code, output = _run("tune", str(tmp_path))
    assert code == 2
    _assert_literal(output, (Path(HOSTILE[0]).name, str(tmp_path / HOSTILE[1])))


def test_an_error_naming_a_key_is_printed_literally(tmp_path: Path) -> None:
    missing = tmp_path / "[/]gone.jpg"
    code, output = _run("resize", str(missing), "--out", str(tmp_path / "out"))
    assert code == 2
    assert str(missing) in output


def test_the_demo_table_and_the_workers_batch_lines_print_keys_literally(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from rich.console import Console

    from resizer_tools.cli import local
    from resizer_tools.local import demo
    from resizer_tools.local.poller import BatchResult

    recorder = Console(record=True, width=400)
    manifests = [
        {
            "source": {"key": key},
            "renditions": [
                {"name": "hero", "format": "WEBP", "width": 8, "height": 6, "bytes": 10}
            ],
        }
        for key in HOSTILE
    ]
    demo._print_table(recorder, manifests, {})
    _assert_literal(recorder.export_text())

    error = f"KeyError: {HOSTILE[0]!r}"
    local._print_batch(BatchResult("r" * 36, ("m",), (), ("m",), 5.0, error))
    assert error in capsys.readouterr().out.replace("\n", "")  # wrapped at 80 columns


def test_the_tune_report_prints_file_names_literally(monkeypatch: pytest.MonkeyPatch) -> None:
    import resizer_tools.tuning
    from resizer_tools.tuning import ImageMeasurement, TuningReport, recommend

    measured = [
        ImageMeasurement(
            name=name,
            bytes_in=1_000_000,
            bytes_out=300_000,
            megapixels=12.0,
            baseline_mb=60.0,
            peak_mb=140.0 + number,
            cpu_s=0.2,
            wall_s=0.2,
            source="JPEG",
        )
        for number, name in enumerate(("[/]a.jpg", "[red]b.jpg"))
    ]
    report = TuningReport(
        folder=Path("photos[/]"),
        measurements=measured,
        failed=["[/]c.png: cannot decode"],
        concurrent_peak_mb=None,
        recommendation=recommend(measured),
        max_input_pixels=50_000_000,
    )
    monkeypatch.setattr(resizer_tools.tuning, "tune_command", lambda *a, **k: report)
    code, output = _run("tune", ".")
    assert code == 0
    _assert_literal(output, ("[/]a.jpg", "[red]b.jpg", "photos[/]", "[/]c.png: cannot decode"))


def test_events_shows_a_slim_ready_event_by_its_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Ready event over EventBridge's size limit carries counts and the manifest's key,
    not the renditions: the watcher says so instead of "0 rendition(s)"."""
    _fake_clients(monkeypatch, events)
    detail = {
        "slim": True,
        "manifest_key": "manifests/[big].jpg.json",
        "counts": {"renditions": 4, "objects": 270, "bytes": 123456},
    }
    ready = ResizerEvent("Renditions Ready", "2026-12-07T07:00:00Z", "src", "[big].jpg", detail, {})
    _deliver(monkeypatch, [[ready]])
    code, output = _run("events", "--follow", "--count", "1")
    assert code == 0
    assert "4 rendition(s), 270 object(s), 123456 bytes" in output
    assert "manifests/[big].jpg.json" in output
    assert "0 rendition(s)" not in output
