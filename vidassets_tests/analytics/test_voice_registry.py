"""The speaker registry over real files: ids across videos, names bound once in every output, tenant scopes,
hand edits, and the rows video_tables rewrites keeping the labels."""

from __future__ import annotations

import json

import pytest

from vidassets.analytics import voice_registry as registry
from vidassets.analytics.query import run_query
from vidassets.analytics.rows import video_tables
from vidassets.storage.layout import OPERATOR_SCOPE, manifest_key, transcript_key
from vidassets_tests.analytics.voice_corpus import person_vectors, video_id, write_video
from vidassets_tests.stores import store as store_for

PEOPLE = person_vectors(["ada", "bob", "cyd", "dee"])


def no_owner(_video_id: str) -> None:
    return None


@pytest.fixture
def corpus(local_root):
    store = store_for(local_root)
    casts = [("ada", "bob"), ("bob", "cyd"), ("cyd", "ada"), ("dee", "bob")]
    for i, cast in enumerate(casts):
        write_video(store, video_id(i), cast, PEOPLE, seed=i)
    return store


def _voice_of(store, vid: str, speaker: str) -> str:
    rows = registry.load_registry(registry.Warehouse(store), vid)
    return next(r["voice_id"] for r in rows if r["speaker"] == speaker)


def test_the_same_person_gets_one_voice_id_across_videos(corpus):
    update = registry.update_registry(corpus, no_owner)
    assert update.voices == 4 and len(update.changed) == 4
    assert update.thresholds == {"resemblyzer": registry.threshold_for("resemblyzer")}
    ada = _voice_of(corpus, video_id(0), "SPEAKER_00")
    assert _voice_of(corpus, video_id(2), "SPEAKER_01") == ada
    bob = _voice_of(corpus, video_id(0), "SPEAKER_01")
    assert _voice_of(corpus, video_id(1), "SPEAKER_00") == bob == _voice_of(corpus, video_id(3), "SPEAKER_01")
    again = registry.update_registry(corpus, no_owner)
    assert again.changed == []  # incremental: nothing new, nothing rewritten
    rebuilt = registry.update_registry(corpus, no_owner, rebuild=True)
    assert rebuilt.changed == [] and _voice_of(corpus, video_id(2), "SPEAKER_01") == ada


def test_a_name_shows_in_every_output_of_every_video_with_the_voice(corpus):
    registry.update_registry(corpus, no_owner)
    registry.apply_labels(corpus)
    ada = _voice_of(corpus, video_id(0), "SPEAKER_00")
    written = registry.name_voice(corpus, ada, "Ada Lovelace", OPERATOR_SCOPE)
    assert written == [video_id(0), video_id(2)]
    for vid, speaker in ((video_id(0), "SPEAKER_00"), (video_id(2), "SPEAKER_01")):
        srt = corpus.get_bytes(transcript_key(vid, "srt")).decode()
        assert "[Ada Lovelace]: " in srt and f"[{speaker}]" not in srt
        assert "[Ada Lovelace]: " in corpus.get_bytes(transcript_key(vid, "txt", redacted=True)).decode()
        segments = json.loads(corpus.get_bytes(transcript_key(vid, "json")))["segments"]
        named = [s for s in segments if s.get("speaker_name")]
        assert named and all(s["speaker"] == speaker and s["voice_id"] == ada for s in named)
    assert "Ada" not in corpus.get_bytes(transcript_key(video_id(1), "srt")).decode()
    rows = run_query(corpus, "SELECT video_id, speaker, voice_id, speaker_name FROM speakers "
                             "WHERE speaker_name IS NOT NULL ORDER BY video_id")
    assert rows.values.tolist() == [[video_id(0), "SPEAKER_00", ada, "Ada Lovelace"],
                                    [video_id(2), "SPEAKER_01", ada, "Ada Lovelace"]]
    segs = run_query(corpus, "SELECT count(*) AS n FROM segments WHERE voice_id IS NULL")
    assert segs["n"][0] == 0
    names = run_query(corpus, "SELECT DISTINCT name FROM voice_registry WHERE voice_id = " + repr(ada))
    assert names["name"].tolist() == ["Ada Lovelace"]
    # rows rewritten by video_tables keep the labels (the asset labels them from the registry)
    parts = {a: corpus.get_json(manifest_key(a, video_id(0))) for a in
             ("source_video", "moderation", "transcript", "diarized_transcript", "text_moderation", "summary")}
    tables = video_tables(**parts, processed_at="2025-05-01T10:05:00+00:00")
    labelled = registry.label_table(tables["speakers"], registry.video_labels(corpus, video_id(0)))
    assert labelled.column("speaker_name").to_pylist() == ["Ada Lovelace", None]


