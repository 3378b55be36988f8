"""Search over a warehouse on local disk and on the session's SeaweedFS: keyword ranking, redaction, the allowed
videos, screen_text read when its table is there, semantic ranking with the real MiniLM, and SQL injection."""

from __future__ import annotations

import contextlib
import io
import json
import uuid

import pyarrow as pa
import pytest

from vidassets.analytics.warehouse import Warehouse
from vidassets.cli.search import search_main
from vidassets.ml.sentence_embeddings import SentenceEncoder
from vidassets.search.engine import MAX_QUERY_CHARS, SearchError, parse_query, search, transcript_link
from vidassets.search.texts import EMBEDDINGS_TABLE, embedding_rows
from vidassets.storage.layout import video_file_key
from vidassets_tests.stores import store

TALK = "team-talk-cfe380202ac6"
LECTURE = "lecture-0123456789ab"
OTHER = "someone-else-ba9876543210"

SEGMENTS = {
    TALK: [
        (0.0, 2.5, "SPEAKER_00", "Hello everyone, thanks for joining.", None),
        (2.8, 6.5, "SPEAKER_00", "Today we look at the budget and the hiring plan for next year.", None),
        (9.0, 11.7, "SPEAKER_01", "The hiring plan adds four engineers in the spring.", None),
        (12.0, 15.0, "SPEAKER_01", "Call me on 415 555 0100 about the plan for hiring.",
         "Call me on [PHONE] about the plan for hiring."),
    ],
    LECTURE: [
        (1.0, 4.0, "SPEAKER_00", "Photosynthesis turns light into chemical energy.", None),
        (30.0, 34.0, "SPEAKER_00", "Hiring is not part of this lecture.", None),
    ],
    OTHER: [
        (5.0, 8.0, "SPEAKER_00", "Our secret hiring plan doubles the team.", None),
    ],
}
SCREEN = {  # (start, end, text, text_redacted)
    LECTURE: [(20.0, 29.0, "Q3 REVENUE up 12%", None), (40.0, 50.0, "Contact: anna@example.com", "Contact: [EMAIL]")],
}


def segment_table(video_id: str) -> pa.Table:
    rows = SEGMENTS[video_id]
    return pa.table({
        "video_id": [video_id] * len(rows),
        "segment_index": pa.array(range(len(rows)), pa.int32()),
        "start_s": [r[0] for r in rows], "end_s": [r[1] for r in rows], "speaker": [r[2] for r in rows],
        "text": [r[3] for r in rows], "text_redacted": [r[4] for r in rows],
        "word_count": pa.array([len(r[3].split()) for r in rows], pa.int32()),
    })


def word_table(video_id: str) -> pa.Table:
    """Words spread evenly over each segment (as aligned words would be), the phone number marked as PII."""
    rows = []
    for index, (start, end, speaker, text, _) in enumerate(SEGMENTS[video_id]):
        words = text.split()
        step = (end - start) / len(words)
        for i, word in enumerate(words):
            pii = "PHONE_NUMBER" if word.strip(".,") in ("415", "555", "0100") else None
            rows.append({"video_id": video_id, "segment_index": index, "word_index": i, "word": word,
                         "start_s": round(start + i * step, 3), "end_s": round(start + (i + 1) * step, 3),
                         "speaker": speaker, "pii_entity": pii})
    return pa.Table.from_pylist(rows)


def screen_table(video_id: str) -> pa.Table:
    """Rows in the columns of the `screen_text` table (its schema when this code registers it)."""
    rows = SCREEN[video_id]
    n = len(rows)
    f32 = pa.float32()
    return pa.table({
        "video_id": [video_id] * n, "block_index": pa.array(range(n), pa.int32()),
        "start_s": [r[0] for r in rows], "end_s": [r[1] for r in rows],
        "text": [r[2] for r in rows], "text_redacted": [r[3] or r[2] for r in rows],
        "confidence": pa.array([0.98] * n, f32), "x0": pa.array([10.0] * n, f32), "y0": pa.array([10.0] * n, f32),
        "x1": pa.array([300.0] * n, f32), "y1": pa.array([60.0] * n, f32),
        "shot_index": pa.array(range(n), pa.int32()), "model": ["rapidocr"] * n, "method": ["test rows"] * n,
    })


