"""Small process and port helpers shared by the S3 server wrapper and the `vidassets up` runner.

Every server we start runs in its own session (process group), so stopping it also stops what it spawned
(Dagster code servers, run workers) and a Ctrl-C in the terminal reaches only our supervisor, which then
stops the servers in a chosen order.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

LOOPBACK = "127.0.0.1"


def find_executable(name: str) -> str:
    """The console script `name` from this interpreter's environment, else from PATH.

    The venv copy comes first: it is the version the project pins, and `uv run` may not put it on PATH.
    """
    candidate = Path(sys.executable).parent / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"`{name}` not found next to {sys.executable} nor on PATH")
    return found


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    """True if a listener could bind `host:port` now.

    SO_REUSEADDR mirrors what Go and uvicorn servers do, so sockets in TIME_WAIT do not count as busy.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_ports(count: int, host: str = LOOPBACK) -> list[int]:
    """`count` distinct ports free right now (each socket is held until all are picked, so no repeats)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(sock)
            sock.bind((host, 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


def free_port_pairs(count: int, offset: int, host: str = LOOPBACK, attempts: int = 200) -> list[tuple[int, int]]:
    """`count` pairs `(p, p + offset)` of distinct ports that are all free right now.

    For servers that assume a companion port at a fixed offset (SeaweedFS: gRPC = HTTP + 10000) even
    when told otherwise.
    """
    held: list[socket.socket] = []
    pairs: list[tuple[int, int]] = []
    try:
        for _ in range(attempts):
            if len(pairs) == count:
                break
            first = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.append(first)
            first.bind((host, 0))
            port = first.getsockname()[1]
            if port + offset > 65535:
                continue
            second = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.append(second)
            try:
                second.bind((host, port + offset))
            except OSError:
                continue
            pairs.append((port, port + offset))
    finally:
        for sock in held:
            sock.close()
    if len(pairs) < count:
        raise OSError(f"could not find {count} free port pairs {offset} apart on {host}")
    return pairs


def pid_alive(pid: int) -> bool:
    """True if a process (not a zombie we could reap) with this pid exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        with contextlib.suppress(OSError, IndexError):
            return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def cmdline(pid: int) -> list[str] | None:
    """The argument list of a running process, or None if it is gone or unreadable."""
    proc_file = Path(f"/proc/{pid}/cmdline")
    if Path("/proc/self/cmdline").exists():
        try:
            raw = proc_file.read_bytes()
        except OSError:
            return None
        return [part.decode(errors="replace") for part in raw.split(b"\0") if part] or None
    try:  # macOS and other systems without /proc: whitespace-joined, good enough to compare.
        out = subprocess.run(  # noqa: S603 - fixed argument list, no shell
            ["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        return None
    return out.split() or None


def same_command(recorded: list[str], pid: int) -> bool:
    """True if `pid` still runs `recorded` (directly, or as `interpreter script args` for console scripts)."""
    current = cmdline(pid)
    if not current or not recorded:
        return False
    return current == recorded or current[1:] == recorded or " ".join(current).endswith(" ".join(recorded))


def stop_group(pid: int, timeout: float = 15.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """SIGTERM the process group led by `pid`, wait up to `timeout`, then SIGKILL the group.

    `proc`, when we own the process, is reaped so it leaves no zombie.
    """

    def leader_alive() -> bool:
        if proc is not None:
            return proc.poll() is None
        return pid_alive(pid)

    for sig, wait_s in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        if not leader_alive():
            break
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + wait_s
        while leader_alive() and time.monotonic() < deadline:
            time.sleep(0.1)
    # Children that outlive their leader (e.g. a run worker) are still in the group.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    if proc is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5.0)
