"""A local `opa run --server` for the duration of one run, when no --opa-url is given.

The server listens on 127.0.0.1 on a free port. It stays in checker's process group, so a
Ctrl-C or a CI job's SIGTERM to the group reaches it too; checker stops it in close() (also after
errors and on Ctrl-C), and an atexit hook stops it if the interpreter exits some other way.
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from typing import IO

import requests

from checker.errors import EngineError

READY_TIMEOUT = 30.0
_START_ATTEMPTS = 3  # a free port can be taken between choosing it and OPA binding it


def find_opa() -> str | None:
    return shutil.which("opa")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_command(binary: str, port: int, skip_version_check: bool = True) -> list[str]:
    command = [binary, "run", "--server", "--addr", f"127.0.0.1:{port}", "--log-level", "error"]
    if skip_version_check:
        # No phoning home from a CI job. Deprecated in newer OPA (still accepted, with a warning).
        command.append("--skip-version-check")
    return command


class LocalOpa:
    """One `opa run --server` child process. Use start(); always stop()."""

    def __init__(self, process: subprocess.Popen[bytes], url: str, log: IO[bytes], binary: str = "opa") -> None:
        self.process = process
        self.binary = binary
        self.url = url
        self._log = log
        atexit.register(self.stop)

    @classmethod
    def start(cls, binary: str, ready_timeout: float = READY_TIMEOUT) -> LocalOpa:
        skip_version_check = True
        failure = ""
        for _attempt in range(_START_ATTEMPTS):
            port = free_port()
            log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server; closed in stop()
            try:
                process = subprocess.Popen(server_command(binary, port, skip_version_check),
                                           stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
            except OSError as exc:
                log.close()
                raise EngineError(f"could not start the local OPA server {binary!r}: {exc}") from None
            server = cls(process, f"http://127.0.0.1:{port}", log, binary)
            try:
                server.wait_ready(ready_timeout)
                return server
            except BaseException as exc:
                if not isinstance(exc, EngineError):
                    server.stop()  # Ctrl-C while waiting: no orphan server
                    raise
                failure = str(exc)
                output = server.output()
                server.stop()
                if "unknown flag" in output and "skip-version-check" in output:
                    skip_version_check = False  # a future OPA without the flag: start without it
                elif "address already in use" not in output:
                    break
        raise EngineError(failure)

    def wait_ready(self, timeout: float) -> None:
        """Poll GET /health until it answers 200, the process exits, or the timeout passes."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise EngineError(f"the local OPA server (`{self.command}`) exited with status "
                                  f"{self.process.returncode} before it was ready: {self.output()[-800:].strip()}")
            try:
                if requests.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() >= deadline:
                raise EngineError(f"the local OPA server (`{self.command}`) was not ready within "
                                  f"{timeout:g}s; its output: {self.output()[-800:].strip() or '(none)'}")
            time.sleep(0.05)

    @property
    def command(self) -> str:
        args = self.process.args
        return " ".join(str(a) for a in args) if isinstance(args, list | tuple) else str(args)

    def output(self) -> str:
        with contextlib.suppress(OSError, ValueError):
            self._log.seek(0)
            return self._log.read().decode("utf-8", "replace")
        return ""

    def stop(self) -> None:
        """Terminate the server and wait for it (kill after 5 s). Idempotent; never raises."""
        atexit.unregister(self.stop)
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(OSError):
                    self.process.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(5)
        with contextlib.suppress(OSError, ValueError):
            self._log.close()


def binary_version(binary: str) -> str:
    """`opa version` -> "1.2.3"; "unknown" when it cannot be read."""
    try:
        out = subprocess.run([binary, "version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    for line in out.splitlines():
        if line.lower().startswith("version:"):
            return line.split(":", 1)[1].strip() or "unknown"
    return "unknown"
