"""The scratch folder does not depend on who ran the platform before: the default is per user and private."""

from __future__ import annotations

import os
import stat
import threading

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


def test_steps_fetching_a_missing_video_at_once_each_get_it(tmp_path):
    """Two steps of a run (the picture and speech branches, in threads) may both find the video missing from scratch
    (a re-materialization on a fresh worker): each must get the whole, checked file, not a vanished or partial one."""
    import shutil
    from concurrent.futures import ThreadPoolExecutor

    from vidassets import samples
    from vidassets.storage.local import sha256_file
    from vidassets.video_ids import video_id_for

    source = tmp_path / "talk.mp4"
    with source.open("wb") as out:  # a few MB, so the copies overlap
        for _ in range(40):
            out.write(samples.picture_path("bikes").read_bytes())
    storage = VideoStorage(root=str(tmp_path / "root"), scratch_dir=str(tmp_path / "scratch"))
    manifest = {"video_id": video_id_for("local", str(source)), "source_uri": source.as_uri(), "suffix": ".mp4",
                "sha256": sha256_file(source)}

    def fetch(start: threading.Barrier) -> object:
        start.wait()
        try:
            return sha256_file(storage.cached_video(manifest))  # type: ignore[arg-type]
        except Exception as err:  # noqa: BLE001 - the assertion shows it
            return err

    for _ in range(5):
        shutil.rmtree(tmp_path / "scratch", ignore_errors=True)
        start = threading.Barrier(4)
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(fetch, [start] * 4))
        assert results == [manifest["sha256"]] * 4
