"""The Parquet warehouse under one storage root: per-video writes, compaction, pyarrow datasets and DuckDB views.

Layout (`<root>` is a local folder or `s3://bucket[/prefix]`):

    <root>/warehouse/<table>/video_id=<id>/part-0.parquet          the source of truth, one file per video and table
    <root>/warehouse/_journal/<hour>/<stamp>Z-<b|e>-<write>-<id>   change journal: a write of a video begins, ends
    <root>/warehouse/_compacted/<table>/CURRENT.json               which compacted generation is live, its journal
                                                                   window and each row group's video-id range
    <root>/warehouse/_compacted/<table>/<generation>/part-NNNNN.parquet

Writes. `write_video(video_id, tables)` writes each table's rows for that video as one Parquet file, atomically
(S3: built in memory, one PUT; local: written beside under a hidden `.tmp-` name and renamed), then deletes that
video's files in tables where it now has no rows. Nothing else is touched, so concurrent runs for different videos
never conflict and re-materializing a video leaves exactly one copy of its rows. A reader sees, per file, either the
old or the new version, never a partial file. Across tables a reader may briefly see the new `segments` with the
old `videos` row; `videos` is written last so a video's row appears after its detail rows. Around its files each
`write_video` / `delete_video` call appends two empty journal markers: `b` before the first file (again every
`JOURNAL_REFRESH_S` of a long write) and `e` after the last. `write_video` is the only supported writer: files put
into a table any other way are seen only after `compact(table, full=True)`.

Reads. `dataset(table)` / `connect()` take a snapshot and read every per-video file it names whole, pinned to the
listed version (`Store.read_pinned`), or fail with FileChangedError, which `run_query` and `read_table` answer by
taking a new snapshot. Plain pyarrow would mix versions of a file replaced mid-read: it reuses a cached footer on a
second scan, and reads S3 objects with several ranged GETs (both reproduced here; see `SnapshotDataset`).

Compaction. Reading 10,000 small files per table is slow, so `compact(table)` copies the rows of every per-video
file into a few large files (sorted by video_id, each row group holding whole videos) and records in `CURRENT.json`
each row group's first and last video id, a journal window (`journal_from`: its start minus `JOURNAL_MARGIN_S`), and
`settled`: per video with markers in the window, how many it saw, counted only if every write it saw had ended;
it lists the journal before reading any file. Per-video files are never modified by compaction; they stay the
source of truth. A reader loads `CURRENT.json` (small: nothing per video of the corpus), lists the journal after
`journal_from` (`Store.list_after`: only the hours since, on S3 one LIST from that key) and takes as changed every
video whose marker count differs from `settled` (plus the generation's `pending`, videos it left out). Those videos
are read from their own files (a stat or HEAD each) and filtered out of the compacted rows (a row filter; a row
group of one such video is skipped); no other per-video file is listed or read. Why this is exact: a write that
changes a file after the compaction read it either began after the compaction listed the journal (a marker it did
not see) or had not ended by then (not settled); a write's `b` marker is at most `JOURNAL_REFRESH_S` older than any
file it changes, and its `e` marker newer than all of them, so both land in the window unless clocks are more than
the margin apart. Reading too many videos from their own files is only slower. Hence:

- per-video replace semantics hold after compaction with no extra work for writers;
- readers are correct before, during and after a compaction: `CURRENT.json` is replaced with one PUT/rename
  only after every file of the new generation is complete, and the previous generation is kept (older ones are
  deleted once `grace_s` old), so a reader that loaded the previous `CURRENT.json` can still read its files;
  journal markers are deleted only when older than `JOURNAL_KEEP_S` and than the windows of every table's live and
  previous generations;
- the next compaction needs no listing either: the previous generation's row groups minus the changed videos,
  merged with those videos' own files (`full=True` lists and reads every per-video file instead);
- tools reading the raw layout (`read_parquet('<root>/warehouse/segments/*/*.parquet', hive_partitioning=true)`)
  never see compacted files or the journal and stay correct, only slower.

A `CURRENT.json` of format 1 (a version token per video, written before the journal) is still honoured by listing
the table and comparing tokens, and no `CURRENT.json` means reading every per-video file; the next compaction then
lists the table once and writes the current format. The compacted copy doubles the warehouse's storage (Parquet of
text and numbers, small next to the videos). On a local root `connect()` reads compacted files with DuckDB's own
Parquet reader (faster than through Arrow), excluding changed videos with `WHERE video_id NOT IN (...)`.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from vidassets.analytics.schemas import SCHEMA_VERSION, SCHEMAS, TABLES, schema_for
from vidassets.storage import FileChangedError, ObjectInfo, Store
from vidassets.storage.base import AtomicWriter
from vidassets.storage.layout import (
    PART_FILE,
    JournalMarker,
    compacted_prefix,
    current_key,
    journal_marker_key,
    journal_position,
    journal_prefix,
    parse_journal_marker,
    table_prefix,
    video_file_key,
    video_prefix,
)
from vidassets.video_ids import is_video_id

MANIFEST_FORMAT = 2  # 2: journal position and row-group id ranges; 1: a version token per video (still read)
TOKEN_FORMAT = 1
JOURNAL_MARGIN_S = 3600.0
"""How far before a compaction's start its readers (and the next compaction) look in the change journal. It absorbs
clock skew between a writer's host and the compactor's, and a `write_video` whose marker before its files is older
than the compaction's start (the marker after its files covers one that completes). Reading too many videos from
their own files is always correct, only slower; missing one is not, so the margin is generous."""
JOURNAL_REFRESH_S = JOURNAL_MARGIN_S / 4
"""A write that is still putting files this long after its last marker writes another one first, so a writer that
crashes mid-write has a marker at most this long before any file it changed."""
JOURNAL_KEEP_S = 24 * 3600.0
"""Markers are deleted only once older than this and than every kept generation's window: a compaction still
running (a first, full one over a large table takes long) has not yet recorded the window it will need."""
STAT_MIN_VIDEOS = 256
"""Up to this many changed videos (or 1/64 of the generation's, if more) a reader asks for each one's file (a stat, an
S3 HEAD); beyond it one listing of the table is cheaper."""
# Detail tables first, `videos` last: a reader that sees a video's row also sees its details.
WRITE_ORDER = ("moderation_frames", "segments", "words", "speakers", "voices", "summaries", "text_moderation",
               "run_costs", "shots", "faces", "screen_text", "text_embeddings",
               "videos")
SORT_KEYS: dict[str, list[str]] = {
    "videos": [],
    "moderation_frames": ["frame_index", "label"],
    "segments": ["segment_index"],
    "words": ["segment_index", "word_index"],
    "speakers": ["speaker"],
    "voices": ["speaker"],
    "voice_registry": ["speaker"],
    "summaries": [],
    "text_moderation": ["segment_index", "category"],
    "run_costs": ["started_at", "asset"],
    "shots": ["shot_index"],
    "faces": ["shot_index", "face_index"],
    "screen_text": ["block_index"],
    "text_embeddings": ["kind", "item_index"],
}
PARQUET_OPTIONS: dict[str, Any] = {"compression": "zstd"}  # per-video files: small, written often
# Compacted files are read by every query: snappy decodes ~0.2 CPU-s faster per 5 M segments than zstd (measured
# with benchmarks/bench_warehouse.py) for ~25 % more bytes.
COMPACTED_PARQUET_OPTIONS: dict[str, Any] = {"compression": "snappy"}
_GEN_TIME_FORMAT = "%Y%m%dT%H%M%S%f"
READ_ATTEMPTS = 3
_CHANGED_MARKERS = (FileChangedError.MARKER, "No such file or directory", "NoSuchKey", "HTTP status 404")


def is_changed_file_error(err: BaseException) -> bool:
    """A read failed because a listed per-video file was replaced or deleted meanwhile: list again and retry."""
    return isinstance(err, FileChangedError) or any(marker in str(err) for marker in _CHANGED_MARKERS)


class WarehouseError(RuntimeError):
    """A write or read the warehouse refuses (bad video id, rows of another video, unknown table…)."""


def _check_video_id(video_id: str) -> str:
    if not isinstance(video_id, str) or not is_video_id(video_id):
        raise WarehouseError(f"unsafe video id {video_id!r}: partition keys must come from video_id_for()")
    return video_id


def conform(table: str, data: pa.Table, video_id: str) -> pa.Table:
    """`data` cast to the table's schema (column order, types, descriptions), refusing rows of other videos,
    unknown columns and nulls in required columns; missing nullable columns are added as nulls."""
    schema = schema_for(table)
    unknown = sorted(set(data.column_names) - set(schema.names))
    if unknown:
        raise WarehouseError(f"{table}: unknown columns {unknown}; expected {schema.names}")
    columns = []
    for schema_field in schema:
        if schema_field.name in data.column_names:
            columns.append(data.column(schema_field.name))
        elif schema_field.name == "schema_version":
            columns.append(pa.array([SCHEMA_VERSION] * data.num_rows, pa.int32()))
        elif schema_field.nullable:
            columns.append(pa.nulls(data.num_rows, schema_field.type))
        else:
            raise WarehouseError(f"{table}: required column {schema_field.name!r} is missing")
    for schema_field, column in zip(schema, columns, strict=True):
        if not schema_field.nullable and column.null_count:
            raise WarehouseError(f"{table}: column {schema_field.name!r} must not be null")
    try:
        out = pa.Table.from_arrays(columns, names=schema.names).cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, ValueError) as err:
        raise WarehouseError(f"{table}: rows do not fit the schema: {err}") from err
    ids = pc.unique(out.column("video_id")).to_pylist()
    if ids != [video_id]:
        raise WarehouseError(f"{table}: rows for video ids {ids} passed to write_video({video_id!r})")
    return out


def _partition(video_id: str) -> pc.Expression:
    return pc.field("video_id") == video_id


def _live_files(snap: TableSnapshot) -> list[tuple[str, ObjectInfo]]:
    """(video_id, file) read from per-video files: every listed video the compacted generation does not serve."""
    return [(vid, info) for vid in sorted(snap.live) if vid not in snap.covered for info in snap.live[vid]]


def _batch_snapshot(snap: TableSnapshot, video_ids: list[str]) -> TableSnapshot:
    """The part of `snap` one compaction batch reads: the per-video files of `video_ids` (consecutive eligible
    videos, so every covered video in their id range is among them) and the compacted generation's files."""
    return TableSnapshot(table=snap.table, live={vid: snap.live[vid] for vid in video_ids}, current=snap.current,
                         covered=snap.covered.intersection(video_ids), compacted_fragments=snap.compacted_fragments)


class SnapshotDataset(ds.FileSystemDataset):
    """A `pyarrow.dataset.FileSystemDataset` whose every scan (`scanner`, hence `to_table`, `to_batches`,
    `count_rows`, `head` and DuckDB's scans) reads the snapshot's per-video files afresh, each whole and pinned to the
    listed version (`Warehouse._fresh_parts`), or raises FileChangedError.

    Plain pyarrow caches a Parquet footer in the fragment on its first scan and reuses it on the next; if the file
    was replaced in between, the old footer is applied to the new file ("Invalid column metadata (corrupt file?)").
    On S3 its ranged GETs can straddle a replacement. Both were reproduced in this project. Methods that do not
    scan (`schema`, `files`, `get_fragments`) see the snapshot's files as usual; `filter()`/`replace_schema()`
    return plain pyarrow datasets without this protection.
    """

    _vidassets: tuple[Warehouse, TableSnapshot, bool]

    def scanner(self, columns: Any = None, filter: pc.Expression | None = None,  # noqa: A002 - pyarrow's name
                **kwargs: Any) -> ds.Scanner:
        warehouse, snap, compacted = self._vidassets
        packed, live = warehouse._fresh_parts(snap, compacted, filter)
        if not (compacted and snap.row_filter):
            fresh = ds.dataset([packed, live]) if live is not None else packed
            return fresh.scanner(columns=columns, filter=filter, **kwargs)
        # Videos changed since the compaction: their compacted rows are filtered out, their own files read as usual.
        keep = ~pc.field("video_id").isin(pa.array(snap.row_filter, pa.string()))
        scanners = [packed.scanner(columns=columns, filter=keep if filter is None else filter & keep, **kwargs)]
        if live is not None:
            scanners.append(live.scanner(columns=columns, filter=filter, **kwargs))
        batches = itertools.chain.from_iterable(scanner.to_batches() for scanner in scanners)
        return ds.Scanner.from_batches(batches, schema=scanners[0].projected_schema)


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _video_token(infos: list[ObjectInfo]) -> str:
    return "|".join(f"{info.key.rsplit('/', 1)[-1]}:{info.token}" for info in sorted(infos, key=lambda i: i.key))


def _new_generation(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"g{now:{_GEN_TIME_FORMAT}}Z-{uuid.uuid4().hex[:6]}"


def _generation_time(generation: str) -> float | None:
    try:
        stamp = generation[1:].split("Z-", 1)[0]
        return datetime.strptime(stamp, _GEN_TIME_FORMAT).replace(tzinfo=UTC).timestamp()
    except (ValueError, IndexError):
        return None


def _settled(markers: Iterable[JournalMarker]) -> dict[str, int]:
    """video_id -> how many markers it has, for the videos whose every write seen here also ended: a compaction
    that lists these markers and then reads those videos holds their current rows until another marker appears."""
    by_video: dict[str, list[JournalMarker]] = {}
    for marker in markers:
        by_video.setdefault(marker.video_id, []).append(marker)
    out = {}
    for vid, found in by_video.items():
        begun = {m.write_id for m in found if m.kind == "b"}
        if begun <= {m.write_id for m in found if m.kind == "e"}:
            out[vid] = len(found)
    return out


def _changed_since(current: dict[str, Any], markers: Iterable[JournalMarker]) -> set[str]:
    """Videos whose rows in generation `current` may be stale: a marker in its window it did not see (or one of its
    writes had not ended when it looked), plus the videos it left out."""
    counts: dict[str, int] = {}
    for marker in markers:
        if marker.key > current["journal_from"]:
            counts[marker.video_id] = counts.get(marker.video_id, 0) + 1
    settled = current["settled"]
    return {vid for vid, count in counts.items() if settled.get(vid) != count} | set(current["pending"])


@dataclass
class TableSnapshot:
    """What a reader of one table sees at one moment: the per-video files it reads, the live compacted generation and
    which of its rows are not served. `dataset()` turns it into a pyarrow dataset."""

    table: str
    live: dict[str, list[ObjectInfo]]  # video_id -> per-video files (only videos not served from compacted files)
    current: dict[str, Any] | None  # CURRENT.json of the compacted generation, if any (and of this schema)
    covered: set[str] = field(default_factory=set)  # format 1 only: listed videos read from compacted files
    compacted_fragments: list[tuple[str, list[int] | None]] = field(default_factory=list)  # (key, row groups)
    excluded: list[str] = field(default_factory=list)  # videos whose compacted rows must not be served
    row_filter: list[str] = field(default_factory=list)  # the excluded videos inside kept row groups (filtered out)

    @property
    def live_files(self) -> list[str]:
        """Per-video files read directly (videos not served by the compacted generation)."""
        return [info.key for vid in sorted(self.live) if vid not in self.covered for info in self.live[vid]]


@dataclass
class CompactionResult:
    table: str
    generation: str
    files: list[str]
    videos: int
    rows: int
    skipped_recent: int
    skipped_changed: int
    removed_generations: list[str]
    seconds: float
    incremental: bool = False  # built from the previous generation plus the journal's changed videos
    changed: int = 0  # videos the journal named since the previous generation (incremental only)
    pruned_markers: int = 0


class Warehouse:
    """Parquet tables under `<root>/warehouse/`; `root` is a local folder or `s3://bucket[/prefix]`."""

    def __init__(self, root: str | Store) -> None:
        self.store = root if isinstance(root, Store) else Store.for_root(root.rstrip("/") or root)
        self.root = self.store.root
        self._format = ds.ParquetFileFormat()

    def __repr__(self) -> str:
        return f"Warehouse({self.root!r})"

    # ----------------------------------------------------------------------------------------------- writes

    def write_video(self, video_id: str, tables: Mapping[str, pa.Table]) -> dict[str, int]:
        """Replace every warehouse row of `video_id` with `tables` (table name -> rows of that video).

        A table that is missing from `tables` or has 0 rows ends with no file for this video. Each file is
        written atomically; rows are validated against the schema first, so a bad table writes nothing.
        A journal marker is written before the files (a writer that crashes midway is still seen) and after
        them (a write that outlasts the journal margin is seen by a generation that read the video meanwhile).
        Returns the rows written per table.
        """
        _check_video_id(video_id)
        unknown = sorted(set(tables) - set(TABLES))
        if unknown:
            raise WarehouseError(f"unknown tables {unknown}; tables: {', '.join(TABLES)}")
        ready = {
            name: conform(name, data, video_id)
            for name, data in tables.items() if data is not None and data.num_rows
        }
        written: dict[str, int] = {}
        write_id = uuid.uuid4().hex[:8]
        marked = self._mark(video_id, "b", write_id)
        for name in WRITE_ORDER:
            if time.time() - marked > JOURNAL_REFRESH_S:
                marked = self._mark(video_id, "b", write_id)
            existing = self._video_files(name, video_id)
            key = video_file_key(name, video_id)
            if name in ready:
                self.store.put_parquet(key, ready[name], **PARQUET_OPTIONS)
                written[name] = ready[name].num_rows
                stale = [info.key for info in existing if info.key != key]
            else:
                written[name] = 0
                stale = [info.key for info in existing]
            if stale:
                self.store.delete(stale)
        self._mark(video_id, "e", write_id)
        return written

    def delete_video(self, video_id: str) -> int:
        """Remove every row of `video_id` from every table (journal markers before and after, as `write_video`);
        returns how many files were deleted."""
        _check_video_id(video_id)
        write_id = uuid.uuid4().hex[:8]
        self._mark(video_id, "b", write_id)
        keys = [info.key for name in reversed(WRITE_ORDER) for info in self._video_files(name, video_id)]
        deleted = self.store.delete(keys) if keys else 0
        self._mark(video_id, "e", write_id)
        return deleted

    def _mark(self, video_id: str, kind: str, write_id: str) -> float:
        """Append a marker to the journal: write `write_id` of `video_id` begins ("b") or ended ("e")."""
        now = time.time()
        self.store.put_bytes(journal_marker_key(video_id, datetime.fromtimestamp(now, UTC), kind, write_id), b"")
        return now

    def _video_files(self, table: str, video_id: str) -> list[ObjectInfo]:
        """The video's files, plus temp files a crashed writer left (an hour old: never a live writer's)."""
        prefix = video_prefix(table, video_id)
        return self.store.list(prefix) + self.store.list_leftovers(prefix, older_than_s=3600)

    # ----------------------------------------------------------------------------------------------- reads

    def _list_live(self, table: str) -> dict[str, list[ObjectInfo]]:
        """video_id -> its file in `table`. Readers take exactly `video_id=<id>/part-0.parquet` (write_video
        removes anything else it finds in a video's folder)."""
        infos = self.store.list_named(table_prefix(table), PART_FILE)
        live: dict[str, list[ObjectInfo]] = {}
        for info in infos:
            parts = info.key.split("/")
            if len(parts) != 4 or parts[3] != PART_FILE or not parts[2].startswith("video_id="):
                continue
            vid = parts[2][len("video_id="):]
            if is_video_id(vid):
                live[vid] = [info]
        return live

    def _load_current(self, table: str) -> dict[str, Any] | None:
        data = self.store.find_bytes(current_key(table))
        if data is None:
            return None
        current = json.loads(data)
        if (current.get("format") not in (MANIFEST_FORMAT, TOKEN_FORMAT) or current.get("table") != table
                or current.get("schema_version") != SCHEMA_VERSION):
            return None  # written by another schema version: ignore it, the per-video files are the truth
        return current

    def snapshot(self, table: str) -> TableSnapshot:
        """What a reader of `table` sees now (see `snapshots`)."""
        return self.snapshots([table])[table]

    def snapshots(self, tables: Iterable[str]) -> dict[str, TableSnapshot]:
        """Each table's CURRENT.json, then one listing of the journal since the earliest generation's window: the
        videos changed since are read from their own files and filtered out of the compacted rows. Tables without a
        generation of the current format are listed whole (`_listing_snapshot`)."""
        currents = {}
        for table in tables:
            schema_for(table)  # an unknown table fails here, not as an empty snapshot
            currents[table] = self._load_current(table)
        windows = [c["journal_from"] for c in currents.values() if c and c["format"] == MANIFEST_FORMAT]
        markers = self._journal_since(min(windows)) if windows else []
        out = {}
        for table, current in currents.items():
            if current and current["format"] == MANIFEST_FORMAT:
                out[table] = self._journal_snapshot(table, current, _changed_since(current, markers))
            else:
                out[table] = self._listing_snapshot(table, current)
        return out

    def _journal_since(self, position: str) -> list[JournalMarker]:
        """Every journal marker after `position`, in key order."""
        parsed = (parse_journal_marker(info.key) for info in self.store.list_after(journal_prefix(), position))
        return [marker for marker in parsed if marker]

    def _changed_files(self, table: str, video_ids: list[str], corpus_videos: int) -> dict[str, list[ObjectInfo]]:
        """video_id -> its file in `table`, for these videos only (one stat or HEAD each, concurrently)."""
        if len(video_ids) > max(STAT_MIN_VIDEOS, corpus_videos // 64):
            listed = self._list_live(table)
            return {vid: listed[vid] for vid in video_ids if vid in listed}
        keys = [video_file_key(table, vid) for vid in video_ids]
        if len(keys) > 1:
            with ThreadPoolExecutor(max_workers=self.store.read_concurrency) as pool:
                infos = list(pool.map(self.store.stat, keys))
        else:
            infos = [self.store.stat(key) for key in keys]
        return {vid: [info] for vid, info in zip(video_ids, infos, strict=True) if info is not None}

    def _journal_snapshot(self, table: str, current: dict[str, Any], changed: set[str]) -> TableSnapshot:
        """The generation's row groups minus the changed videos (a row filter; a row group of one changed video is
        skipped), plus the changed videos' own files. Cost: the changed videos, not the corpus."""
        ids = sorted(changed)
        snap = TableSnapshot(table=table, live=self._changed_files(table, ids, current["videos"]), current=current)
        for entry in current["files"]:
            keep: list[int] = []
            for i, (low, high, _) in enumerate(entry["row_groups"]):
                inside = ids[bisect_left(ids, low):bisect_right(ids, high)]
                snap.excluded += inside
                if not (low == high and inside):  # a group of several videos may hold unchanged ones: filter it
                    keep.append(i)
                    snap.row_filter += inside
            if keep:
                snap.compacted_fragments.append((entry["key"], None if len(keep) == len(entry["row_groups"]) else keep))
        return snap

    def _listing_snapshot(self, table: str, current: dict[str, Any] | None) -> TableSnapshot:
        """List `table` whole; with a format-1 generation, serve a video from it only when its files still have the
        recorded version tokens (warehouses compacted before the journal, until their next compaction)."""
        live = self._list_live(table)
        if not current or current["format"] != TOKEN_FORMAT:
            return TableSnapshot(table=table, live=live, current=None)
        snap = TableSnapshot(table=table, live=live, current=current)
        tokens = {vid: _video_token(infos) for vid, infos in live.items()}
        fresh = {vid for vid, token in current["videos"].items() if tokens.get(vid) == token}
        lost: set[str] = set()
        for entry in current["files"]:
            groups = entry["row_groups"]
            keep = [i for i, vids in enumerate(groups) if all(v in fresh for v in vids)]
            for i, vids in enumerate(groups):
                if i not in keep:
                    lost.update(vids)
            if keep:
                snap.compacted_fragments.append((entry["key"], None if len(keep) == len(groups) else keep))
        snap.covered = fresh - lost
        snap.excluded = sorted(set(current["videos"]) - snap.covered)
        return snap

    def dataset(self, table: str, snapshot: TableSnapshot | None = None, *,
                compacted: bool = True) -> ds.Dataset:
        """`table` as one pyarrow dataset: the live compacted row groups plus, hive-partitioned by video_id, the
        per-video files of every other video. The file list is fixed when this is called (call again to see
        later writes); every scan opens the files afresh, so a file replaced meanwhile is read as one whole
        version (see `SnapshotDataset`). `compacted=False`: only the per-video files the generation does not serve.
        """
        snap = snapshot or self.snapshot(table)
        fs = self.store.arrow_filesystem()
        fragments = self._compacted_fragments(snap) if compacted else []
        fragments += [
            self._format.make_fragment(self.store.arrow_path(info.key), fs, partition_expression=_partition(vid))
            for vid, info in _live_files(snap)
        ]
        dataset = SnapshotDataset(fragments, SCHEMAS[table], self._format, fs)
        dataset._vidassets = (self, snap, compacted)
        return dataset

    def _compacted_fragments(self, snap: TableSnapshot) -> list[ds.Fragment]:
        fs = self.store.arrow_filesystem()
        return [self._format.make_fragment(self.store.arrow_path(key), fs, row_groups=row_groups)
                for key, row_groups in snap.compacted_fragments]

    def _fresh_parts(self, snap: TableSnapshot, compacted: bool,
                     filter: pc.Expression | None) -> tuple[ds.FileSystemDataset, ds.FileSystemDataset | None]:  # noqa: A002
        """New fragments for one scan: (compacted row groups, per-video files or None). Compacted files are
        immutable: pyarrow reads them directly. Per-video files can be replaced at any moment, so the ones the filter
        needs are read whole, each exactly in the listed version (`Store.read_pinned`: same inode/size/mtime locally,
        If-Match on the listed ETag on S3) or not at all (FileChangedError, and queries list again). pyarrow's own
        reads could otherwise mix two versions of a file (its cached footer locally, its ranged GETs on S3) and two
        scans of one query could see different versions.
        """
        schema = SCHEMAS[snap.table]
        fs = self.store.arrow_filesystem()
        packed = ds.FileSystemDataset(self._compacted_fragments(snap) if compacted else [], schema, self._format, fs)
        by_path = {self.store.arrow_path(info.key): (vid, info) for vid, info in _live_files(snap)}
        if not by_path:
            return packed, None
        candidates = [self._format.make_fragment(path, fs, partition_expression=_partition(vid))
                      for path, (vid, _) in by_path.items()]
        wanted = ds.FileSystemDataset(candidates, schema, self._format, fs).get_fragments(filter=filter)
        pins = [by_path[fragment.path] for fragment in wanted]  # pruned by video_id, no file opened
        with ThreadPoolExecutor(max_workers=self.store.read_concurrency) as pool:
            bodies = list(pool.map(lambda pin: self.store.read_pinned(pin[1]), pins))
        live = [self._format.make_fragment(pa.BufferReader(_arrow_owned(body)), partition_expression=_partition(vid))
                for (vid, _), body in zip(pins, bodies, strict=True)]
        return packed, ds.FileSystemDataset(live, schema, self._format, None)

    def read_table(self, table: str, *, columns: list[str] | None = None,
                   filter: pc.Expression | None = None) -> pa.Table:  # noqa: A002 - pyarrow's name
        """`dataset(table).to_table(...)`, listed again (up to 3 times) if a listed file changes meanwhile."""
        for attempt in range(1, READ_ATTEMPTS + 1):
            try:
                return self.dataset(table).to_table(columns=columns, filter=filter)
            except (OSError, pa.ArrowException) as err:
                if attempt == READ_ATTEMPTS or not is_changed_file_error(err):
                    raise
        raise AssertionError("unreachable")

    def read_video(self, video_id: str) -> dict[str, pa.Table]:
        """Every table's rows of one video (reads only that video's files, or its compacted row groups)."""
        _check_video_id(video_id)
        return {name: self.read_table(name, filter=pc.field("video_id") == video_id) for name in TABLES}

    def video_ids(self, table: str = "videos") -> list[str]:
        return sorted(self._list_live(table))

    def connect(self, tables: Iterable[str] | None = None,
                connection: duckdb.DuckDBPyConnection | None = None, *,
                engine: str = "auto") -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with one view per table; views are a snapshot of the file lists.

        Per-video files are registered as pyarrow datasets (so S3 goes through pyarrow's S3FileSystem: no DuckDB
        extension needed, and a file replaced mid-query is still read as one version). Compacted files on local
        disk are read by DuckDB's own Parquet reader (`engine="auto"`, faster); `engine="arrow"` registers
        pyarrow datasets only.
        """
        if engine not in ("auto", "arrow"):
            raise ValueError(f"engine must be 'auto' or 'arrow', not {engine!r}")
        con = connection or duckdb.connect()
        for name, snap in self.snapshots(tables if tables is not None else TABLES).items():
            paths = [self.store.local_path(key) for key, _ in snap.compacted_fragments]
            if engine == "arrow" or not paths or None in paths:
                con.register(name, self.dataset(name, snap))
                continue
            # Whole compacted files minus the videos they no longer serve (the arrow path skips row groups).
            files = ", ".join(_sql_string(str(path)) for path in paths)
            excluded = snap.excluded
            where = f" WHERE video_id NOT IN ({', '.join(_sql_string(v) for v in excluded)})" if excluded else ""
            live_name = f"__vidassets_{name}_live"
            con.register(live_name, self.dataset(name, snap, compacted=False))
            columns = ", ".join(f'"{column}"' for column in SCHEMAS[name].names)
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW {name} AS "
                f"SELECT {columns} FROM read_parquet([{files}], hive_partitioning = false){where} "
                f"UNION ALL SELECT {columns} FROM {live_name}"
            )
        return con

    # ----------------------------------------------------------------------------------------------- compaction

    def compact(
        self,
        table: str,
        *,
        full: bool = False,
        row_group_rows: int = 128 * 1024,
        file_rows: int = 2_000_000,
        videos_per_batch: int = 500,
        grace_s: float = 3600.0,
        min_age_s: float | None = None,
    ) -> CompactionResult:
        """Rewrite `table` into a new compacted generation (a few files, row groups of whole videos, sorted by
        video_id) and make it live; see the module docstring for why readers stay correct.

        With a previous generation of the current format, the new one is that generation's rows minus the videos
        the journal names since its window, plus those videos' own files: no listing of the table. The first
        compaction, one after a format-1 generation, and `full=True` list every per-video file and read each (a
        reconciliation: files that reached the table without `write_video` are found only so).
        `min_age_s` (default 1 s on local disk, 0 on S3): per-video files modified more recently than this are
        left out (read from their own files; the journal names them). Generations other than the new and the
        previous one are deleted once older than `grace_s`; journal markers no kept generation needs are deleted.
        """
        started = time.time()
        if min_age_s is None:
            min_age_s = self.store.token_settle_s
        if min_age_s > JOURNAL_MARGIN_S / 2:
            raise ValueError(f"min_age_s={min_age_s}: videos left out must still be in the journal's window "
                             f"(JOURNAL_MARGIN_S={JOURNAL_MARGIN_S})")
        current = self._load_current(table)
        incremental = bool(current and current["format"] == MANIFEST_FORMAT and not full)
        window = journal_position(datetime.fromtimestamp(started - JOURNAL_MARGIN_S, UTC))
        # The journal first, then the table: a change after this listing leaves a marker it did not see.
        markers = self._journal_since(min(window, current["journal_from"]) if incremental and current else window)
        generation = _new_generation()
        writer = _GenerationWriter(self.store, f"{compacted_prefix(table)}/{generation}", SCHEMAS[table], file_rows)
        sort_keys = [("video_id", "ascending")] + [(key, "ascending") for key in SORT_KEYS[table]]
        settled_before = started - min_age_s
        if incremental and current:
            changed = _changed_since(current, markers)
            recent, failed = self._compact_from_previous(
                table, current, sorted(changed), writer, sort_keys, settled_before, videos_per_batch, row_group_rows)
        else:
            changed = set()
            recent, failed = self._compact_by_listing(
                table, current if not full else None, writer, sort_keys, settled_before, videos_per_batch,
                row_group_rows)
        files = writer.close()
        pending = sorted(recent | failed)  # not in this generation: its readers read them from their own files
        settled = {vid: n for vid, n in _settled(m for m in markers if m.key > window).items() if vid not in pending}
        previous = current["generation"] if current else None
        manifest = {
            "format": MANIFEST_FORMAT,
            "table": table,
            "schema_version": SCHEMA_VERSION,
            "generation": generation,
            "previous": previous,
            "created_at": datetime.now(UTC).isoformat(),
            "started_at": datetime.fromtimestamp(started, UTC).isoformat(),
            # Readers count the journal's markers after this key per video and compare with `settled`.
            "journal_from": window,
            "previous_journal_from": current.get("journal_from") if current else None,
            "settled": settled,
            "pending": pending,
            "rows": sum(f["rows"] for f in files),
            "videos": sum(group[2] for f in files for group in f["row_groups"]),
            "files": files,
        }
        self.store.put_bytes(current_key(table), json.dumps(manifest).encode())
        removed = self._collect_garbage(table, keep={generation, previous}, grace_s=grace_s)
        pruned = self._prune_journal()
        return CompactionResult(
            table=table, generation=generation, files=[f["key"] for f in files], videos=manifest["videos"],
            rows=manifest["rows"], skipped_recent=len(recent), skipped_changed=len(failed),
            removed_generations=removed, seconds=round(time.time() - started, 3), incremental=incremental,
            changed=len(changed), pruned_markers=pruned,
        )

    def _compact_by_listing(self, table: str, current: dict[str, Any] | None, writer: _GenerationWriter,
                            sort_keys: list[tuple[str, str]], settled_before: float, videos_per_batch: int,
                            row_group_rows: int) -> tuple[set[str], set[str]]:
        """Every listed video, in batches of `videos_per_batch` (a format-1 generation's rows reused where its
        tokens still match); returns the videos left out: (too recent, changed while read)."""
        snap = self._listing_snapshot(table, current)
        recent = {
            vid for vid, infos in snap.live.items()
            if vid not in snap.covered and any(info.mtime > settled_before for info in infos)
        }
        eligible = sorted(set(snap.live) - recent)
        changed: set[str] = set()
        for start in range(0, len(eligible), videos_per_batch):
            batch = eligible[start:start + videos_per_batch]
            expr = (pc.field("video_id") >= batch[0]) & (pc.field("video_id") <= batch[-1])
            # Only this batch's per-video files (a dataset of every file per batch made compaction quadratic in
            # the video count); the compacted files are pruned to the batch's range by row-group statistics.
            source = self.dataset(table, _batch_snapshot(snap, batch))
            try:
                rows = source.to_table(filter=expr)
            except (OSError, pa.ArrowException) as err:
                if not is_changed_file_error(err):
                    raise
                # A video of the batch was re-written meanwhile (the journal names it after this generation's
                # start): read the batch video by video and leave out only those. A video left out without a
                # marker would be invisible to this generation's readers.
                rows, lost = self._read_own_files(table, {vid: snap.live[vid] for vid in batch})
                changed.update(lost)
            _write_row_groups(writer, rows.sort_by(sort_keys), row_group_rows)
        return recent, changed

    def _compact_from_previous(self, table: str, previous: dict[str, Any], ids: list[str],
                               writer: _GenerationWriter, sort_keys: list[tuple[str, str]], settled_before: float,
                               videos_per_batch: int, row_group_rows: int) -> tuple[set[str], set[str]]:
        """The previous generation's row groups in order, each minus the videos `ids` (changed since it was built),
        merged with those videos' own files; memory: one row group and one batch. Returns the videos left out:
        (too recent, changed while read)."""
        files = self._changed_files(table, ids, previous["videos"])
        recent = {vid for vid, infos in files.items() if any(info.mtime > settled_before for info in infos)}
        todo = [vid for vid in ids if vid in files and vid not in recent]
        failed: list[str] = []
        fs = self.store.arrow_filesystem()
        schema = SCHEMAS[table]
        done = 0  # todo[:done] are written

        def own_files(until: int) -> list[pa.Table]:
            nonlocal done
            out = []
            for start in range(done, until, videos_per_batch):
                batch = todo[start:min(start + videos_per_batch, until)]
                rows, lost = self._read_own_files(table, {vid: files[vid] for vid in batch})
                failed.extend(lost)  # re-written meanwhile: the journal names them after this generation's start
                out.append(rows)
            done = max(done, until)
            return out

        last = ""
        for entry in previous["files"]:
            path = self.store.arrow_path(entry["key"])
            for i, (low, high, _) in enumerate(entry["row_groups"]):
                if low <= last:
                    raise WarehouseError(f"{table}: generation {previous['generation']} is not sorted by video_id; "
                                         "run compact(full=True)")
                last = high
                for rows in own_files(bisect_left(todo, low)):
                    _write_row_groups(writer, rows.sort_by(sort_keys), row_group_rows)
                gone = ids[bisect_left(ids, low):bisect_right(ids, high)]
                group = ds.FileSystemDataset([self._format.make_fragment(path, fs, row_groups=[i])], schema,
                                             self._format, fs)
                kept = group.to_table(filter=~pc.field("video_id").isin(pa.array(gone, pa.string())) if gone else None)
                merged = pa.concat_tables([kept, *own_files(bisect_right(todo, high))])
                _write_row_groups(writer, merged.sort_by(sort_keys), row_group_rows)
        for rows in own_files(len(todo)):
            _write_row_groups(writer, rows.sort_by(sort_keys), row_group_rows)
        return recent, set(failed)

    def _read_own_files(self, table: str, files: dict[str, list[ObjectInfo]]) -> tuple[pa.Table, list[str]]:
        """The rows of these videos from their own files, each read pinned; videos whose file changed since it
        was listed are left out and returned."""
        def read(vid: str) -> list[bytes] | None:
            try:
                return [self.store.read_pinned(info) for info in files[vid]]
            except FileChangedError:
                return None

        with ThreadPoolExecutor(max_workers=self.store.read_concurrency) as pool:
            bodies = dict(zip(files, pool.map(read, files), strict=True))
        fragments = [self._format.make_fragment(pa.BufferReader(_arrow_owned(body)),
                                                partition_expression=_partition(vid))
                     for vid, got in bodies.items() if got is not None for body in got]
        rows = ds.FileSystemDataset(fragments, SCHEMAS[table], self._format, None).to_table()
        return rows, [vid for vid, got in bodies.items() if got is None]

    def _prune_journal(self) -> int:
        """Delete markers older than `JOURNAL_KEEP_S` and than the window of every table's live and previous
        generation (a reader that loaded the previous CURRENT.json still lists from its window)."""
        cutoff = journal_position(datetime.fromtimestamp(time.time() - JOURNAL_KEEP_S, UTC))
        for table in TABLES:
            current = self._load_current(table)
            if current and current["format"] == MANIFEST_FORMAT:
                cutoff = min([cutoff, current["journal_from"], current.get("previous_journal_from") or cutoff])
        old = [info.key for info in self.store.list(journal_prefix()) if info.key < cutoff]
        return self.store.delete(old) if old else 0

    def compact_all(self, **options: Any) -> dict[str, CompactionResult]:
        return {name: self.compact(name, **options) for name in TABLES}

    def _collect_garbage(self, table: str, keep: set[str | None], grace_s: float) -> list[str]:
        now = time.time()
        by_generation: dict[str, list[ObjectInfo]] = {}
        base = compacted_prefix(table)
        # Temp files a crashed compaction left go with their generation.
        listing = self.store.list(base) + self.store.list_leftovers(base, older_than_s=0)
        for info in listing:
            rest = info.key[len(base) + 1:]
            if "/" in rest:
                by_generation.setdefault(rest.split("/", 1)[0], []).append(info)
        removed = []
        for generation, infos in sorted(by_generation.items()):
            if generation in keep:
                continue
            born = _generation_time(generation)
            if born is None:
                born = max(info.mtime for info in infos)
            if now - born >= grace_s:
                self.store.delete(info.key for info in infos)
                removed.append(generation)
        return removed


class _GenerationWriter:
    """Streams row groups into `part-NNNNN.parquet` files of at most ~`file_rows` rows; each file is published
    with one PUT (S3) or rename (local) when complete."""

    def __init__(self, store: Store, prefix: str, schema: pa.Schema, file_rows: int) -> None:
        self.store, self.prefix, self.schema, self.file_rows = store, prefix, schema, file_rows
        self.files: list[dict[str, Any]] = []
        self._writer: pq.ParquetWriter | None = None
        self._file: AtomicWriter | None = None
        self._key = ""
        self._rows = 0
        self._groups: list[list[Any]] = []
        self._pending: list[pa.Table] = []
        self._pending_rows = 0

    def _open(self) -> None:
        self._key = f"{self.prefix}/part-{len(self.files):05d}.parquet"
        self._file = self.store.atomic_writer(self._key)
        self._writer = pq.ParquetWriter(self._file.sink, self.schema, **COMPACTED_PARQUET_OPTIONS)
        self._rows = 0
        self._groups = []

    def add(self, rows: pa.Table, row_group_rows: int) -> None:
        """Queue rows (sorted by video_id, whole videos, after every video queued before) and write each row group
        once it holds `row_group_rows` rows: cut at video boundaries found with one run-end encoding, no Python
        work per video (a million one-row videos cost minutes that way)."""
        if rows.num_rows == 0:
            return
        self._pending.append(rows)
        self._pending_rows += rows.num_rows
        if self._pending_rows < row_group_rows:
            return
        table = pa.concat_tables(self._pending)
        runs = pc.run_end_encode(table.column("video_id").combine_chunks())
        ends = np.asarray(runs.run_ends)
        row, run = 0, 0
        while (cut := int(np.searchsorted(ends, row + row_group_rows, side="left"))) < len(ends):
            self.write_group(table.slice(row, int(ends[cut]) - row), runs.values[run].as_py(),
                             runs.values[cut].as_py(), cut - run + 1)
            row, run = int(ends[cut]), cut + 1
        tail = table.slice(row)
        self._pending, self._pending_rows = ([tail] if tail.num_rows else []), tail.num_rows

    def _flush_pending(self) -> None:
        if self._pending_rows:
            table = pa.concat_tables(self._pending)
            runs = pc.run_end_encode(table.column("video_id").combine_chunks())
            self.write_group(table, runs.values[0].as_py(), runs.values[-1].as_py(), len(runs.values))
        self._pending, self._pending_rows = [], 0

    def write_group(self, rows: pa.Table, first: str, last: str, videos: int) -> None:
        """One row group of `videos` whole videos, `first` to `last` by id."""
        if self._writer is None:
            self._open()
        assert self._writer is not None
        self._writer.write_table(rows, row_group_size=max(rows.num_rows, 1))
        self._rows += rows.num_rows
        self._groups.append([first, last, videos])
        if self._rows >= self.file_rows:
            self._finish()

    def _finish(self) -> None:
        if self._writer is None:
            return
        self._writer.close()
        assert self._file is not None
        self._file.commit()
        self.files.append({"key": self._key, "rows": self._rows, "row_groups": self._groups})
        self._writer = None
        self._file = None

    def close(self) -> list[dict[str, Any]]:
        self._flush_pending()
        self._finish()
        return self.files


def _write_row_groups(writer: _GenerationWriter, rows: pa.Table, row_group_rows: int) -> None:
    """Cut `rows` (sorted by video_id) into row groups of whole videos with about `row_group_rows` rows each;
    the tail is held back and continued by the next call (or flushed by `writer.close()`)."""
    writer.add(rows, row_group_rows)


def _arrow_owned(body: bytes) -> pa.Buffer:
    """`body` copied into Arrow's memory. A buffer backed by the Python bytes would be released on one of pyarrow's
    scan threads, possibly after the interpreter began to exit, which aborts the process (`terminate called without
    an active exception`)."""
    out = pa.BufferOutputStream()
    out.write(body)
    return out.getvalue()
