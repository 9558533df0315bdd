"""The local stack's papercuts: port probe, ready screen, readable log lines."""

from __future__ import annotations

import io
import json
import shutil
import socket
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console

from resizer_tools.cli import local as local_cli
from resizer_tools.local.emulator import _require_free
from resizer_tools.ops.logs import readable


def _port_in_time_wait() -> int:
    """A port whose server closed an accepted connection first (TIME_WAIT), now unbound."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug's server
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = int(server.getsockname()[1])
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = server.accept()
        accepted.close()  # the server side closes first: its end goes to TIME_WAIT
        client.recv(1)
        client.close()
    return port


def test_a_port_left_in_time_wait_is_free_for_the_next_local_up() -> None:
    port = _port_in_time_wait()
    with socket.socket() as plain, pytest.raises(OSError, match="in use"):
        plain.bind(("127.0.0.1", port))  # what the old probe did: "in use" for a minute
    _require_free(port)  # binds as the server will (SO_REUSEADDR)


def test_a_port_someone_listens_on_is_refused() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with pytest.raises(Exception, match="in use"):
            _require_free(int(server.getsockname()[1]))


def _ready_text(
    monkeypatch: pytest.MonkeyPatch,
    queue: str = "http://127.0.0.1:4566/123456789012/q",
    dlq: str = "http://127.0.0.1:4566/123456789012/dlq",
    destination: str = "dst-bucket",
    not_emulated: tuple[str, ...] = (),
) -> str:
    """The ready screen of `local up`, as an 80-column terminal shows it."""
    out = io.StringIO()
    monkeypatch.setattr(local_cli, "console", Console(file=out, width=80, color_system=None))
    stack = SimpleNamespace(
        endpoint_url="http://127.0.0.1:4566",
        seconds=3.2,
        poller=None,
        resources=SimpleNamespace(
            stack_name="resizer-local",
            source_bucket="src-bucket",
            destination_bucket=destination,
            queue_url=queue,
            dead_letter_queue_url=dlq,
        ),
        deployment=SimpleNamespace(not_emulated=list(not_emulated)),
    )
    local_cli._print_ready(stack)
    return out.getvalue()


def test_the_ready_screen_keeps_every_value_whole_at_80_columns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    queue = "http://127.0.0.1:4566/123456789012/resizer-local-Queue-ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    dlq = "http://127.0.0.1:4566/123456789012/resizer-local-DeadLetterQueue-ABCDEFGHIJKLMNOPQR"
    destination = "resizer-local-destination-123456789012-0123abcd"
    text = _ready_text(
        monkeypatch, queue, dlq, destination, ("AWS::CloudWatch::Alarm (4): alarms",)
    )
    for value in (queue, dlq, destination):
        assert value in text
    assert "…" not in text


def _checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *tools: str) -> Path:
    """A checkout after `make install` (and `make tools`), the shell in its root."""
    venv = tmp_path / ".venv" / "bin"
    venv.mkdir(parents=True)
    for name in ("python", "resizer"):
        (venv / name).touch()
    for name in tools:
        (tmp_path / ".tools" / "bin").mkdir(parents=True, exist_ok=True)
        (tmp_path / ".tools" / "bin" / name).touch()
    monkeypatch.setattr(sys, "executable", str(venv / "python"))
    monkeypatch.chdir(tmp_path)
    return venv


def test_the_ready_screen_commands_run_as_pasted_without_an_activated_venv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README's `.venv/bin/resizer local up`: no `resizer` (nor the AWS CLI) on the PATH,
    and the PATH's `python` has no boto3; the screen names the venv's, and .tools' aws."""
    _checkout(tmp_path, monkeypatch, "aws")
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    text = _ready_text(monkeypatch)
    assert "http://127.0.0.1:4566 .venv/bin/resizer status" in text
    assert "http://127.0.0.1:4566 .venv/bin/python -c" in text
    assert ".tools/bin/aws --endpoint-url http://127.0.0.1:4566 s3 cp" in text
    assert "not polled here: .venv/bin/resizer local worker --endpoint" in text
    assert " resizer status" not in text


def test_the_ready_screen_says_the_bare_names_when_the_path_finds_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    venv = _checkout(tmp_path, monkeypatch, "aws")
    found = {"resizer": venv / "resizer", "python": venv / "python", "aws": Path("/usr/bin/aws")}
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: str(found[name]))
    text = _ready_text(monkeypatch)
    assert "http://127.0.0.1:4566 resizer status" in text
    assert "http://127.0.0.1:4566 python -c" in text
    assert "  aws --endpoint-url http://127.0.0.1:4566 s3 cp" in text


def test_a_function_log_line_reads_as_time_level_message_fields() -> None:
    line = json.dumps(
        {
            "level": "INFO",
            "location": "handle:120",
            "message": "rendered",
            "timestamp": "2026-11-30 15:40:01,234+0000",
            "service": "resizer",
            "cold_start": False,
            "function_request_id": "abc",
            "key": "photos/a.jpg",
            "ms": 41,
            "renditions": ["thumbnails", "medium"],
        }
    )
    assert readable(line) == (
        '15:40:01,234 INFO    rendered  key=photos/a.jpg ms=41 renditions=["thumbnails","medium"]'
    )


@pytest.mark.parametrize("line", ["plain text", "[1, 2]", '{"no": "level"}', ""])
def test_other_lines_are_left_as_they_are(line: str) -> None:
    assert readable(line) == line
