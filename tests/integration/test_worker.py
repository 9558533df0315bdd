"""``resizer local worker``: the poller alone, against a running emulator.

It can be killed and restarted without losing anything the emulator holds: the
queue keeps what arrived meanwhile, and the new worker picks it up.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e import TEMPLATE, jpeg, renditions_of, wait_for

from resizer_tools.local.stack import LocalStack
from resizer_tools.ops.aws import Aws, StackResources

pytestmark = pytest.mark.integration

STACK = "resizer-it-worker"


@pytest.fixture(scope="module")
def emulator_only() -> Iterator[LocalStack]:
    with LocalStack(TEMPLATE, port=0, stack_name=STACK, poller=False) as stack:
        yield stack


class Worker:
    """``resizer local worker`` in a child process; its output collected by a thread."""

    def __init__(self, endpoint: str, home: Path) -> None:
        self._start(["local", "worker", "--endpoint", endpoint, "--stack-name", STACK], home)

    @classmethod
    def run(cls, arguments: list[str], home: Path) -> Worker:
        """Any ``resizer`` command, in a child process."""
        command = cls.__new__(cls)
        command._start(arguments, home)
        return command

    def _start(self, arguments: list[str], home: Path) -> None:
        environment = {
            key: value for key, value in os.environ.items() if not key.startswith("AWS_")
        }
        environment.update(HOME=str(home), COLUMNS="200")
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from resizer_tools.cli import main; main()", *arguments],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    def text(self) -> str:
        return "".join(self.output)

    def wait_until_polling(self) -> None:
        wait_for(lambda: "polling" in self.text(), timeout=30, what="the worker to start")

    def finish(self, sig: int) -> int:
        self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"the worker did not stop within 30 s of {sig!r}; it said:\n{self.text()}")
        self._reader.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return code


def test_worker_can_be_killed_and_restarted(emulator_only: LocalStack, tmp_path: Path) -> None:
    aws: Aws | None = emulator_only.aws
    resources: StackResources | None = emulator_only.resources
    assert aws is not None
    assert resources is not None
    first = Worker(emulator_only.endpoint_url, tmp_path)
    try:
        first.wait_until_polling()
        aws.s3.put_object(Bucket=resources.source_bucket, Key="w/one.jpg", Body=jpeg())
        wait_for(lambda: len(renditions_of(aws, resources, "w/one.jpg")) == 3, timeout=30)
    finally:
        killed = first.finish(signal.SIGKILL)
    assert killed == -signal.SIGKILL

    # A long poll of the killed worker may still be open in the emulator: a message
    # arriving now would be handed to it and stay invisible for the visibility
    # timeout, as on SQS. Let those polls (2 s) run out first.
    time.sleep(3)
    # Nobody polls: the upload waits on the queue, in the emulator's state.
    aws.s3.put_object(Bucket=resources.source_bucket, Key="w/two.jpg", Body=jpeg())
    wait_for(
        lambda: (
            int(
                aws.sqs.get_queue_attributes(
                    QueueUrl=resources.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
                )["Attributes"]["ApproximateNumberOfMessages"]
            )
            >= 1
        ),
        what="the message to wait on the queue",
    )
    second = Worker(emulator_only.endpoint_url, tmp_path)
    try:
        second.wait_until_polling()
        wait_for(lambda: len(renditions_of(aws, resources, "w/two.jpg")) == 3, timeout=30)
    finally:
        code = second.finish(signal.SIGTERM)
    assert code == 0, second.text()
    assert "stopped" in second.text()


def test_worker_without_a_stack_fails_clearly(emulator_only: LocalStack, tmp_path: Path) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            "from resizer_tools.cli import main; main()",
            "local",
            "worker",
            "--endpoint",
            emulator_only.endpoint_url,
            "--stack-name",
            "no-such-stack",
        ],
        env={**os.environ, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2
    assert "no-such-stack" in completed.stderr


def test_local_up_prints_ready_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    up = Worker.run(
        [
            "local",
            "up",
            "--port",
            "0",
            "--stack-name",
            "resizer-it-up",
            "--template",
            str(TEMPLATE),
        ],
        home=tmp_path,
    )
    try:
        wait_for(
            lambda: any(line.strip() == "ready" for line in up.output),
            timeout=60,
            what="`resizer local up` to print ready",
        )
    finally:
        code = up.finish(signal.SIGINT)
    output = up.text()
    assert code == 0, output
    assert "127.0.0.1:" in output
    assert "source bucket" in output
    assert "aws --endpoint-url http://127.0.0.1:" in output
    assert "boto3" in output
    assert output.rstrip().endswith("stopped")
