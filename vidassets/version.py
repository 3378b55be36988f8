"""Which version of the code produced an output: package version plus the git commit when known.

Recorded in every manifest and in asset metadata. Docker images set `VIDASSETS_GIT_SHA` at build time (read
through `vidassets.settings` when the package is imported: the code version is part of what a process is).
"""

import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


def _git_sha() -> str | None:
    from vidassets.settings import load_settings

    if sha := load_settings().git_sha:
        return sha[:12]
    repo = Path(__file__).resolve().parent.parent
    if not (repo / ".git").exists():
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short=12", "HEAD"],
            capture_output=True, text=True, timeout=5, check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


try:
    __version__ = version("vidassets")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

_sha = _git_sha()
CODE_VERSION = f"{__version__}+g{_sha}" if _sha else __version__
