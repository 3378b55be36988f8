"""`vidassets speakers list|name|merge|split` on a corpus folder, as a user runs it."""

import json
import subprocess
import sys

from vidassets.analytics import voice_registry as registry
from vidassets.storage import Store
from vidassets.storage.layout import transcript_key
from vidassets_tests.analytics.voice_corpus import person_vectors, video_id, write_video

PEOPLE = person_vectors(["ada", "bob", "cyd"], seed=5)


def _speakers(root, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vidassets.cli", "speakers", "--root", str(root), *args],
                          capture_output=True, text=True, timeout=300)


def test_list_name_merge_split(tmp_path):
    root = tmp_path / "corpus"
    store = Store.for_root(str(root))
    for i, cast in enumerate([("ada", "bob"), ("bob", "cyd"), ("cyd", "ada")]):
        write_video(store, video_id(i), cast, PEOPLE, seed=i)
    registry.update_registry(store, lambda _v: None)
    listed = _speakers(root, "list", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    voices = json.loads(listed.stdout)
    assert len(voices) == 3 and all(len(v["appearances"]) == 2 for v in voices)
    ada = next(v["voice_id"] for v in voices if {"video_id": video_id(0), "speaker": "SPEAKER_00"}
               in [{k: a[k] for k in ("video_id", "speaker")} for a in v["appearances"]])

    named = _speakers(root, "name", ada, "Ada Lovelace")
    assert named.returncode == 0, named.stderr
    assert "2 videos rewritten" in named.stdout
    assert "[Ada Lovelace]: " in store.get_bytes(transcript_key(video_id(2), "srt")).decode()
    assert "Ada Lovelace" in _speakers(root, "list").stdout

    exported = subprocess.run([sys.executable, "-m", "vidassets.cli", "export", video_id(0), "--format", "txt",
                               "--root", str(root)], capture_output=True, text=True, timeout=300)
    assert exported.returncode == 0 and "[Ada Lovelace]: " in exported.stdout, exported.stderr

    bad = _speakers(root, "name", ada, "Ada\x1b[31m")
    assert bad.returncode == 1 and "control" in bad.stderr
    assert _speakers(root, "name", "v-000000000000", "Nobody").returncode == 1

    others = [v["voice_id"] for v in voices if v["voice_id"] != ada]
    refused = _speakers(root, "merge", ada, others[0])  # both voices speak in one video: never merged
    assert refused.returncode == 1 and "never merged" in refused.stderr

    split = _speakers(root, "split", ada, video_id(2), "SPEAKER_01")
    assert split.returncode == 0, split.stderr
    after = {(a["video_id"], a["speaker"]): v["voice_id"] for v in json.loads(_speakers(
        root, "list", "--format", "json").stdout) for a in v["appearances"]}
    assert after[(video_id(0), "SPEAKER_00")] == ada != after[(video_id(2), "SPEAKER_01")]
    assert "[Ada Lovelace]" not in store.get_bytes(transcript_key(video_id(2), "txt")).decode()
