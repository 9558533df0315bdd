"""The embedded AWS emulator: moto's server, in this process, on 127.0.0.1 only."""

from __future__ import annotations

import logging
import socket
from abc import ABC, abstractmethod
from typing import Self

from resizer.errors import ConfigurationError

__all__ = ["Emulator", "Service"]


class Service(ABC):
    """Something started and stopped as a whole: ``with`` starts it, leaving stops it."""

    @abstractmethod
    def start(self) -> object: ...

    @abstractmethod
    def stop(self) -> None: ...

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class Emulator(Service):
    """moto's server on ``127.0.0.1:port`` (0 picks a free port); a context manager.

    moto keeps its state in process-wide backends: every emulator started in one
    process shares it, and it lives exactly as long as the process.
    """

    def __init__(self, port: int = 0) -> None:
        self._port = port
        self._server: object | None = None
        self.endpoint_url = ""

    def start(self) -> str:
        # Imported here: the CLI's other commands (and the Lambda package) never need moto.
        from moto.server import ThreadedMotoServer  # noqa: PLC0415

        from resizer_tools.local.moto_cloudformation import install_stack_gaps  # noqa: PLC0415

        install_stack_gaps()  # change sets executed by the emulator itself (the AWS CLI path)

        # One line per request from werkzeug, and moto's "no CloudFormation support"
        # notes, would bury the useful output; the deploy reports what it skipped.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        logging.getLogger("moto").setLevel(logging.ERROR)
        if self._port:
            _require_free(self._port)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=self._port, verbose=False)
        server.start()
        # Before any request: what the emulator answers must be what AWS answers.
        from resizer_tools.local.moto_gaps import install_string_environment  # noqa: PLC0415

        install_string_environment()
        host, port = server.get_host_and_port()
        self._server = server
        self.endpoint_url = f"http://{host}:{port}"
        return self.endpoint_url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()  # type: ignore[attr-defined]


def _require_free(port: int) -> None:
    """Refuse a port another server listens on (not one left in TIME_WAIT).

    The probe binds as the server will (werkzeug sets ``SO_REUSEADDR``): without it,
    the connections of a stack stopped a moment ago keep the port "in use" for up to
    a minute although nothing listens.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise ConfigurationError(
                f"port {port} on 127.0.0.1 is in use (another `resizer local up`?); "
                "stop it or pick another with --port"
            ) from None
