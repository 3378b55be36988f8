"""`search(warehouse, query, …)`: the moments where a phrase is said or shown, best first.

Keyword: every word of the query must occur in the text (case-insensitive, as a substring, so `engineer` finds
`engineers`; a plural as its singular, so `volcanoes` finds `volcano`); the score ranks the whole phrase first,
then texts where the words are whole words, then short texts (the query covers more of them):
0.6·phrase + 0.3·share of whole words + 0.1·coverage, in [0, 1].
Semantic: the cosine similarity of the query's MiniLM embedding with each text's stored one (`text_embeddings`),
at least `SEMANTIC_MIN_SCORE`. Both run in DuckDB over only the allowed videos' rows; the query reaches DuckDB as
parameters only, never inside the SQL text.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Collection
from dataclasses import asdict, dataclass
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from vidassets.analytics.schemas import EMBEDDING_DIMENSIONS
from vidassets.analytics.warehouse import Warehouse
from vidassets.search.texts import EMBEDDINGS_TABLE, SPEECH, Encoder, documents, read_rows

MAX_QUERY_CHARS = 200
MAX_QUERY_WORDS = 16
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
SEMANTIC_MIN_SCORE = 0.25
_WORD = re.compile(r"\w+")
# In SQL: lower-case, every run of non-letters/digits one space, padded, so ' word ' is a whole-word test.
_NORMALIZED = "' ' || trim(regexp_replace(lower(text), '[^\\p{L}\\p{N}_]+', ' ', 'g')) || ' '"


class SearchError(ValueError):
    """A query or limit the search refuses, with a message for the user (the API answers 422)."""


@dataclass(frozen=True)
class SearchQuery:
    text: str  # whitespace collapsed
    words: tuple[str, ...]  # lower-case, each once, in order

    @property
    def stems(self) -> tuple[str, ...]:
        return tuple(stem(word) for word in self.words)


def stem(word: str) -> str:
    """An English plural's singular, enough for substring matching: `volcanoes` -> `volcano` (and finds what
    Whisper wrote as `volcano's`), `crashes` -> `crash`, `costs` -> `cost`; short words and `-ss` stay."""
    if len(word) <= 4 or not word.endswith("s") or word.endswith("ss"):
        return word
    if word.endswith("es") and word[-3] in "sxzho":
        return word[:-2]
    if word.endswith("ies") and len(word) > 5:
        return word[:-3] + "y"
    return word[:-1]


def parse_query(raw: object) -> SearchQuery:
    """A tenant's query, checked: 1-200 characters, no control characters, 1-16 distinct words."""
    if not isinstance(raw, str):
        raise SearchError("the query must be text")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co") and not c.isspace() for c in raw):
        raise SearchError("the query contains control or invisible characters")
    text = " ".join(raw.split())
    if not text:
        raise SearchError("the query is empty")
    if len(text) > MAX_QUERY_CHARS:
        raise SearchError(f"the query is {len(text)} characters long; at most {MAX_QUERY_CHARS}")
    words = tuple(dict.fromkeys(w.lower() for w in _WORD.findall(text)))
    if not words:
        raise SearchError("the query has no words (letters or digits)")
    if len(words) > MAX_QUERY_WORDS:
        raise SearchError(f"the query has {len(words)} distinct words; at most {MAX_QUERY_WORDS}")
    return SearchQuery(text, words)


def check_limit(limit: int) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise SearchError(f"limit {limit!r}: between 1 and {MAX_LIMIT}")
    return limit


def transcript_link(video_id: str, start_s: float) -> str:
    """The transcript page at that moment (the page seeks to `#t=`; a tenth of a second early, never late)."""
    return f"/v1/videos/{video_id}/view#t={math.floor(max(start_s, 0.0) * 10) / 10:.1f}"


@dataclass(frozen=True)
class Match:
    video_id: str
    kind: str  # speech | screen
    start_s: float  # the segment's or on-screen block's span
    end_s: float
    text: str  # the redacted text where there is one
    score: float
    speaker: str | None = None
    time_s: float | None = None  # where the words are said (keyword, from `words`), else start_s

    def __post_init__(self) -> None:
        if self.time_s is None:
            object.__setattr__(self, "time_s", self.start_s)

    @property
    def link(self) -> str:
        return transcript_link(self.video_id, self.time_s if self.time_s is not None else self.start_s)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "link": self.link}


def search(
    warehouse: Warehouse, query: str | SearchQuery, *, video_ids: Collection[str] | None = None,
    semantic: bool = False, limit: int = DEFAULT_LIMIT, encoder: Encoder | None = None,
) -> list[Match]:
    """The best `limit` moments of `video_ids` (None: the whole corpus, for operators) for `query`.

    `semantic` ranks by meaning and needs `encoder` (`ModelLoader.sentence_encoder()`); texts of videos whose rows
    were written before `text_embeddings` existed are found by keyword only."""
    parsed = query if isinstance(query, SearchQuery) else parse_query(query)
    limit = check_limit(limit)
    if semantic and encoder is None:
        raise ValueError("semantic search needs an encoder (ModelLoader.sentence_encoder())")
    docs = documents(warehouse, video_ids)
    if docs.num_rows == 0:
        return []
    con = duckdb.connect()
    try:
        con.register("search_docs", docs)
        if semantic:
            assert encoder is not None
            return _matches(_semantic(con, warehouse, parsed, video_ids, limit, encoder))
        rows = _keyword(con, parsed, limit)
        return _matches(rows, _spoken_at(warehouse, rows, parsed))
    finally:
        con.close()


