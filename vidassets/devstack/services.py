"""Background services of `vidassets up`: started in their own process groups, logged to files, and
recorded in pid files so the next `vidassets up` can clean up after a crashed or killed one.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from vidassets.devstack.procs import cmdline, pid_alive, same_command, stop_group

SUPERVISOR = "up"


@dataclass
class Service:
    """One server process (`weed`, `dagster-webserver`, `dagster-daemon`) and its log file."""

    name: str
    argv: list[str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    log_offset: int = 0
    _log: IO[bytes] | None = field(default=None, repr=False)

    def start(self, cwd: Path, env: dict[str, str]) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self._log.write(f"\n===== vidassets up: {time.strftime('%Y-%m-%d %H:%M:%S')} {self.name} =====\n".encode())
        self._log.flush()
        self.log_offset = self._log.tell()
        self.proc = subprocess.Popen(  # noqa: S603 - argument list, no shell
            self.argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def exit_code(self) -> int | None:
        """None while running (or never started)."""
        return self.proc.poll() if self.proc else None

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc is not None:
            stop_group(self.proc.pid, timeout, proc=self.proc)
            self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 30) -> str:
        return tail(self.log_path, self.log_offset, lines)


def tail(path: Path, offset: int = 0, lines: int = 30) -> str:
    """Last `lines` lines of `path` written after `offset`."""
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            text = fh.read().decode(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


class PidFiles:
    """`<dir>/<name>.pid` = JSON {pid, cmdline}: enough to tell a live leftover of ours from a reused pid."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)

    def write(self, name: str, pid: int, argv: list[str] | None = None) -> None:
        """Record `pid`; pass the `argv` it was started with (reading /proc right after exec can race)."""
        record = {"pid": pid, "cmdline": list(argv) if argv else (cmdline(pid) or []), "written_at": time.time()}
        tmp = self.dir / f".{name}.pid.tmp"
        tmp.write_text(json.dumps(record))
        os.replace(tmp, self.dir / f"{name}.pid")

    def remove(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.dir / f"{name}.pid").unlink()

    def live(self, name: str) -> int | None:
        """The recorded pid if it still runs the recorded command; removes the file otherwise."""
        path = self.dir / f"{name}.pid"
        try:
            record = json.loads(path.read_text())
            pid, recorded = int(record["pid"]), list(record["cmdline"])
        except (OSError, ValueError, KeyError, TypeError):
            self.remove(name)
            return None
        if pid != os.getpid() and pid_alive(pid) and same_command(recorded, pid):
            return pid
        self.remove(name)
        return None

    def stop_stale(self, names: list[str], say: Callable[[str], None] = print) -> None:
        """Stop leftovers from an earlier `vidassets up` that died without cleaning up (in `names` order)."""
        for name in names:
            pid = self.live(name)
            if pid is not None:
                say(f"stopping leftover {name} (pid {pid}) from an earlier `vidassets up`")
                stop_group(pid)
                self.remove(name)
