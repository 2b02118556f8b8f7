"""A real `smshub serve` process on loopback, for end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

SMSHUB = str(Path(sys.executable).parent / "smshub")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(db_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSHUB_")}
    env["SMSHUB_DATABASE_URL"] = db_url
    env.update(extra)
    return env


def cli(db_url: str, *args: str) -> str:
    """Run the smshub CLI and return its stdout; fails the test on a non-zero exit."""
    done = subprocess.run(
        [SMSHUB, *args], env=env_for(db_url), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def create_tenant(db_url: str, name: str, password: str = "secret-pass-1") -> dict[str, str]:
    out = cli(
        db_url,
        "tenant",
        "create",
        name,
        "--admin-extension",
        "100",
        "--admin-name",
        "Admin",
        "--admin-password",
        password,
        "--json",
    )
    data: dict[str, str] = json.loads(out)
    return data


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(url + "/openapi.json", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server not ready in {timeout}s: {log.read_text()[-3000:]}")


@contextmanager
def serve(db_url: str, tmp: Path, args: Sequence[str] = (), **env: str) -> Iterator[Server]:
    """Start `smshub serve` on a free port and stop it (SIGTERM, then SIGKILL) afterwards."""
    port = free_port()
    log = tmp / f"server-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [SMSHUB, "serve", "--port", str(port), *args],
            env=env_for(db_url, **env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", proc, log)
    try:
        wait_ready(server.url, proc, log)
        yield server
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