def write_corpus(root: str, *, screen: bool = True, encoder: SentenceEncoder | None = None) -> Warehouse:
    wh = Warehouse(store(root))
    for video_id in SEGMENTS:
        tables = {"segments": segment_table(video_id), "words": word_table(video_id)}
        if screen and video_id in SCREEN:
            tables["screen_text"] = screen_table(video_id)
        if encoder is not None:
            tables[EMBEDDINGS_TABLE] = embedding_rows(video_id, tables, lambda: encoder)
        wh.write_video(video_id, tables)
    return wh


@pytest.fixture(params=["local", "s3"])
def root(request, tmp_path, monkeypatch) -> str:
    if request.param == "local":
        return str(tmp_path / "root")
    server = request.getfixturevalue("s3_server")
    bucket = f"search-{uuid.uuid4().hex[:12]}"
    server.client().create_bucket(Bucket=bucket)
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    return f"s3://{bucket}/corpus"


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder()


def test_query_is_bounded_and_checked():
    assert parse_query("  Hiring   PLAN ").words == ("hiring", "plan")
    assert parse_query("plan plan Plan").words == ("plan",)
    for bad in ["", "   ", "%%%", "x" * (MAX_QUERY_CHARS + 1), "hiring\x00plan", "a\u200bb",
                " ".join(f"w{i}" for i in range(17)), None, 42]:
        with pytest.raises(SearchError):
            parse_query(bad)


def test_keyword_matches_every_word_case_insensitively_and_ranks_the_phrase_first(root):
    wh = write_corpus(root)
    matches = search(wh, "HIRING plan", video_ids=[TALK, LECTURE])
    texts = [m.text for m in matches]
    assert texts[:2] == ["The hiring plan adds four engineers in the spring.",
                         "Today we look at the budget and the hiring plan for next year."]
    assert texts[2] == "Call me on [PHONE] about the plan for hiring."  # both words, not the phrase: after
    assert matches[0].score > matches[2].score > 0
    assert all(m.kind == "speech" for m in matches) and matches[0].speaker == "SPEAKER_01"
    assert (matches[0].video_id, matches[0].start_s, matches[0].end_s) == (TALK, 9.0, 11.7)
    # The link goes to where the words are said: "hiring" is the 2nd of 9 words over 9.0-11.7 s.
    assert matches[0].time_s == pytest.approx(9.3) and matches[1].time_s == pytest.approx(2.8 + 8 * 3.7 / 13, abs=1e-3)
    assert matches[0].link == f"/v1/videos/{TALK}/view#t=9.3" == transcript_link(TALK, 9.34)
    assert matches[2].time_s == pytest.approx(12.0 + 8 * 3.0 / 11, abs=1e-3)  # "plan", the 9th of 11 words
    assert [m.text for m in search(wh, "engineer", video_ids=[TALK])] == [texts[0]]  # a prefix of a word
    assert [m.text for m in search(wh, "springs", video_ids=[TALK])] == [texts[0]]  # a plural finds the singular
    assert len(search(wh, "hiring plan", video_ids=[TALK], limit=1)) == 1


def test_only_the_allowed_videos_are_searched(root):
    wh = write_corpus(root)
    mine = search(wh, "hiring plan", video_ids=[TALK, LECTURE])
    assert mine and OTHER not in {m.video_id for m in mine}
    assert search(wh, "secret", video_ids=[TALK, LECTURE]) == []
    assert [m.video_id for m in search(wh, "secret", video_ids=[OTHER])] == [OTHER]
    assert search(wh, "hiring", video_ids=[]) == []
    assert {m.video_id for m in search(wh, "hiring", video_ids=None)} == {TALK, LECTURE, OTHER}  # operators


def test_other_videos_files_are_never_read(root):
    """A search for some videos opens only their files: another video's unreadable file does not matter."""
    wh = write_corpus(root)
    for table in ("segments", "words", "screen_text"):
        wh.store.put_bytes(video_file_key(table, OTHER), b"not parquet at all")
    assert [m.video_id for m in search(wh, "hiring plan", video_ids=[TALK])] == [TALK] * 3
    with pytest.raises(Exception, match="(?i)parquet|magic"):
        search(wh, "hiring plan", video_ids=[OTHER])


def test_redacted_text_is_what_is_matched_and_returned(root):
    wh = write_corpus(root)
    assert search(wh, "415 555", video_ids=[TALK]) == []
    assert search(wh, "anna example", video_ids=[LECTURE]) == []
    [phone] = search(wh, "about the plan", video_ids=[TALK])
    assert phone.text == "Call me on [PHONE] about the plan for hiring." and "415" not in json.dumps(phone.as_dict())
    [email] = search(wh, "contact", video_ids=[LECTURE])
    assert (email.kind, email.text, email.start_s) == ("screen", "Contact: [EMAIL]", 40.0)


