"""The scratch folder does not depend on who ran the platform before: the default is per user and private."""

from __future__ import annotations

import os
import stat

from vidassets.resources.storage import VideoStorage


def test_default_scratch_is_per_user_and_private(tmp_path, monkeypatch):
    monkeypatch.delenv("VIDASSETS_SCRATCH", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # gettempdir() re-reads TMPDIR
    shared = tmp_path / "vidassets"  # what an earlier version, or another user, left in the shared temp dir
    shared.mkdir(mode=0o555)
    scratch = VideoStorage(root=str(tmp_path / "root")).scratch()
    assert scratch == tmp_path / f"vidassets-{os.getuid()}"
    assert stat.S_IMODE(scratch.stat().st_mode) == 0o700
    file = VideoStorage(root=str(tmp_path / "root")).scratch_file("audio", ".flac")
    assert file.parent.parent == scratch and file.exists()
