"""The searchable texts of the corpus: spoken segments and on-screen text blocks, as one shape (`DOCUMENTS`).

A text is always the PII-redacted one where the row has it (`text_redacted`), else `text`: search never matches or
returns what redaction removed. `screen_text` is searched when its table exists in the warehouse; until this code's
schemas register it, its files are read from the raw hive layout (`<root>/warehouse/screen_text/video_id=<id>/…`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vidassets.analytics.schemas import EMBEDDING_DIMENSIONS, TABLES
from vidassets.analytics.warehouse import Warehouse

SPEECH = "speech"
SCREEN = "screen"
KINDS = (SPEECH, SCREEN)
EMBEDDINGS_TABLE = "text_embeddings"


@dataclass(frozen=True)
class TextSource:
    """One searchable table: which kind of moment its rows are and which column numbers them within a video."""

    kind: str
    table: str
    index: str
    speaker: str | None = None


SOURCES = (
    TextSource(SPEECH, "segments", "segment_index", speaker="speaker"),
    TextSource(SCREEN, "screen_text", "block_index"),
)

DOCUMENTS = pa.schema([
    pa.field("video_id", pa.string()),
    pa.field("kind", pa.string()),
    pa.field("item_index", pa.int32()),
    pa.field("start_s", pa.float64()),
    pa.field("end_s", pa.float64()),
    pa.field("speaker", pa.string()),
    pa.field("text", pa.string()),
])


class Encoder(Protocol):
    """What embeds texts: `vidassets.ml.sentence_embeddings.SentenceEncoder` (normalized float32 rows)."""

    name: str

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def documents_of(source: TextSource, rows: pa.Table) -> pa.Table:
    """`rows` of `source.table` as `DOCUMENTS`: redacted text where there is one, rows without text dropped."""
    names = rows.column_names
    if rows.num_rows == 0 or "text" not in names:
        return DOCUMENTS.empty_table()
    text = rows.column("text").cast(pa.string())
    if "text_redacted" in names:
        text = pc.coalesce(rows.column("text_redacted").cast(pa.string()), text)
    speaker = (rows.column(source.speaker) if source.speaker and source.speaker in names
               else pa.nulls(rows.num_rows, pa.string()))
    table = pa.table({
        "video_id": rows.column("video_id"),
        "kind": pa.array([source.kind] * rows.num_rows, pa.string()),
        "item_index": rows.column(source.index),
        "start_s": rows.column("start_s"),
        "end_s": rows.column("end_s"),
        "speaker": speaker,
        "text": text,
    }).cast(DOCUMENTS)
    has_text = pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(table.column("text"))), 0)
    return table.filter(pc.fill_null(has_text, False))


def read_rows(warehouse: Warehouse, table: str, video_ids: Collection[str] | None) -> pa.Table | None:
    """The rows of `table` for `video_ids` (None: every video); None when the warehouse has no such table.

    Only those videos' files are read (the per-video files are pruned by their folder before any is opened)."""
    if video_ids is not None and not video_ids:
        return None
    wanted = pc.field("video_id").isin(sorted(video_ids)) if video_ids is not None else None
    return warehouse.read_table(table, filter=wanted) if table in TABLES else None


def documents(warehouse: Warehouse, video_ids: Collection[str] | None) -> pa.Table:
    """Every searchable text of `video_ids` (None: the whole corpus), spoken and on screen, as `DOCUMENTS`."""
    parts = []
    for source in SOURCES:
        rows = read_rows(warehouse, source.table, video_ids)
        if rows is not None:
            parts.append(documents_of(source, rows))
    return pa.concat_tables(parts) if parts else DOCUMENTS.empty_table()


def embedding_rows(video_id: str, tables: Mapping[str, pa.Table], load_encoder: Callable[[], Encoder]) -> pa.Table:
    """The `text_embeddings` rows of one video from its rows in the other tables (segments, screen_text when
    present), embedding each redacted text; no rows, and no model loaded, for a video without text."""
    parts = [documents_of(source, tables[source.table]) for source in SOURCES if tables.get(source.table) is not None]
    docs = pa.concat_tables(parts) if parts else DOCUMENTS.empty_table()
    if docs.num_rows == 0:
        return pa.table({"video_id": pa.array([], pa.string())})
    encoder = load_encoder()
    vectors = encoder.encode(docs.column("text").to_pylist())
    if vectors.shape != (docs.num_rows, EMBEDDING_DIMENSIONS):
        raise ValueError(f"{encoder.name}: {vectors.shape[1:]} dimensions, the table holds {EMBEDDING_DIMENSIONS}")
    flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).ravel(), pa.float32())
    return pa.table({
        "video_id": pa.array([video_id] * docs.num_rows, pa.string()),
        "kind": docs.column("kind"),
        "item_index": docs.column("item_index"),
        "start_s": docs.column("start_s"),
        "end_s": docs.column("end_s"),
        "embedding": pa.FixedSizeListArray.from_arrays(flat, EMBEDDING_DIMENSIONS),
        "model": pa.array([encoder.name] * docs.num_rows, pa.string()),
    })