def test_screen_text_is_searched_when_the_table_exists(root):
    wh = write_corpus(root)
    [shown] = search(wh, "q3 revenue", video_ids=[LECTURE])
    assert (shown.kind, shown.start_s, shown.end_s, shown.speaker, shown.time_s) == ("screen", 20.0, 29.0, None, 20.0)
    assert shown.text == "Q3 REVENUE up 12%" and shown.link == f"/v1/videos/{LECTURE}/view#t=20.0"
    both = search(wh, "hiring", video_ids=[LECTURE])
    assert [m.kind for m in both] == ["speech"]
    without = write_corpus(f"{root}-speech-only", screen=False)
    assert search(without, "q3 revenue") == []
    assert [m.kind for m in search(without, "photosynthesis")] == ["speech"]


INJECTIONS = [
    "' OR '1'='1",
    "x'); DROP TABLE search_docs; --",
    "hiring' OR 1=1 --",
    "%' OR text LIKE '%",
    "\" OR \"\"=\"",
    "plan\\'; SELECT * FROM segments; --",
    "hiring UNION SELECT video_id, kind, start_s, end_s, text, speaker, 1 FROM search_docs",
]


@pytest.mark.parametrize("query", INJECTIONS)
def test_sql_injection_is_just_text(tmp_path, query):
    wh = write_corpus(str(tmp_path / "root"))
    found = search(wh, query, video_ids=[TALK])
    # A query is words: every word of it must be in a match, whatever quotes and keywords it holds.
    words = parse_query(query).words
    for match in found:
        assert all(word in match.text.lower() for word in words)
    assert {m.video_id for m in search(wh, query, video_ids=[TALK])} <= {TALK}
    assert len(search(wh, "hiring plan", video_ids=None)) == 4  # nothing was dropped or changed


def test_semantic_search_finds_the_meaning(tmp_path, encoder):
    wh = write_corpus(str(tmp_path / "root"), encoder=encoder)
    stored = wh.read_table(EMBEDDINGS_TABLE)
    assert pa.types.is_fixed_size_list(stored.schema.field("embedding").type)
    assert stored.num_rows == sum(len(v) for v in SEGMENTS.values()) + sum(len(v) for v in SCREEN.values())
    assert set(stored.column("model").to_pylist()) == {"all-MiniLM-L6-v2"}

    [first, *_] = search(wh, "how many people will we recruit", video_ids=[TALK, LECTURE], semantic=True,
                         encoder=encoder)
    assert first.text == "The hiring plan adds four engineers in the spring."
    [top, *_] = search(wh, "how plants make energy from sunlight", video_ids=[TALK, LECTURE], semantic=True,
                       encoder=encoder)
    assert (top.video_id, top.start_s) == (LECTURE, 1.0)
    [sales, *_] = search(wh, "quarterly sales figures", video_ids=[LECTURE], semantic=True, encoder=encoder)
    assert (sales.kind, sales.text) == ("screen", "Q3 REVENUE up 12%")
    secret = "a confidential plan to double the staff"
    assert OTHER not in {m.video_id for m in search(wh, secret, video_ids=[TALK, LECTURE], semantic=True,
                                                     encoder=encoder)}
    assert search(wh, secret, video_ids=[OTHER], semantic=True, encoder=encoder)[0].video_id == OTHER
    assert search(wh, "photosynthesis", video_ids=[], semantic=True, encoder=encoder) == []
    assert 0.25 <= first.score <= 1.0


def test_vidassets_search_command(tmp_path, monkeypatch):
    root = str(tmp_path / "root")
    write_corpus(root)
    monkeypatch.setenv("VIDASSETS_API_PUBLIC_URL", "https://api.example.com")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert search_main(["hiring plan", "--root", root, "--format", "json", "--limit", "2"]) == 0
    rows = json.loads(out.getvalue())
    assert [(r["video_id"], r["start_s"]) for r in rows] == [(OTHER, 5.0), (TALK, 9.0)]  # the whole corpus
    assert rows[1]["link"] == f"https://api.example.com/v1/videos/{TALK}/view#t=9.3"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert search_main(["revenue", "--root", root, "--video", LECTURE]) == 0
    assert "screen" in out.getvalue() and "Q3 REVENUE" in out.getvalue() and "(1 row)" in out.getvalue()
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert search_main(["'; --", "--root", root]) == 2
        assert search_main(["plan", "--root", root, "--limit", "0"]) == 2
    assert "no words" in err.getvalue() and "limit" in err.getvalue()
