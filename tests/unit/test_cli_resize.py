"""The `resizer` entry point and `resizer resize`: no traceback, the documented exit codes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cli_process import ENTRY_POINT, ROOT, run_python
from PIL import Image
from spies import counting_renders
from typer.testing import CliRunner

from resizer_tools.cli.app import app

# Runs the console-script entry point as if Typer and Rich were not installed
# (`pip install resizer` without the `cli` extras).
_WITHOUT_EXTRAS = """
import importlib.abc, sys
class Missing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"typer", "rich"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Missing())
sys.argv = ["resizer", *sys.argv[1:]]
from resizer_tools.cli import main
main()
"""


def _jpeg(path: Path, size: tuple[int, int] = (640, 480)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (200, 80, 40)).save(path, "JPEG")
    return path


@pytest.mark.parametrize("arguments", [["resize", "x.jpg", "--out", "out"], ["--help"], []])
def test_without_the_cli_extras_one_line_names_them_and_exits_2(arguments: list[str]) -> None:
    done = run_python(_WITHOUT_EXTRAS, *arguments)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1
    assert "pip install 'resizer[cli]'" in done.stderr


def test_the_default_stack_name_is_written_once() -> None:
    from resizer_tools.local.stack import LocalStack
    from resizer_tools.ops.aws import DEFAULT_STACK_NAME

    literal = f'"{DEFAULT_STACK_NAME}"'
    holders = [
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "src").rglob("*.py")
        if literal in path.read_text()
    ]
    assert holders == ["src/resizer_tools/ops/__init__.py"]  # boto3-free, for start-up
    assert LocalStack(ROOT / "infra" / "template.yaml")._stack_name == DEFAULT_STACK_NAME


def test_a_missing_file_is_a_usage_error_before_anything_is_written(tmp_path: Path) -> None:
    good = _jpeg(tmp_path / "good.jpg")
    result = CliRunner().invoke(
        app, ["resize", str(good), str(tmp_path / "missing.jpg"), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 2, result.output
    assert "missing.jpg" in result.output
    assert not (tmp_path / "out").exists()


def test_a_folder_is_resized_recursively_without_hidden_files(tmp_path: Path) -> None:
    _jpeg(tmp_path / "in" / "a.jpg")
    _jpeg(tmp_path / "in" / "sub" / "b.jpg", (300, 200))
    (tmp_path / "in" / ".DS_Store").write_bytes(b"\0junk")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["resize", str(tmp_path / "in"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "thumbnails" / "a.jpg").is_file()
    with Image.open(out / "thumbnails" / "sub" / "b.jpg") as image:
        assert image.size == (150, 100)
    assert not list(out.rglob(".DS_Store"))


def test_resize_json_reports_every_file_and_exits_1_on_a_bad_one(tmp_path: Path) -> None:
    good = _jpeg(tmp_path / "good.jpg")
    bad = tmp_path / "notes.jpg"
    bad.write_text("not an image")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["resize", str(good), str(bad), "--out", str(out), "--json"])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["failed"] == 1
    assert document["out"] == str(out)
    by_file = {entry["file"]: entry for entry in document["files"]}
    assert by_file[str(bad)]["renditions"] == []
    assert by_file[str(bad)]["error"]
    renditions = {r["rendition"]: r for r in by_file[str(good)]["renditions"]}
    assert set(renditions) == {"thumbnails", "medium", "large"}
    assert renditions["thumbnails"]["width"] == 150
    assert renditions["thumbnails"]["format"] == "JPEG"
    assert (
        Path(renditions["thumbnails"]["path"]).stat().st_size == renditions["thumbnails"]["bytes"]
    )


def test_a_bad_setting_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RENDITIONS", "thumbnails=150")
    result = CliRunner().invoke(
        app, ["resize", str(_jpeg(tmp_path / "a.jpg")), "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "RENDITIONS" in result.output
    assert "Traceback" not in result.output


def test_an_unexpected_error_is_one_line_unless_debugging(tmp_path: Path) -> None:
    _jpeg(tmp_path / "x.jpg")  # the inputs pass their check; reading the settings crashes
    crash = (
        "import resizer.config as c\n"
        "def boom(*a, **k): raise KeyError('surprise')\n"
        "c.Settings.from_env = classmethod(boom)\n"
        "import sys; sys.argv = ['resizer', 'resize', 'x.jpg', '--out', 'o']\n"
        f"{ENTRY_POINT}\n"
    )
    done = run_python(crash, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert "KeyError" in done.stderr
    assert "RESIZER_DEBUG=1" in done.stderr
    debugging = run_python(crash, cwd=tmp_path, env={**os.environ, "RESIZER_DEBUG": "1"})
    assert "Traceback" in debugging.stderr


def test_tune_json_holds_the_recommendation(tmp_path: Path) -> None:
    _jpeg(tmp_path / "photos" / "a.jpg", (800, 600))
    result = CliRunner().invoke(
        app, ["tune", str(tmp_path / "photos"), "--workers", "1", "--batch-size", "2", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [m["name"] for m in report["measurements"]] == ["a.jpg"]
    assert report["recommendation"]["chosen"]["memory_mb"] >= 128
    assert report["failed"] == []


def test_an_event_file_is_an_sqs_event_or_a_wrapped_s3_notification() -> None:
    from resizer.notifications import parse_body
    from resizer_tools.cli.invoke import sqs_event

    arn = "arn:aws:sqs:us-east-1:123456789012:q"
    sqs = json.loads((ROOT / "tests" / "notifications" / "sqs_s3_put_real.json").read_text())
    assert sqs_event(sqs, arn, "us-east-1") == sqs
    s3 = json.loads(sqs["Records"][0]["body"])
    wrapped = sqs_event(s3, arn, "us-east-1")
    (record,) = wrapped["Records"]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == arn
    assert parse_body(record["body"]) == parse_body(sqs["Records"][0]["body"])
    from resizer_tools.errors import UsageError

    for bad in ({}, {"Records": []}, {"Records": [{"eventSource": "aws:sns"}]}, [1]):
        with pytest.raises(UsageError):
            sqs_event(bad, arn, "us-east-1")


def test_resize_marks_renditions_with_the_watermark_file(tmp_path: Path) -> None:
    """WATERMARK is a file path for `resizer resize` (issue 20); a missing one is a usage
    error naming it."""
    from images import watermark_png

    photo = tmp_path / "in" / "p.png"
    photo.parent.mkdir()
    Image.new("RGB", (1000, 500), (100, 100, 100)).save(photo)
    mark = tmp_path / "mark.png"
    mark.write_bytes(watermark_png())
    out = tmp_path / "out"
    env = {"RENDITIONS": "big=1000x1000:watermark,small=200x200:watermark", "WATERMARK": str(mark)}
    result = CliRunner().invoke(app, ["resize", str(photo), "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    with Image.open(out / "big" / "p.png") as big:
        assert big.convert("RGB").getpixel((880, 455)) != (100, 100, 100)
        assert big.convert("RGB").getpixel((500, 250)) == (100, 100, 100)
    with Image.open(out / "small" / "p.png") as small:  # narrower than 300 px
        assert small.convert("RGB").getextrema() == ((100, 100), (100, 100), (100, 100))
    missing = {**env, "WATERMARK": str(tmp_path / "nope.png")}
    result = CliRunner().invoke(app, ["resize", str(photo), "--out", str(out)], env=missing)
    assert result.exit_code == 2, result.output
    assert "nope.png cannot be read" in result.output


def test_resize_renders_at_most_render_concurrency_files_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the function does (issue 21): WORKERS=4 but RENDER_CONCURRENCY=2 renders two at once."""
    monkeypatch.setenv("WORKERS", "4")
    monkeypatch.setenv("RENDER_CONCURRENCY", "2")
    running = counting_renders(monkeypatch, together=2)
    photos = [str(_jpeg(tmp_path / f"p{index}.jpg", (64, 48))) for index in range(6)]
    result = CliRunner().invoke(app, ["resize", *photos, "--out", str(tmp_path / "out"), "--json"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["files"]) == 6
    assert max(running) == 2
