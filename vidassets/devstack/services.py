"""Background services of `vidassets up`: started in their own process groups, logged to files, and
recorded in pid files so the next `vidassets up` can clean up after a crashed or killed one.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

from vidassets.procs import ManagedProcess, cmdline, pid_alive, same_command, stop_group, tail

__all__ = ["SUPERVISOR", "PidFiles", "Service", "tail"]

SUPERVISOR = "up"


class Service(ManagedProcess):
    """One server process of `vidassets up` (`dagster-webserver`, `dagster-daemon`, Redis, a Celery worker)."""

    def __init__(self, name: str, argv: list[str], log_path: Path) -> None:
        super().__init__(f"vidassets up: {name}", argv, log_path, banner=True)
        self.short_name = name

    def start(self, cwd: Path | None = None, env: dict[str, str] | None = None) -> Service:  # type: ignore[override]
        if cwd is not None:
            self.cwd = cwd
        if env is not None:
            self.env = env
        super().start()
        return self


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
