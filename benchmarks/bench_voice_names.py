"""Naming a voice re-derives every affected video's outputs without a model run: time it on a synthetic corpus.

N two-speaker videos (real manifests, transcript files and warehouse rows, as the pipeline writes them; voices
are synthetic unit embeddings) where one person speaks in every video, so naming that voice rewrites all N
videos' `transcript[.redacted].{json,srt,vtt,txt}` and `segments`/`speakers`/`voice_registry` files. Reported:
building the registry over the corpus, applying the labels once, naming (the target: <= 30 s at 100 videos),
and renaming again.

    uv run --frozen python benchmarks/bench_voice_names.py [--videos 100] [--s3 | --root DIR]

`--s3` runs it against a SeaweedFS S3 server started for the run (the store of a deployment), else a local folder.
"""

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vidassets.analytics import voice_registry as registry  # noqa: E402
from vidassets.storage import Store  # noqa: E402
from vidassets.storage.layout import OPERATOR_SCOPE, transcript_key  # noqa: E402
from vidassets_tests.analytics.voice_corpus import person_vectors, video_id, write_video  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=100)
    parser.add_argument("--root", default=None, help="storage root (default: a temporary folder)")
    parser.add_argument("--s3", action="store_true", help="on a SeaweedFS S3 server started for the run")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        if args.s3:
            from vidassets.devstack.seaweed import SeaweedS3
            from vidassets.settings import load_settings

            tmp = stack.enter_context(tempfile.TemporaryDirectory())
            server = stack.enter_context(SeaweedS3(Path(tmp) / "s3", s3_port=None, buckets=["bench"]))
            os.environ.update(server.env())
            store = Store.for_root("s3://bench/store", load_settings().storage.s3)
        else:
            store = Store.for_root(args.root or tempfile.mkdtemp(prefix="bench-voice-names-"))
        run(store, args.videos)


def run(store: Store, videos: int) -> None:
    root = store.root
    people = [f"p{i}" for i in range(videos + 1)]
    vectors = person_vectors(["host", *people])
    started = time.monotonic()
    for i in range(videos):
        write_video(store, video_id(i), ("host", people[i]), vectors, seed=i)
    print(f"corpus: {videos} videos written in {time.monotonic() - started:.1f}s under {root}")

    def timed(label: str, fn):  # noqa: ANN001, ANN202
        started = time.monotonic()
        result = fn()
        print(f"{label}: {time.monotonic() - started:.2f}s")
        return result

    update = timed("speaker_registry (all videos new)", lambda: registry.update_registry(store, lambda _v: None))
    print(f"  {update.videos} videos, {update.speakers} speakers -> {update.voices} voices")
    timed("speaker_labels (first labels)", lambda: registry.apply_labels(store))
    host = next(r["voice_id"] for r in registry.load_registry(registry.Warehouse(store), video_id(0))
                if r["speaker"] == "SPEAKER_00")
    written = timed(f"name {host} (in every video)", lambda: registry.name_voice(store, host, "Grace Hopper",
                                                                                  OPERATOR_SCOPE))
    assert len(written) == videos, len(written)
    assert "[Grace Hopper]: " in store.get_bytes(transcript_key(video_id(videos - 1), "srt")).decode()
    timed("rename", lambda: registry.name_voice(store, host, "Rear Admiral Hopper", OPERATOR_SCOPE))
    timed("speaker_registry again (nothing new)", lambda: registry.update_registry(store, lambda _v: None))
    print(f"videos rewritten per naming: {len(written)}")


if __name__ == "__main__":
    main()
