"""Process and port helpers shared by every server we start: SeaweedFS, Redis, Celery workers, the Dagster
webserver and daemon (`vidassets up`), and the test servers (PostgreSQL, moto).

Every server runs in its own session (process group), so stopping it also stops what it spawned
(Dagster code servers, run workers, Celery pool children) and a Ctrl-C in the terminal reaches only our
supervisor, which then stops the servers in a chosen order. `ManagedProcess` is the one implementation of
"start in a group, log to a file, stop, tail the log".
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
from types import TracebackType
from typing import IO, Any

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


def stop_group(
    pid: int,
    timeout: float = 15.0,
    proc: subprocess.Popen[bytes] | None = None,
    first_signal: signal.Signals = signal.SIGTERM,
) -> None:
    """`first_signal` (SIGTERM) to the process group led by `pid`, wait up to `timeout`, then SIGKILL the group.

    `proc`, when we own the process, is reaped so it leaves no zombie.
    """

    def leader_alive() -> bool:
        if proc is not None:
            return proc.poll() is None
        return pid_alive(pid)

    for sig, wait_s in ((first_signal, timeout), (signal.SIGKILL, 5.0)):
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


def tail(path: Path, offset: int = 0, lines: int = 30) -> str:
    """Last `lines` lines of `path` written after byte `offset`."""
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            text = fh.read().decode(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


class ManagedProcess:
    """One server process: started in its own process group with stdout+stderr appended to `log_path`,
    stopped with its whole group (SIGKILL after `stop_timeout`), its log tail at hand for error messages.

    `popen_kwargs` pass through to `subprocess.Popen` (e.g. `user`/`group` to drop root).
    """

    def __init__(
        self,
        name: str,
        argv: list[str],
        log_path: Path,
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        stop_timeout: float = 15.0,
        stop_signal: signal.Signals = signal.SIGTERM,
        banner: bool = False,
        **popen_kwargs: Any,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = Path(log_path)
        self.cwd = cwd
        self.env = env
        self.stop_timeout = stop_timeout
        self.stop_signal = stop_signal
        self.banner = banner
        self.popen_kwargs = popen_kwargs
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_offset = 0
        self._log: IO[bytes] | None = None

    def start(self) -> ManagedProcess:
        if self.proc is not None:
            raise RuntimeError(f"{self.name} already started")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        if self.banner:
            self._log.write(f"\n===== {time.strftime('%Y-%m-%d %H:%M:%S')} {self.name} =====\n".encode())
            self._log.flush()
        self.log_offset = self._log.tell()
        self.proc = subprocess.Popen(  # noqa: S603 - argument list, no shell
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **self.popen_kwargs,
        )
        return self

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def exit_code(self) -> int | None:
        """None while running (or never started)."""
        return self.proc.poll() if self.proc else None

    def stop(self, timeout: float | None = None) -> None:
        """Stop the whole process group and close the log. Idempotent."""
        if self.proc is not None:
            timeout = self.stop_timeout if timeout is None else timeout
            stop_group(self.proc.pid, timeout, proc=self.proc, first_signal=self.stop_signal)
            self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 30) -> str:
        """What this process wrote since it was started (last `lines` lines)."""
        return tail(self.log_path, self.log_offset, lines)

    def __enter__(self) -> ManagedProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"ManagedProcess({self.name!r}, pid={self.pid})"
