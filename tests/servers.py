"""Real `dipevents serve` processes on loopback ports, for the tests that need the real server (uvicorn's own
settings, several processes, the CLI start-up)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

import httpx

from tests.helpers import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    base: str
    port: int
    process: subprocess.Popen
    log: IO[bytes]

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")


def start(database_url: str, *args: str, **env: str) -> Server:
    """Start `dipevents serve <args>` with DATABASE_URL and the given environment; returns at once."""
    port = free_port()
    environment = dict(os.environ, DATABASE_URL=database_url, **env)
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), *args],
        env=environment,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return Server(f"http://127.0.0.1:{port}", port, process, log)


def wait_until_serving(server: Server, timeout: float = 60) -> None:
    """Wait for `/health/live` to answer; fail with the server's output if it exits or never answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(server.base + "/health/live", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if server.process.poll() is not None:
            raise AssertionError(f"dipevents serve exited with {server.process.returncode}:\n{server.output()}")
        time.sleep(0.1)
    raise AssertionError(f"dipevents serve did not answer within {timeout} s:\n{server.output()}")


def stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
    server.log.close()


@contextmanager
def served(database_url: str, *args: str, **env: str) -> Iterator[Server]:
    """A real `dipevents serve --no-load-data <args>` over ``database_url``, stopped afterwards."""
    server = start(database_url, "--no-load-data", *args, **env)
    try:
        wait_until_serving(server)
        yield server
    finally:
        stop(server)
