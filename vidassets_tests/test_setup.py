"""The README's set-up on a machine where the user is not root and has no sudo: `make test` either works or says in
one line which Debian packages to install and how (never a `sudo: command not found` or an apt-get lock error)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _as_ordinary_user() -> dict[str, object]:
    """Run the check as `nobody` when the suite runs as root; as ourselves otherwise."""
    if os.geteuid() != 0:
        return {}
    entry = pwd.getpwnam("nobody")
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def test_missing_debian_packages_are_one_line_for_a_user_without_sudo():
    if os.geteuid() != 0 and shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"]).returncode == 0:
        pytest.skip("this user has password-less sudo: make would install the packages")
    folder = Path(tempfile.mkdtemp(prefix="vidassets-setup-"))
    try:
        folder.chmod(0o755)  # the Makefile copy must be readable by the ordinary user; the clone may be private
        shutil.copy(ROOT / "Makefile", folder / "Makefile")
        (folder / "Makefile").chmod(0o644)
        result = subprocess.run(  # noqa: S603 - argument list, no shell
            ["make", "-s", "system-deps", "SYSTEM_PACKAGES=espeak-ng not-a-debian-package-vidassets"],
            cwd=folder, capture_output=True, text=True, timeout=60,
            env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(folder), "LANG": "C.UTF-8"},
            **_as_ordinary_user(),  # type: ignore[arg-type]
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert result.returncode != 0
    [line] = [line for line in result.stderr.splitlines() if not line.startswith("make:")]
    named, advice = line.split(":", 1)
    assert named.startswith("make test needs the Debian packages") and "not-a-debian-package-vidassets" in named
    assert "apt-get install -y" in advice and "not-a-debian-package-vidassets" in advice
    if shutil.which("espeak-ng"):
        assert "espeak-ng" not in named, "only the missing packages are named"
