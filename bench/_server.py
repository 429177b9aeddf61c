"""A real Newsdesk server for the HTTP benchmarks (not a benchmark itself).

`serve(index_dir, **settings)` runs `uvicorn api.main:create_app --factory` on 127.0.0.1 at a
free port, as `make serve` does, with its settings given as NEWSDESK_* environment variables,
as a deployment gives them. It returns once /readyz says ready (embedder and generator
loaded), so no benchmark times a model load, and stops the server on exit.
`Server.rss_mb()` is the resident memory of the server process and any children it started.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

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
    index_dir: Path, ready_timeout: float = 900.0, cli: bool = False, **settings: object
) -> Iterator[Server]:
    """`settings` are Settings field names (rag/config.py), e.g. generator_backend="extractive".
    With `cli`, the server is started as a deployment starts it: `newsdesk serve`."""
    env_settings = {f"NEWSDESK_{k.upper()}": str(v) for k, v in settings.items()}
    env_settings["NEWSDESK_INDEX_DIR"] = str(index_dir)
    port = free_port()
    url = f"http://{HOST}:{port}"
    log_path = index_dir / "server.log"
    if cli:
        command = [str(Path(sys.executable).parent / "newsdesk"), "serve"]
        command += ["--host", HOST, "--port", str(port)]
    else:
        command = [sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory"]
        command += ["--host", HOST, "--port", str(port), "--no-access-log"]
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            command, cwd=ROOT, env=os.environ | env_settings, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            ready = _wait_ready(url, proc, log_path, ready_timeout)
            yield Server(url, proc, log_path, env_settings, ready)
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
