"""The Parquet warehouse under one storage root: per-video writes, compaction, pyarrow datasets and DuckDB views.

Layout (`<root>` is a local folder or `s3://bucket[/prefix]`):

    <root>/warehouse/<table>/video_id=<id>/part-0.parquet          the source of truth, one file per video and table
    <root>/warehouse/_compacted/<table>/CURRENT.json               which compacted generation is live, and what
                                                                   per-video file versions it holds
    <root>/warehouse/_compacted/<table>/<generation>/part-NNNNN.parquet

Writes. `write_video(video_id, tables)` writes each table's rows for that video as one Parquet file, atomically
(S3: built in memory, one PUT; local: written beside under a hidden `.tmp-` name and renamed), then deletes that
video's files in tables where it now has no rows. Nothing else is touched, so concurrent runs for different videos
never conflict and re-materializing a video leaves exactly one copy of its rows. A reader sees, per file, either the
old or the new version, never a partial file. Across tables a reader may briefly see the new `segments` with the
old `videos` row; `videos` is written last so a video's row appears after its detail rows.

Reads. `dataset(table)` / `connect()` list once (a snapshot) and read every per-video file whole, pinned to the
listed version (`Store.read_pinned`), or fail with FileChangedError, which `run_query` and `read_table` answer by
listing again. Plain pyarrow would mix versions of a file replaced mid-read: it reuses a cached footer on a second
scan, and reads S3 objects with several ranged GETs (both reproduced here; see `SnapshotDataset`).

Compaction. Reading 10,000 small files per table is slow, so `compact(table)` copies the rows of every per-video
file into a few large files (sorted by video_id, each row group holding whole videos) and records in
`CURRENT.json` the *token* (S3 ETag, local size/mtime/inode) of each per-video file it copied. Per-video files are
never modified by compaction; they stay the source of truth. A reader (`dataset()`, `connect()`) lists the
per-video files and, for each video, uses the compacted copy only when the video's current files have exactly
the recorded tokens; a video rewritten or deleted since (or one whose row group holds such a video) is read from
its per-video files instead, and compacted row groups with stale videos are skipped (Parquet row-group subsets,
no row filter). Hence:

- per-video replace semantics hold after compaction with no extra work for writers;
- readers are correct before, during and after a compaction: `CURRENT.json` is replaced with one PUT/rename
  only after every file of the new generation is complete, and the previous generation is kept (older ones are
  deleted once `grace_s` old), so a reader that loaded the previous `CURRENT.json` can still read its files;
- tools reading the raw layout (`read_parquet('<root>/warehouse/segments/*/*.parquet', hive_partitioning=true)`)
  never see compacted files and stay correct, only slower.

The trade-off: the compacted copy doubles the warehouse's storage (Parquet of text and numbers, small next to the
videos), and every reader lists the per-video files of the tables it reads (10 LIST pages per 10,000 videos on S3).
On a local root `connect()` reads compacted files with DuckDB's own Parquet reader (faster than through Arrow).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from vidassets.analytics.schemas import SCHEMA_VERSION, SCHEMAS, TABLES, schema_for
from vidassets.storage import FileChangedError, ObjectInfo, Store
from vidassets.storage.base import AtomicWriter
from vidassets.storage.layout import (
    PART_FILE,
    compacted_prefix,
    current_key,
    table_prefix,
    video_file_key,
    video_prefix,
)
from vidassets.video_ids import is_video_id

MANIFEST_FORMAT = 1
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
    listed version (`Warehouse._fresh_dataset`), or raises FileChangedError.

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
        fresh = warehouse._fresh_dataset(snap, compacted, filter)
        return fresh.scanner(columns=columns, filter=filter, **kwargs)


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


@dataclass
class TableSnapshot:
    """What a reader of one table sees at one moment: the per-video files, the live compacted generation and
    which videos are served from it. `dataset()` turns it into a pyarrow dataset."""

    table: str
    live: dict[str, list[ObjectInfo]]  # video_id -> per-video files
    current: dict[str, Any] | None  # CURRENT.json of the compacted generation, if any (and of this schema)
    covered: set[str] = field(default_factory=set)  # videos read from compacted files
    compacted_fragments: list[tuple[str, list[int] | None]] = field(default_factory=list)  # (key, row groups)

    @property
    def video_ids(self) -> list[str]:
        return sorted(self.live)

    @property
    def live_files(self) -> list[str]:
        """Per-video files read directly (videos not covered by the compacted generation)."""
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
        for name in WRITE_ORDER:
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
        return written

    def delete_video(self, video_id: str) -> int:
        """Remove every row of `video_id` from every table; returns how many files were deleted."""
        _check_video_id(video_id)
        keys = [info.key for name in reversed(WRITE_ORDER) for info in self._video_files(name, video_id)]
        return self.store.delete(keys) if keys else 0

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
        if (current.get("format") != MANIFEST_FORMAT or current.get("table") != table
                or current.get("schema_version") != SCHEMA_VERSION):
            return None  # written by another schema version: ignore it, the per-video files are the truth
        return current

    def snapshot(self, table: str) -> TableSnapshot:
        """List `table` once and decide, per video, whether its compacted copy is current."""
        schema_for(table)
        live = self._list_live(table)
        current = self._load_current(table)
        snap = TableSnapshot(table=table, live=live, current=current)
        if not current:
            return snap
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

    def _fresh_dataset(self, snap: TableSnapshot, compacted: bool, filter: pc.Expression | None) -> ds.Dataset:  # noqa: A002
        """New fragments for one scan. Compacted files are immutable: pyarrow reads them directly. Per-video files
        can be replaced at any moment, so the ones the filter needs are read whole, each exactly in the listed
        version (`Store.read_pinned`: same inode/size/mtime locally, If-Match on the listed ETag on S3) or not at all
        (FileChangedError, and queries list again). pyarrow's own reads could otherwise mix two versions of a file
        (its cached footer locally, its ranged GETs on S3) and two scans of one query could see different versions.
        """
        schema = SCHEMAS[snap.table]
        fs = self.store.arrow_filesystem()
        packed = self._compacted_fragments(snap) if compacted else []
        by_path = {self.store.arrow_path(info.key): (vid, info) for vid, info in _live_files(snap)}
        if not by_path:
            return ds.FileSystemDataset(packed, schema, self._format, fs)
        candidates = [self._format.make_fragment(path, fs, partition_expression=_partition(vid))
                      for path, (vid, _) in by_path.items()]
        wanted = ds.FileSystemDataset(candidates, schema, self._format, fs).get_fragments(filter=filter)
        pins = [by_path[fragment.path] for fragment in wanted]  # pruned by video_id, no file opened
        with ThreadPoolExecutor(max_workers=self.store.read_concurrency) as pool:
            bodies = list(pool.map(lambda pin: self.store.read_pinned(pin[1]), pins))
        live = [self._format.make_fragment(pa.BufferReader(_arrow_owned(body)), partition_expression=_partition(vid))
                for (vid, _), body in zip(pins, bodies, strict=True)]
        if packed:
            return ds.dataset([ds.FileSystemDataset(packed, schema, self._format, fs),
                               ds.FileSystemDataset(live, schema, self._format, None)])
        return ds.FileSystemDataset(live, schema, self._format, None)

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
        for name in tables if tables is not None else TABLES:
            snap = self.snapshot(name)
            paths = [self.store.local_path(key) for key, _ in snap.compacted_fragments]
            if engine == "arrow" or not paths or None in paths:
                con.register(name, self.dataset(name, snap))
                continue
            # Whole compacted files minus the videos they no longer serve (the arrow path skips row groups).
            files = ", ".join(_sql_string(str(path)) for path in paths)
            excluded = sorted(set(snap.current["videos"] if snap.current else ()) - snap.covered)
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
        row_group_rows: int = 128 * 1024,
        file_rows: int = 2_000_000,
        videos_per_batch: int = 500,
        grace_s: float = 3600.0,
        min_age_s: float | None = None,
    ) -> CompactionResult:
        """Rewrite `table` into a new compacted generation (a few files, row groups of whole videos, sorted by
        video_id) and make it live; see the module docstring for why readers stay correct.

        `min_age_s` (default 1 s on local disk, 0 on S3): per-video files modified more recently than this are
        left out (read from their own files), so a rewrite in the same clock tick can never share a token.
        Generations other than the new and the previous one are deleted once older than `grace_s`.
        """
        started = time.time()
        snap = self.snapshot(table)
        if min_age_s is None:
            min_age_s = self.store.token_settle_s
        recent = {
            vid for vid, infos in snap.live.items()
            if vid not in snap.covered and any(info.mtime > started - min_age_s for info in infos)
        }
        eligible = sorted(set(snap.live) - recent)
        generation = _new_generation()
        prefix = f"{compacted_prefix(table)}/{generation}"
        writer = _GenerationWriter(self.store, prefix, SCHEMAS[table], file_rows)
        sort_keys = [("video_id", "ascending")] + [(key, "ascending") for key in SORT_KEYS[table]]
        changed: set[str] = set()
        for start in range(0, len(eligible), videos_per_batch):
            batch = eligible[start:start + videos_per_batch]
            expr = (pc.field("video_id") >= batch[0]) & (pc.field("video_id") <= batch[-1])
            # Only this batch's per-video files (a dataset of every file per batch made compaction quadratic in
            # the video count); the compacted files are pruned to the batch's range by row-group statistics.
            source = self.dataset(table, _batch_snapshot(snap, batch))
            try:
                rows = source.to_table(filter=expr).sort_by(sort_keys)
            except (OSError, pa.ArrowException) as err:
                if not is_changed_file_error(err):
                    raise
                changed.update(batch)  # re-written meanwhile: these stay per-video until the next compaction
                continue
            _write_row_groups(writer, rows, row_group_rows)
        files = writer.close()
        eligible = [vid for vid in eligible if vid not in changed]
        tokens = {vid: _video_token(snap.live[vid]) for vid in eligible}
        previous = snap.current["generation"] if snap.current else None
        current = {
            "format": MANIFEST_FORMAT,
            "table": table,
            "schema_version": SCHEMA_VERSION,
            "generation": generation,
            "previous": previous,
            "created_at": datetime.now(UTC).isoformat(),
            "rows": sum(f["rows"] for f in files),
            "videos": tokens,
            "files": files,
        }
        self.store.put_bytes(current_key(table), json.dumps(current).encode())
        removed = self._collect_garbage(table, keep={generation, previous}, grace_s=grace_s)
        return CompactionResult(
            table=table, generation=generation, files=[f["key"] for f in files], videos=len(eligible),
            rows=current["rows"], skipped_recent=len(recent), skipped_changed=len(changed), removed_generations=removed,
            seconds=round(time.time() - started, 3),
        )

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
        self._groups: list[list[str]] = []
        self._pending: list[pa.Table] = []
        self._pending_videos: list[str] = []
        self._pending_rows = 0

    def _open(self) -> None:
        self._key = f"{self.prefix}/part-{len(self.files):05d}.parquet"
        self._file = self.store.atomic_writer(self._key)
        self._writer = pq.ParquetWriter(self._file.sink, self.schema, **COMPACTED_PARQUET_OPTIONS)
        self._rows = 0
        self._groups = []

    def add_video(self, rows: pa.Table, video_id: str, row_group_rows: int) -> None:
        """Queue one video's rows; a row group is written once the queue holds `row_group_rows` rows."""
        self._pending.append(rows)
        self._pending_videos.append(video_id)
        self._pending_rows += rows.num_rows
        if self._pending_rows >= row_group_rows:
            self._flush_pending()

    def _flush_pending(self) -> None:
        if self._pending_videos:
            self.write_group(pa.concat_tables(self._pending), self._pending_videos)
        self._pending, self._pending_videos, self._pending_rows = [], [], 0

    def write_group(self, rows: pa.Table, video_ids: list[str]) -> None:
        if self._writer is None:
            self._open()
        assert self._writer is not None
        self._writer.write_table(rows, row_group_size=max(rows.num_rows, 1))
        self._rows += rows.num_rows
        self._groups.append(video_ids)
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
    if rows.num_rows == 0:
        return
    runs = pc.run_end_encode(rows.column("video_id").combine_chunks())
    start = 0
    for end, vid in zip(runs.run_ends.to_pylist(), runs.values.to_pylist(), strict=True):
        writer.add_video(rows.slice(start, end - start), vid, row_group_rows)
        start = end


def _arrow_owned(body: bytes) -> pa.Buffer:
    """`body` copied into Arrow's memory. A buffer backed by the Python bytes would be released on one of pyarrow's
    scan threads, possibly after the interpreter began to exit, which aborts the process (`terminate called without
    an active exception`)."""
    out = pa.BufferOutputStream()
    out.write(body)
    return out.getvalue()
