"""Start, stop and inspect local processes by PID file. Each process gets its own session, so
stopping it also stops its children (Celery's pool, Elasticsearch's controller)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from shared.stack.infra import Paths


@dataclass
class Component:
    name: str
    kind: str  # "infra" or "warta"
    port: int | None
    command: Callable[[], tuple[list[str], dict[str, str], str | None]]
    healthy: Callable[[], bool]
    start_timeout_s: float = 60.0
    stop_timeout_s: float = 30.0
    extra: dict[str, str] = field(default_factory=dict)


def _pid_file(paths: Paths, name: str) -> Path:
    return paths.run / f"{name}.pid"


def read_pid(paths: Paths, name: str) -> int | None:
    f = _pid_file(paths, name)
    try:
        pid = int(f.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is not alive.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return True


def start(paths: Paths, comp: Component) -> int:
    """Start ``comp`` unless it is already running. Returns its PID. Does not wait for health."""
    pid = read_pid(paths, comp.name)
    if pid is not None:
        return pid
    cmd, env_extra, user = comp.command()
    log = paths.logs / f"{comp.name}.log"
    env = dict(os.environ)
    env.update(env_extra)
    with open(log, "ab") as fh:
        fh.write(f"\n--- start {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(cmd)}\n".encode())
        fh.flush()
        proc = subprocess.Popen(
            cmd,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
            user=user,
            cwd=str(paths.root.parent) if user is None else "/",
        )
    _pid_file(paths, comp.name).write_text(str(proc.pid))
    return proc.pid


def stop(paths: Paths, comp_name: str, timeout_s: float = 30.0) -> bool:
    """SIGTERM the process group, then SIGKILL after ``timeout_s``. Returns True if it was running."""
    pid = read_pid(paths, comp_name)
    _pid_file(paths, comp_name).unlink(missing_ok=True)
    if pid is None:
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            break
        time.sleep(0.2)
    else:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    # Reap our own child if we started it in this process.
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    return True
