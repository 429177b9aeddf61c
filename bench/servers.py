"""Real servers on 127.0.0.1 for the tests and the HTTP benchmarks (not a benchmark itself):
started in a subprocess, waited for, and stopped on exit, in one place.

`serve(index_dir, **settings)` runs `uvicorn api.main:create_app --factory` at a free port (or
the one given), as `make serve` does, or `newsdesk serve` with `cli=True`, with its settings
given as NEWSDESK_* environment variables, as a deployment gives them. It returns once /readyz
says ready (embedder and generator loaded), so no benchmark times a model load.
`Server.rss_mb()` is the resident memory of the server process and any children it started.
`chroma(folder)` runs a Chroma server (`chroma run`) and returns once its heartbeat answers.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
        parents.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        kids = parents.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    log: Path
    settings: dict[str, str]  # the NEWSDESK_* variables it runs with
    ready: dict  # its /readyz answer at start: index stats, generator backend and model

    def alive(self) -> bool:
        return self.proc.poll() is None

    def rss_mb(self) -> float:
        pids = [self.proc.pid, *_descendants(self.proc.pid)]
        return sum(_rss_kib(pid) for pid in pids) / 1024

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _wait_ready(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the server exited with {proc.returncode} while starting:\n{tail}")
        try:
            response = httpx.get(f"{url}/readyz", timeout=2.0)
            if response.status_code == 200:
                return response.json()
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the server at {url} was not ready within {timeout:.0f}s (log: {log})")


@contextmanager
def serve(
    index_dir: Path,
    ready_timeout: float = 900.0,
    cli: bool = False,
    port: int | None = None,
    cli_args: tuple[str, ...] = (),
    **settings: object,
) -> Iterator[Server]:
    """`settings` are Settings field names (rag/config.py), e.g. generator_backend="extractive".
    With `cli`, the server is started as a deployment starts it: `newsdesk serve`, with
    `cli_args` after it."""
    env_settings = {f"NEWSDESK_{k.upper()}": str(v) for k, v in settings.items()}
    env_settings["NEWSDESK_INDEX_DIR"] = str(index_dir)
    port = port or free_port()
    url = f"http://{HOST}:{port}"
    index_dir.mkdir(parents=True, exist_ok=True)
    log_path = index_dir / "server.log"
    if cli:
        command = [str(Path(sys.executable).parent / "newsdesk"), "serve"]
        command += ["--host", HOST, "--port", str(port), *cli_args]
    else:
        command = [sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory"]
        command += ["--host", HOST, "--port", str(port), "--no-access-log"]
    with log_path.open("w") as log, _running(command, log, os.environ | env_settings) as proc:
        ready = _wait_ready(url, proc, log_path, ready_timeout)
        yield Server(url, proc, log_path, env_settings, ready)


@contextmanager
def chroma(folder: Path, timeout: float = 60.0) -> Iterator[tuple[str, int]]:
    """A real `chroma run` storing under `folder`: (host, port)."""
    command = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which(
        "chroma"
    )
    if command is None:
        raise RuntimeError("the chroma command (from the chromadb package) is not installed")
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / "chroma.log"
    argv = [command, "run", "--path", str(folder), "--host", HOST, "--port", str(port)]
    with log_path.open("w") as log, _running(argv, log, dict(os.environ)) as proc:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                tail = log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"chroma run exited with {proc.returncode}:\n{tail}")
            try:
                heartbeat = f"http://{HOST}:{port}/api/v2/heartbeat"
                if httpx.get(heartbeat, timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"chroma run did not answer within {timeout:.0f}s")
            time.sleep(0.2)
        yield HOST, port


@contextmanager
def _running(command: list[str], log: IO[str], env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """The command running, its output in `log`; ended (terminate, then kill) on exit."""
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