def _keyword(con: duckdb.DuckDBPyConnection, query: SearchQuery, limit: int) -> list[tuple[Any, ...]]:
    # The SQL text depends only on how many words there are; every value is a parameter.
    contains = " AND ".join(["strpos(norm, ?) > 0"] * len(query.words))
    whole = " + ".join(["(strpos(norm, ?) > 0 OR strpos(norm, ?) > 0)::INTEGER"] * len(query.words))
    sql = f"""
        WITH d AS (SELECT *, {_NORMALIZED} AS norm FROM search_docs)
        SELECT video_id, kind, start_s, end_s, text, speaker,
               0.6 * (strpos(norm, ?) > 0)::INTEGER
               + 0.3 * ({whole}) / ?
               + 0.1 * least(1.0, ? / greatest(length(norm) - 2, 1)) AS score, item_index
        FROM d
        WHERE {contains}
        ORDER BY score DESC, video_id, start_s, kind
        LIMIT ?
    """
    phrase = " " + " ".join(query.words) + " "
    whole_words = [f" {form} " for word, root in zip(query.words, query.stems, strict=True) for form in (word, root)]
    params: list[Any] = [phrase, *whole_words, len(query.words), len(phrase) - 2, *query.stems, limit]
    return con.execute(sql, params).fetchall()


def _semantic(con: duckdb.DuckDBPyConnection, warehouse: Warehouse, query: SearchQuery,
              video_ids: Collection[str] | None, limit: int, encoder: Encoder) -> list[tuple[Any, ...]]:
    embeddings = read_rows(warehouse, EMBEDDINGS_TABLE, video_ids)
    if embeddings is None or embeddings.num_rows == 0:
        return []
    embeddings = embeddings.filter(pc.field("model") == encoder.name)  # other models' vectors do not compare
    con.register("search_embeddings", embeddings.select(["video_id", "kind", "item_index", "embedding"]))
    vector = encoder.encode([query.text])[0].astype("float32").tolist()
    sql = f"""
        SELECT * FROM (
            SELECT d.video_id, d.kind, d.start_s, d.end_s, d.text, d.speaker,
                   array_cosine_similarity(e.embedding, ?::FLOAT[{EMBEDDING_DIMENSIONS}]) AS score, d.item_index
            FROM search_embeddings e JOIN search_docs d USING (video_id, kind, item_index)
        )
        WHERE score >= ?
        ORDER BY score DESC, video_id, start_s, kind
        LIMIT ?
    """
    return con.execute(sql, [vector, SEMANTIC_MIN_SCORE, limit]).fetchall()


def _spoken_at(warehouse: Warehouse, rows: list[tuple[Any, ...]], query: SearchQuery) -> dict[tuple[str, int], float]:
    """(video, segment) -> start of the segment's first word holding a query word, from `words` (only the matched
    videos' files are read; words inside redacted personal data are never looked at)."""
    wanted = {(row[0], row[7]) for row in rows if row[1] == SPEECH}  # (video_id, …, item_index)
    if not wanted:
        return {}
    words = read_rows(warehouse, "words", {video_id for video_id, _ in wanted})
    if words is None or words.num_rows == 0:
        return {}
    words = words.select(["video_id", "segment_index", "word_index", "word", "start_s", "pii_entity"])
    found: dict[tuple[str, int], tuple[int, float]] = {}
    for word in words.to_pylist():
        key = (word["video_id"], word["segment_index"])
        if key not in wanted or word["pii_entity"] is not None or word["start_s"] is None:
            continue
        text = str(word["word"]).lower()
        if any(stem in text for stem in query.stems) and (key not in found or word["word_index"] < found[key][0]):
            found[key] = (word["word_index"], float(word["start_s"]))
    return {key: at for key, (_, at) in found.items()}


def _matches(rows: list[tuple[Any, ...]], spoken_at: dict[tuple[str, int], float] | None = None) -> list[Match]:
    spoken_at = spoken_at or {}
    return [Match(video_id, kind, float(start or 0.0), float(end or 0.0), text, round(float(score), 4), speaker,
                  spoken_at.get((video_id, index)))
            for video_id, kind, start, end, text, speaker, score, index in rows]


def as_table(matches: list[Match], base_url: str | None = None) -> pa.Table:
    """Matches as an Arrow table (for `vidassets search --format`); links absolute under `base_url` if given."""
    prefix = (base_url or "").rstrip("/")
    rows = [{**m.as_dict(), "link": prefix + m.link} for m in matches]
    return pa.Table.from_pylist(rows, schema=pa.schema([
        ("video_id", pa.string()), ("kind", pa.string()), ("start_s", pa.float64()), ("end_s", pa.float64()),
        ("text", pa.string()), ("score", pa.float64()), ("speaker", pa.string()), ("time_s", pa.float64()),
        ("link", pa.string()),
    ]))