def test_a_reprocessed_video_is_labelled_again(corpus):
    """diarized_transcript re-run writes unlabelled transcript files with the same speakers: the registry keeps its
    rows, and the labels step sees the new manifest version and labels the files again."""
    registry.update_registry(corpus, no_owner)
    assert len(registry.apply_labels(corpus)) == 4
    ada = _voice_of(corpus, video_id(0), "SPEAKER_00")
    registry.name_voice(corpus, ada, "Ada", OPERATOR_SCOPE)
    assert registry.apply_labels(corpus) == []
    write_video(corpus, video_id(0), ("ada", "bob"), PEOPLE, seed=0)  # as a reprocess writes them
    assert "[Ada]" not in corpus.get_bytes(transcript_key(video_id(0), "txt")).decode()
    assert registry.update_registry(corpus, no_owner).changed == []
    assert registry.apply_labels(corpus) == [video_id(0)]
    assert "[Ada]: " in corpus.get_bytes(transcript_key(video_id(0), "txt")).decode()


def test_names_are_per_owner_scope(local_root):
    store = store_for(local_root)
    write_video(store, video_id(0), ("ada", "bob"), PEOPLE, seed=0)
    write_video(store, video_id(1), ("ada", "cyd"), PEOPLE, seed=1)
    owners = {video_id(0): "alice", video_id(1): "bert"}
    registry.update_registry(store, owners.get)
    ada = _voice_of(store, video_id(0), "SPEAKER_00")
    assert _voice_of(store, video_id(1), "SPEAKER_00") == ada
    assert registry.name_voice(store, ada, "Ada (Alice's name)", "alice") == [video_id(0)]
    assert "Ada (Alice" in store.get_bytes(transcript_key(video_id(0), "txt")).decode()
    assert "Ada" not in store.get_bytes(transcript_key(video_id(1), "txt")).decode()
    assert registry.video_labels(store, video_id(1)) == {"SPEAKER_00": (ada, None),
                                                         "SPEAKER_01": (_voice_of(store, video_id(1), "SPEAKER_01"),
                                                                        None)}
    (shared,) = [v for v in registry.voices_in(store, [video_id(1)], "bert") if v["voice_id"] == ada]
    assert shared["name"] is None  # Alice's name is not Bert's
    assert [(a["video_id"], a["speaker"]) for a in shared["appearances"]] == [(video_id(1), "SPEAKER_00")]
    assert shared["appearances"][0]["similarity"] >= registry.threshold_for("resemblyzer")


def test_merge_and_split(corpus):
    registry.update_registry(corpus, no_owner)
    ada = _voice_of(corpus, video_id(0), "SPEAKER_00")
    dee = _voice_of(corpus, video_id(3), "SPEAKER_00")
    bob = _voice_of(corpus, video_id(0), "SPEAKER_01")
    with pytest.raises(registry.RegistryError, match="two speakers of"):
        registry.merge(corpus, ada, bob, no_owner)
    registry.set_name(corpus, OPERATOR_SCOPE, dee, "Dee")
    registry.merge(corpus, ada, dee, no_owner)
    assert _voice_of(corpus, video_id(3), "SPEAKER_00") == ada
    assert registry.names(corpus, OPERATOR_SCOPE)[ada] == "Dee"  # the merged voice takes the only name
    registry.split(corpus, ada, video_id(2), "SPEAKER_01", no_owner)
    alone = _voice_of(corpus, video_id(2), "SPEAKER_01")
    assert alone not in (ada, dee)
    assert _voice_of(corpus, video_id(0), "SPEAKER_00") == ada == _voice_of(corpus, video_id(3), "SPEAKER_00")


@pytest.mark.parametrize("bad", ["", "   ", "x" * 81, "Ada\nLovelace", "Ada\u202eecalevoL", "\x00"])
def test_names_are_checked(bad):
    with pytest.raises(registry.RegistryError):
        registry.check_voice_name(bad)
    assert registry.check_voice_name("  Zoë O'Brien <b> ") == "Zoë O'Brien <b>"
