"""The warehouse on local disk and on a real S3 server: joins, per-video replace, atomic files, compaction."""

from __future__ import annotations

import copy
import json
import threading
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from vidassets.analytics import warehouse as warehouse_module
from vidassets.analytics.examples import EXAMPLES
from vidassets.analytics.query import run_query
from vidassets.analytics.rows import video_tables
from vidassets.analytics.schemas import SCHEMA_VERSION, SCHEMAS, TABLES
from vidassets.analytics.warehouse import (
    Warehouse,
    WarehouseError,
    _GenerationWriter,
    _video_token,
    _write_row_groups,
    conform,
    is_changed_file_error,
)
from vidassets.storage import Store
from vidassets.storage.layout import (
    CURRENT_FILE,
    compacted_prefix,
    current_key,
    journal_prefix,
    parse_journal_marker,
    video_file_key,
)
from vidassets.storage.local import LocalStore
from vidassets.storage.s3 import S3Store
from vidassets_tests.analytics import manifests as m
from vidassets_tests.analytics.conftest import PROCESSED_AT, load
from vidassets_tests.stores import store


def _all_examples(wh: Warehouse, engine: str = "auto") -> dict[str, pa.Table]:
    con = wh.connect(engine=engine)
    return {name: con.sql(sql).to_arrow_table() for name, sql in EXAMPLES.items()}


def _rows_per_video(wh: Warehouse, table: str) -> dict[str, int]:
    """Rows per video, checked to be the same through DuckDB's reader (compacted files) and pure pyarrow."""
    sql = f"SELECT video_id, count(*) FROM {table} GROUP BY ALL"
    counts = [dict(wh.connect([table], engine=engine).execute(sql).fetchall()) for engine in ("auto", "arrow")]
    assert counts[0] == counts[1], counts
    return counts[0]


def _rewritten_approved() -> dict[str, pa.Table]:
    """The approved video re-processed with a different result: 3 segments instead of 5, new text."""
    parts = m.approved_manifests()
    diarized = parts["diarized_transcript"]
    diarized["segments"] = diarized["segments"][:3]
    diarized["segments"][0]["text"] = "Welcome to the REVISED quarterly planning review."
    parts["transcript"]["segments"] = parts["transcript"]["segments"][:3]
    return video_tables(**parts, processed_at="2025-06-01T00:00:00+00:00")


# --------------------------------------------------------------------------------------------- reads and joins

def test_layout_is_hive_partitioned_per_video(loaded: Warehouse):
    listed = sorted(info.key for info in loaded.store.list("warehouse"))
    keys = [key for key in listed if not key.startswith(f"{journal_prefix()}/")]
    # Beside the tables, the change journal: a marker before and one after each write_video call.
    marked = [parse_journal_marker(key) for key in listed if key.startswith(f"{journal_prefix()}/")]
    assert sorted((marker.video_id, marker.kind) for marker in marked if marker) == sorted(
        (vid, kind) for vid in (m.APPROVED, m.REJECTED, m.FAILED) for kind in "be")
    expected = sorted(
        f"warehouse/{table}/video_id={vid}/part-0.parquet"
        # run_costs rows come from the Dagster instance, not from manifests (test_costs.py); the corpus has no
        # shots/faces/screen_text manifests (their rows: vidassets_tests/assets/test_shots.py, test_screen_text.py);
        # text_embeddings come from the video_tables asset (vidassets_tests/search/), voice_registry rows from the
        # speaker registry
        for vid, tables in {m.APPROVED: [t for t in TABLES if t not in ("run_costs", "shots", "faces", "screen_text",
                                                                        "text_embeddings", "voice_registry")],
                            m.REJECTED: ("videos", "moderation_frames"), m.FAILED: ("videos",)}.items()
        for table in tables
    )
    assert keys == expected
    assert loaded.video_ids() == sorted([m.APPROVED, m.REJECTED, m.FAILED])


def test_duckdb_joins_across_three_videos(loaded: Warehouse):
    con = loaded.connect()
    rows = con.execute("""
        SELECT v.video_id, v.status, count(DISTINCT s.speaker) AS speakers, count(DISTINCT seg.segment_index) AS segs,
               (SELECT count(*) FROM moderation_frames f WHERE f.video_id = v.video_id) AS frames,
               any_value(su.title) AS title
        FROM videos v
        LEFT JOIN speakers s USING (video_id)
        LEFT JOIN segments seg USING (video_id)
        LEFT JOIN summaries su USING (video_id)
        GROUP BY v.video_id, v.status ORDER BY v.video_id
    """).fetchall()
    assert rows == sorted([
        (m.APPROVED, "approved", 2, 5, 5, "Quarterly planning review"),
        (m.REJECTED, "rejected", 0, 0, 4, None),
        (m.FAILED, "failed", 0, 0, 0, None),
    ])
    words = con.execute("""
        SELECT w.speaker, count(*) FROM words w JOIN segments s USING (video_id, segment_index)
        WHERE w.speaker = s.speaker GROUP BY ALL ORDER BY 1""").fetchall()
    assert words == [("SPEAKER_00", 28), ("SPEAKER_01", 15)]
    described = dict(con.execute("DESCRIBE videos").fetchall() and
                     [(r[0], r[1]) for r in con.execute("DESCRIBE videos").fetchall()])
    assert described["processed_at"] == "TIMESTAMP WITH TIME ZONE" and described["speakers"] == "INTEGER"


def test_dataset_is_a_pyarrow_dataset_with_partition_pruning(loaded: Warehouse):
    dataset = loaded.dataset("moderation_frames")
    assert isinstance(dataset, ds.Dataset) and dataset.schema.equals(SCHEMAS["moderation_frames"])
    only = dataset.to_table(filter=pc.field("video_id") == m.REJECTED)
    assert only.num_rows == 4
    fragments = list(dataset.get_fragments(filter=pc.field("video_id") == m.REJECTED))
    assert len(fragments) == 1  # pruned by the hive partition expression, no file opened
    assert loaded.read_video(m.APPROVED)["words"].num_rows == 43
    # The empty table still has its schema.
    assert loaded.dataset("summaries").to_table(filter=pc.field("video_id") == m.FAILED).num_rows == 0


def test_raw_layout_reads_with_duckdb_and_pyarrow_hive_partitioning(loaded: Warehouse):
    fs = loaded.store.arrow_filesystem()
    base = loaded.store.arrow_path("warehouse/segments")
    raw = ds.dataset(base, filesystem=fs, format="parquet", partitioning="hive").to_table()
    assert raw.num_rows == 5 and set(raw.column("video_id").to_pylist()) == {m.APPROVED}
    if not isinstance(loaded.store, S3Store):
        got = duckdb.execute(
            f"SELECT video_id, count(*) FROM read_parquet('{base}/*/*.parquet', hive_partitioning = true) GROUP BY 1"
        ).fetchall()
        assert got == [(m.APPROVED, 5)]


def test_files_carry_schema_descriptions(loaded: Warehouse):
    data = loaded.store.get_bytes(video_file_key("videos", m.APPROVED))
    schema = pq.read_schema(pa.BufferReader(data))
    assert schema.field("duration_s").metadata[b"unit"] == b"s"
    assert b"description" in schema.field("status").metadata


def test_empty_warehouse_has_empty_views(root):
    con = Warehouse(store(root)).connect()
    for table in TABLES:
        assert con.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)


# --------------------------------------------------------------------------------------------- writes

def test_rewriting_a_video_leaves_exactly_one_copy(loaded: Warehouse, corpus_tables):
    before_other = {t: loaded.read_video(m.REJECTED)[t] for t in TABLES}
    for _ in range(2):
        loaded.write_video(m.APPROVED, _rewritten_approved())
    assert _rows_per_video(loaded, "segments") == {m.APPROVED: 3}
    assert _rows_per_video(loaded, "videos") == {m.APPROVED: 1, m.REJECTED: 1, m.FAILED: 1}
    con = loaded.connect()
    assert con.execute("SELECT text FROM segments WHERE segment_index = 0").fetchall() == [
        ("Welcome to the REVISED quarterly planning review.",)]
    assert con.execute(f"SELECT processed_at::VARCHAR FROM videos WHERE video_id = '{m.APPROVED}'").fetchone() == (
        "2025-06-01 00:00:00+00",)
    assert all(loaded.read_video(m.REJECTED)[t].equals(before_other[t]) for t in TABLES)
    assert len(loaded.store.list(f"warehouse/segments/video_id={m.APPROVED}")) == 1


def test_rewrite_as_rejected_removes_speech_tables(loaded: Warehouse):
    parts = m.approved_manifests()
    parts["moderation"] = {**parts["moderation"], "verdict": "rejected", "reasons": ["policy changed"]}
    written = loaded.write_video(m.APPROVED, video_tables(**parts))
    assert written == {"moderation_frames": 5, "segments": 0, "words": 0, "speakers": 0, "voices": 0, "summaries": 0,
                       "text_moderation": 0, "run_costs": 0, "shots": 0, "faces": 0, "screen_text": 0,
                       "text_embeddings": 0, "videos": 1}
    for table in ("segments", "words", "speakers", "voices", "summaries", "text_moderation"):
        assert loaded.store.list(f"warehouse/{table}/video_id={m.APPROVED}") == []
        assert loaded.connect([table]).execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
    if not isinstance(loaded.store, S3Store):  # no empty video_id=… folders left behind
        assert not (Path(loaded.root) / "warehouse" / "segments" / f"video_id={m.APPROVED}").exists()


def test_delete_video(loaded: Warehouse):
    assert loaded.delete_video(m.APPROVED) == 8  # one file per table with rows (all but run_costs)
    assert loaded.video_ids() == sorted([m.REJECTED, m.FAILED])
    assert all(t.num_rows == 0 for t in loaded.read_video(m.APPROVED).values())
    assert loaded.delete_video(m.APPROVED) == 0


def test_write_validation_writes_nothing_on_error(root, corpus_tables):
    wh = Warehouse(store(root))
    tables = corpus_tables[m.APPROVED]
    with pytest.raises(WarehouseError, match="unsafe video id"):
        wh.write_video("../escape", tables)
    with pytest.raises(WarehouseError, match="rows for video ids"):
        wh.write_video(m.REJECTED, tables)
    with pytest.raises(WarehouseError, match="unknown tables"):
        wh.write_video(m.APPROVED, {**tables, "frames": tables["videos"]})
    with pytest.raises(WarehouseError, match="unknown columns"):
        wh.write_video(m.APPROVED, {"videos": tables["videos"].append_column("extra", pa.array([1]))})
    bad = tables["segments"].set_column(tables["segments"].schema.get_field_index("text"), "text",
                                        pa.array([None] * 5, pa.string()))
    with pytest.raises(WarehouseError, match="must not be null"):
        wh.write_video(m.APPROVED, {"segments": bad})
    assert wh.store.list("warehouse") == []
    # Missing nullable columns are filled; columns may come in any order.
    slim = tables["speakers"].select(["speaker", "video_id", "talk_time_s"])
    assert wh.write_video(m.APPROVED, {"speakers": slim})["speakers"] == 2
    got = wh.read_table("speakers")
    assert got.column("turns").to_pylist() == [None, None]
    assert got.column("schema_version").to_pylist() == [SCHEMA_VERSION] * 2


def test_s3_writes_are_one_put_per_file(s3_root, corpus_tables):
    """Atomicity on S3: every file is a single PutObject (no multipart upload, nothing written in pieces)."""
    wh = Warehouse(store(s3_root))
    calls: list[str] = []
    wh.store.client.meta.events.register("before-call.s3", lambda model, **_: calls.append(model.name))
    wh.write_video(m.APPROVED, corpus_tables[m.APPROVED])
    assert calls.count("PutObject") == 8 + 2  # one per table with rows, and a journal marker before and after
    assert not {c for c in calls if "Multipart" in c or c == "UploadPart"}
    calls.clear()
    wh.write_video(m.REJECTED, corpus_tables[m.REJECTED])
    assert calls.count("PutObject") == 2 + 2


def _version(tag: str, rows: int) -> pa.Table:
    texts = [f"{tag} {i} " + "lorem ipsum " * (i % 7) for i in range(rows)]
    return pa.table({"video_id": [m.APPROVED] * rows, "segment_index": list(range(rows)),
                     "start_s": [float(i) for i in range(rows)], "end_s": [i + 0.5 for i in range(rows)],
                     "speaker": ["SPEAKER_00"] * rows, "text": texts, "word_count": [3] * rows})


def test_readers_never_see_a_half_written_file(root):
    """A reader thread scans the video's file (pyarrow dataset, DuckDB self-join = two scans) while a writer keeps
    replacing it with versions of different sizes. Every read is one complete version, or a clean
    FileChangedError ("changed since it was listed") that run_query/read_table retry: never a mixed or torn file."""
    wh = Warehouse(store(root))
    versions = {"A": _version("A", 20_000), "B": _version("B", 35_000)}
    wh.write_video(m.APPROVED, {"segments": versions["A"]})
    done = threading.Event()
    seen: list[tuple[int, frozenset]] = []
    changed: list[str] = []
    errors: list[str] = []
    self_join = "SELECT a.text FROM segments a JOIN segments b USING (segment_index) WHERE a.text = b.text"

    def check(table: pa.Table) -> None:
        seen.append((table.num_rows, frozenset(t.split(" ", 1)[0] for t in table.column("text").to_pylist())))

    def reader() -> None:
        while not done.is_set():
            dataset = wh.dataset("segments")
            for read in (dataset.to_table, dataset.to_table,  # the same dataset scanned twice
                         lambda: wh.connect(["segments"]).sql(self_join).to_arrow_table()):
                try:
                    check(read())
                except Exception as err:  # noqa: BLE001 - sorted below
                    (changed if is_changed_file_error(err) else errors).append(repr(err))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(24):
            wh.write_video(m.APPROVED, {"segments": versions["B" if i % 2 == 0 else "A"]})
    finally:
        done.set()
        thread.join()
    assert not errors, errors[:3]
    assert len(seen) >= 3
    assert set(seen) <= {(20_000, frozenset("A")), (35_000, frozenset("B"))}, set(seen)
    if not isinstance(wh.store, S3Store):
        assert not [p for p in Path(root).rglob(".tmp-*")], "temporary files left behind"


def test_a_dataset_scanned_after_its_file_was_replaced_fails_cleanly(root):
    """pyarrow alone would apply the cached footer of the old file to the new one; the snapshot refuses instead,
    and read_table / run_query list again and return the new version."""
    wh = Warehouse(store(root))
    wh.write_video(m.APPROVED, {"segments": _version("A", 2_000)})
    dataset = wh.dataset("segments")
    assert dataset.to_table().num_rows == 2_000
    wh.write_video(m.APPROVED, {"segments": _version("B", 3_000)})
    with pytest.raises(Exception, match="changed since it was listed"):
        dataset.to_table()
    assert wh.read_table("segments").num_rows == 3_000
    assert run_query(store(root), "SELECT count(*) AS n FROM segments")["n"].tolist() == [3_000]


# --------------------------------------------------------------------------------------------- compaction

def test_compaction_keeps_results_identical_and_uses_compacted_files(loaded: Warehouse):
    before = _all_examples(loaded)
    results = loaded.compact_all(min_age_s=0)
    assert {t: r.videos for t, r in results.items()} == {
        "videos": 3, "moderation_frames": 2, "segments": 1, "words": 1, "speakers": 1, "voices": 1, "summaries": 1,
        "text_moderation": 1, "run_costs": 0, "shots": 0, "faces": 0, "screen_text": 0, "text_embeddings": 0,
        "voice_registry": 0}
    for table in TABLES:
        snap = loaded.snapshot(table)
        # Every video written before the compaction is served from it: no per-video file is read, no row filtered.
        assert snap.live == {} and snap.excluded == [] and snap.row_filter == []
        assert snap.compacted_fragments == [(key, None) for key in results[table].files]
    for engine in ("auto", "arrow"):
        after = _all_examples(loaded, engine)
        assert all(after[name].equals(before[name]) for name in EXAMPLES), [
            n for n in EXAMPLES if not after[n].equals(before[n])]
    # Raw per-video files are untouched: the raw layout still reads the same rows.
    assert len(loaded.store.list("warehouse/videos")) == 3


def test_rewrite_and_delete_after_compaction_keep_per_video_semantics(loaded: Warehouse, corpus_tables):
    loaded.compact_all(min_age_s=0)
    loaded.write_video(m.APPROVED, _rewritten_approved())
    loaded.delete_video(m.REJECTED)
    assert _rows_per_video(loaded, "segments") == {m.APPROVED: 3}
    assert _rows_per_video(loaded, "videos") == {m.APPROVED: 1, m.FAILED: 1}
    assert _rows_per_video(loaded, "moderation_frames") == {m.APPROVED: 5}
    snap = loaded.snapshot("videos")
    assert set(snap.live) == {m.APPROVED} and snap.excluded == sorted([m.APPROVED, m.REJECTED])
    # Same answers as a warehouse that never saw a compaction.
    on_s3 = isinstance(loaded.store, S3Store)
    fresh_root = (loaded.root + "-fresh") if on_s3 else str(Path(loaded.root).parent / "fresh")
    fresh = load(fresh_root, {m.APPROVED: _rewritten_approved(), m.FAILED: corpus_tables[m.FAILED]})
    want = _all_examples(fresh)
    for engine in ("auto", "arrow"):
        got = _all_examples(loaded, engine)
        assert all(got[n].equals(want[n]) for n in EXAMPLES), (engine, [n for n in EXAMPLES
                                                                        if not got[n].equals(want[n])])
    # Compacting again folds the changes in.
    result = loaded.compact("segments", min_age_s=0)
    assert result.incremental and result.videos == 1
    snap = loaded.snapshot("segments")
    assert snap.live == {} and snap.excluded == []
    assert _rows_per_video(loaded, "segments") == {m.APPROVED: 3}


def test_stale_video_skips_only_its_row_groups(local_root):
    """With one row group per video, re-writing one video drops just that row group from the compacted file."""
    wh = Warehouse(store(local_root))
    ids = [f"talk-{i}-0123456789a{i}" for i in range(4)]
    for i, vid in enumerate(ids):
        wh.write_video(vid, {"segments": _version(f"v{i}", 10).set_column(0, "video_id", pa.array([vid] * 10))})
    result = wh.compact("segments", row_group_rows=1, min_age_s=0)
    assert len(result.files) == 1 and pq.ParquetFile(Path(local_root) / result.files[0]).num_row_groups == 4
    wh.write_video(ids[1], {"segments": _version("new", 2).set_column(0, "video_id", pa.array([ids[1]] * 2))})
    snap = wh.snapshot("segments")
    assert snap.compacted_fragments == [(result.files[0], [0, 2, 3])]
    assert list(snap.live) == [ids[1]] and snap.row_filter == []
    assert _rows_per_video(wh, "segments") == {ids[0]: 10, ids[1]: 2, ids[2]: 10, ids[3]: 10}
    # One big row group: the stale video's rows are filtered out of it, the others still served from it.
    wh.compact("segments", min_age_s=0)
    wh.write_video(ids[2], {"segments": _version("new", 1).set_column(0, "video_id", pa.array([ids[2]]))})
    snap = wh.snapshot("segments")
    assert len(snap.compacted_fragments) == 1 and snap.row_filter == [ids[2]] and list(snap.live) == [ids[2]]
    assert _rows_per_video(wh, "segments") == {ids[0]: 10, ids[1]: 2, ids[2]: 1, ids[3]: 10}


class _CountingFormat(ds.ParquetFileFormat):
    """pyarrow's Parquet format, counting the file fragments made from it (one per file a dataset holds)."""

    made = 0

    def make_fragment(self, *args, **kwargs):
        type(self).made += 1
        return super().make_fragment(*args, **kwargs)


def test_compaction_work_is_linear_in_the_videos(local_root):
    """Each batch reads a dataset of its own videos' files: a dataset of every per-video file per batch made
    compaction quadratic (50,000 videos: 100 batches x 50,000 fragments per table)."""
    wh = Warehouse(store(local_root))
    ids = [f"talk-{i:02d}-0123456789ab" for i in range(40)]
    for vid in ids:
        wh.write_video(vid, {"segments": _version(vid, 3).set_column(0, "video_id", pa.array([vid] * 3))})
    wh._format = _CountingFormat()
    _CountingFormat.made = 0
    result = wh.compact("segments", videos_per_batch=4, min_age_s=0)
    assert result.videos == 40 and result.rows == 120
    # Three per file (the listed dataset, the scan's candidates, the pinned read); the old code made 480 here.
    assert _CountingFormat.made <= 3 * len(ids), f"{_CountingFormat.made} fragments for {len(ids)} files"
    assert _rows_per_video(wh, "segments") == dict.fromkeys(ids, 3)


def test_recently_written_files_wait_for_the_next_compaction(local_root, corpus_tables):
    wh = load(local_root, corpus_tables)
    result = wh.compact("videos")  # default min_age_s=1 s on local disk: everything was written just now
    assert (result.videos, result.skipped_recent) == (0, 3)
    assert _rows_per_video(wh, "videos") == {m.APPROVED: 1, m.REJECTED: 1, m.FAILED: 1}


def test_generations_are_garbage_collected_but_previous_is_kept(loaded: Warehouse):
    generations = [loaded.compact("speakers", min_age_s=0, grace_s=0).generation for _ in range(4)]
    present = {info.key.split("/")[3] for info in loaded.store.list(compacted_prefix("speakers"))
               if info.key.count("/") == 4}
    assert present == set(generations[-2:])
    current = json.loads(loaded.store.get_bytes(f"{compacted_prefix('speakers')}/{CURRENT_FILE}"))
    assert (current["generation"], current["previous"]) == (generations[-1], generations[-2])
    # A generation is kept while it is younger than grace_s.
    loaded.compact("speakers", min_age_s=0)
    assert len({i.key.split("/")[3] for i in loaded.store.list(compacted_prefix("speakers"))
                if i.key.count("/") == 4}) == 3


def test_manifest_of_another_schema_version_is_ignored(loaded: Warehouse):
    loaded.compact("videos", min_age_s=0)
    key = f"{compacted_prefix('videos')}/{CURRENT_FILE}"
    current = json.loads(loaded.store.get_bytes(key))
    loaded.store.put_bytes(key, json.dumps({**current, "schema_version": 999}).encode())
    snap = loaded.snapshot("videos")
    assert snap.current is None and snap.covered == set()
    assert _rows_per_video(loaded, "videos") == {m.APPROVED: 1, m.REJECTED: 1, m.FAILED: 1}


def test_readers_stay_correct_while_compacting_and_writing(root, corpus_tables):
    """Queries running while compactions and re-writes interleave always see exactly one copy of each video
    (or, after 3 attempts on a file replaced under them, a clean "changed since it was listed" error)."""
    wh = load(root, corpus_tables)
    rewritten = _rewritten_approved()
    done = threading.Event()
    answers: list[tuple] = []
    changed: list[str] = []
    errors: list[str] = []
    sql = """SELECT (SELECT count(*) FROM videos) AS v, (SELECT count(DISTINCT video_id) FROM videos) AS d,
                    (SELECT count(*) FROM segments) AS s"""

    def reader() -> None:
        while not done.is_set():
            try:
                answers.append(tuple(run_query(store(root), sql).iloc[0].tolist()))
            except Exception as err:  # noqa: BLE001 - sorted below
                (changed if is_changed_file_error(err) else errors).append(repr(err))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(6):
            wh.compact("segments", min_age_s=0)
            wh.compact("videos", min_age_s=0)
            wh.write_video(m.APPROVED, rewritten if i % 2 == 0 else corpus_tables[m.APPROVED])
    finally:
        done.set()
        thread.join()
    assert not errors, errors[:3]
    assert answers and set(answers) <= {(3, 3, 5), (3, 3, 3)}, set(answers)


def test_compaction_splits_files_and_sorts_by_video(local_root):
    wh = Warehouse(store(local_root))
    ids = sorted(f"clip-{i:02d}-0123456789ab" for i in range(12))
    for vid in reversed(ids):
        wh.write_video(vid, {"segments": _version("x", 50).set_column(0, "video_id", pa.array([vid] * 50))})
    result = wh.compact("segments", row_group_rows=100, file_rows=200, videos_per_batch=5, min_age_s=0)
    assert (result.videos, result.rows, len(result.files)) == (12, 600, 3)
    order = [v for f in result.files for v in pq.read_table(Path(local_root) / f).column("video_id").to_pylist()]
    assert order == sorted(order)
    current = json.loads(wh.store.get_bytes(f"{compacted_prefix('segments')}/{CURRENT_FILE}"))
    # Per row group its first and last video and how many: no per-video entry (a million videos: 127 MB once).
    assert [g for f in current["files"] for g in f["row_groups"]] == [[ids[i], ids[i + 1], 2] for i in range(0, 12, 2)]
    assert current["videos"] == 12
    assert wh.connect(["segments"]).execute("SELECT count(*), count(DISTINCT video_id) FROM segments").fetchone() == (
        600, 12)


def test_processed_at_round_trips(loaded: Warehouse):
    got = loaded.read_table("videos", filter=pc.field("video_id") == m.APPROVED).column("processed_at")
    assert got.to_pylist()[0].isoformat() == PROCESSED_AT


READ_THEN_FAIL = """
import sys
from vidassets.analytics.rows import video_tables
from vidassets.analytics.warehouse import Warehouse
from vidassets.storage import Store
from vidassets_tests.analytics import manifests as m
from vidassets_tests.analytics.conftest import PROCESSED_AT

warehouse = Warehouse(Store.for_root(sys.argv[1]))
if sys.argv[2] == "write":
    warehouse.write_video(m.APPROVED, video_tables(**m.approved_manifests(), processed_at=PROCESSED_AT))
else:
    assert warehouse.read_table("segments").num_rows > 0
    raise SystemExit(3)  # a command that fails right after a read (`vidassets speakers name` with a bad name)
"""


def test_a_process_exiting_right_after_a_read_exits_cleanly(tmp_path):
    """Per-video files are read into memory, then scanned on pyarrow's threads; buffers owned by Python objects
    were released on those threads after the interpreter had begun to exit: `terminate called without an active
    exception`, SIGABRT, most of the time."""
    import subprocess
    import sys

    root = str(tmp_path / "root")
    subprocess.run([sys.executable, "-c", READ_THEN_FAIL, root, "write"], check=True, timeout=120)  # noqa: S603
    from concurrent.futures import ThreadPoolExecutor

    def read_then_fail(_: int) -> int:
        return subprocess.run([sys.executable, "-c", READ_THEN_FAIL, root, "read"],  # noqa: S603
                              capture_output=True, timeout=120).returncode

    with ThreadPoolExecutor(4) as pool:  # four at a time: the wall time of two on 2 cores
        codes = list(pool.map(read_then_fail, range(8)))
    assert codes == [3] * 8


# --------------------------------------------------------------------------------------------- the change journal

def _segments_of(vid: str, tag: str, rows: int) -> dict[str, pa.Table]:
    return {"segments": _version(tag, rows).set_column(0, "video_id", pa.array([vid] * rows))}


def _texts(wh: Warehouse) -> dict[str, set[str]]:
    """video_id -> the version tags of its segments, through DuckDB's reader and pure pyarrow (must agree)."""
    sql = "SELECT video_id, list(DISTINCT split_part(text, ' ', 1)) FROM segments GROUP BY ALL"
    got = [{vid: set(tags) for vid, tags in wh.connect(["segments"], engine=e).execute(sql).fetchall()}
           for e in ("auto", "arrow")]
    assert got[0] == got[1], got
    return got[0]


def _with(root: str, **methods) -> Store:
    """The root's real Store, as an instance of a subclass overriding `methods` (hooks that call the original)."""
    base = store(root)
    hooked = copy.copy(base)
    hooked.__class__ = type(f"Hooked{type(base).__name__}", (type(base),), methods)
    return hooked


def test_list_after_and_stat_agree_with_list(root):
    wh = Warehouse(store(root))
    for i in range(3):
        wh.write_video(f"talk-{i}-0123456789ab", _segments_of(f"talk-{i}-0123456789ab", "a", 2))
    listed = wh.store.list(journal_prefix())
    assert len(listed) == 6
    for cut in (0, 1, 3, 5):
        assert wh.store.list_after(journal_prefix(), listed[cut].key) == listed[cut + 1:]
    assert wh.store.list_after(journal_prefix(), journal_prefix()) == listed
    assert wh.store.list_after(journal_prefix(), listed[-1].key) == []
    key = video_file_key("segments", "talk-1-0123456789ab")
    assert wh.store.stat(key) == next(info for info in wh.store.list("warehouse/segments") if info.key == key)
    assert wh.store.stat(video_file_key("segments", "talk-9-0123456789ab")) is None


def test_a_query_lists_only_the_videos_changed_since_compaction(local_root):
    """The reader's metadata cost follows the journal, not the corpus: after a compaction of 30 videos and one
    re-write, a query stats that one video's file and lists nothing of the table (it listed all 30 before)."""
    seen: list[tuple[str, str]] = []

    def recorder(name: str):
        original = getattr(LocalStore, name)
        return lambda self, key, *args: (seen.append((name, key)), original(self, key, *args))[1]

    counting = _with(local_root, **{name: recorder(name) for name in ("list", "list_named", "stat", "list_after")})
    wh = Warehouse(counting)
    ids = [f"talk-{i:02d}-0123456789ab" for i in range(30)]
    for vid in ids:
        wh.write_video(vid, _segments_of(vid, "old", 3))
    wh.compact("segments", min_age_s=0)
    wh.write_video(ids[7], _segments_of(ids[7], "new", 2))
    seen.clear()
    got = run_query(counting, "SELECT video_id, count(*) AS n FROM segments GROUP BY ALL ORDER BY 1")
    assert dict(zip(got["video_id"], got["n"], strict=True)) == {**dict.fromkeys(ids, 3), ids[7]: 2}
    assert seen == [("list_after", journal_prefix()), ("stat", video_file_key("segments", ids[7]))], seen


def test_a_rewrite_after_compaction_is_read_with_its_new_rows_only(root):
    wh = Warehouse(store(root))
    ids = [f"talk-{i}-0123456789ab" for i in range(4)]
    for vid in ids:
        wh.write_video(vid, _segments_of(vid, "old", 4))
    wh.compact("segments", min_age_s=0)
    wh.write_video(ids[1], _segments_of(ids[1], "new", 2))
    wh.delete_video(ids[2])
    want = {ids[0]: {"old"}, ids[1]: {"new"}, ids[3]: {"old"}}
    assert _texts(wh) == want
    assert wh.read_video(ids[1])["segments"].num_rows == 2 and wh.read_video(ids[2])["segments"].num_rows == 0
    result = wh.compact("segments", min_age_s=0)  # incremental: the previous generation plus the two changes
    assert (result.incremental, result.changed, result.videos) == (True, 2, 3)
    assert _texts(wh) == want and wh.snapshot("segments").live == {}
    wh.write_video(ids[2], _segments_of(ids[2], "back", 1))  # a deleted video written again
    assert _texts(wh) == {**want, ids[2]: {"back"}}


def test_a_write_landing_while_compaction_runs_wins_afterwards(root):
    """The write lands after the compaction read the video and before it published CURRENT.json: the generation
    holds the old rows, and its readers must see the new ones."""
    vid = "talk-0-0123456789ab"
    plain = Warehouse(store(root))
    for other in ("talk-1-0123456789ab", vid):
        plain.write_video(other, _segments_of(other, "old", 3))
    fired: list[str] = []

    def put_bytes(self, key, data, content_type=None):
        if key == current_key("segments") and not fired:
            fired.append(key)
            plain.write_video(vid, _segments_of(vid, "new", 5))
        return type(self).__mro__[1].put_bytes(self, key, data, content_type)

    result = Warehouse(_with(root, put_bytes=put_bytes)).compact("segments", min_age_s=0)
    assert fired and result.videos == 2
    assert _texts(plain) == {"talk-1-0123456789ab": {"old"}, vid: {"new"}}
    plain.compact("segments", min_age_s=0)
    assert _texts(plain) == {"talk-1-0123456789ab": {"old"}, vid: {"new"}}


def test_a_write_slower_than_the_margin_is_seen_through_its_end_marker(local_root, monkeypatch):
    """Margin 0: the write's begin marker is older than the compaction's window; its files land after the
    compaction read the video. The marker written after the files is what tells readers."""
    monkeypatch.setattr(warehouse_module, "JOURNAL_MARGIN_S", 0.0)
    vid = "talk-0-0123456789ab"
    plain = Warehouse(store(local_root))
    plain.write_video(vid, _segments_of(vid, "old", 3))
    compaction_read, begun = threading.Event(), threading.Event()

    def put_bytes(self, key, data, content_type=None):
        if key == video_file_key("segments", vid):
            begun.set()
            assert compaction_read.wait(30)
        return LocalStore.put_bytes(self, key, data, content_type)

    slow = threading.Thread(target=Warehouse(_with(local_root, put_bytes=put_bytes)).write_video,
                            args=(vid, _segments_of(vid, "new", 5)))
    slow.start()
    assert begun.wait(30)

    def commit_after_the_write(self, key, data, content_type=None):
        if key == current_key("segments"):
            compaction_read.set()
            slow.join(30)
        return LocalStore.put_bytes(self, key, data, content_type)

    Warehouse(_with(local_root, put_bytes=commit_after_the_write)).compact("segments", min_age_s=0)
    assert not slow.is_alive()
    assert _texts(plain) == {vid: {"new"}}


def test_a_writer_that_crashed_after_its_files_is_seen_through_its_begin_marker(root):
    vid = "talk-0-0123456789ab"
    plain = Warehouse(store(root))
    plain.write_video(vid, _segments_of(vid, "old", 3))
    plain.compact("segments", min_age_s=0)

    def put_bytes(self, key, data, content_type=None):
        marker = parse_journal_marker(key)
        if marker and marker.kind == "e":
            raise RuntimeError("worker killed")
        return type(self).__mro__[1].put_bytes(self, key, data, content_type)

    with pytest.raises(RuntimeError, match="worker killed"):
        Warehouse(_with(root, put_bytes=put_bytes)).write_video(vid, _segments_of(vid, "new", 5))
    assert _texts(plain) == {vid: {"new"}}
    plain.compact("segments", min_age_s=0)  # the unfinished write stays "changed" for the next generation too
    assert _texts(plain) == {vid: {"new"}} and vid in plain.snapshot("segments").live


def test_a_generation_of_the_token_format_is_still_read_by_listing(local_root):
    """A warehouse compacted before the journal (CURRENT.json format 1, a token per video) stays correct and
    served from its generation; the next compaction lists the table once and writes the current format."""
    wh = Warehouse(store(local_root))
    ids = [f"talk-{i}-0123456789ab" for i in range(3)]
    for vid in ids:
        wh.write_video(vid, _segments_of(vid, "old", 2))
    result = wh.compact("segments", min_age_s=0)
    current = json.loads(wh.store.get_bytes(current_key("segments")))
    parquet = pq.ParquetFile(Path(local_root) / result.files[0])
    groups = [sorted(set(parquet.read_row_group(i, columns=["video_id"]).column(0).to_pylist()))
              for i in range(parquet.num_row_groups)]
    live = wh._list_live("segments")
    old = {"format": 1, "table": "segments", "schema_version": SCHEMA_VERSION, "generation": current["generation"],
           "previous": None, "created_at": "", "rows": current["rows"],
           "videos": {vid: _video_token(live[vid]) for vid in ids},
           "files": [{"key": result.files[0], "rows": current["rows"], "row_groups": groups}]}
    wh.store.put_bytes(current_key("segments"), json.dumps(old).encode())
    snap = wh.snapshot("segments")
    assert snap.covered == set(ids) and snap.live_files == []
    wh.write_video(ids[0], _segments_of(ids[0], "new", 1))
    assert _texts(wh) == {ids[0]: {"new"}, ids[1]: {"old"}, ids[2]: {"old"}}
    again = wh.compact("segments", min_age_s=0)
    assert not again.incremental and json.loads(wh.store.get_bytes(current_key("segments")))["format"] == 2
    assert _texts(wh) == {ids[0]: {"new"}, ids[1]: {"old"}, ids[2]: {"old"}}


def test_the_journal_is_pruned_to_what_kept_generations_need(local_root, monkeypatch):
    monkeypatch.setattr(warehouse_module, "JOURNAL_MARGIN_S", 0.0)
    monkeypatch.setattr(warehouse_module, "JOURNAL_KEEP_S", 0.0)
    wh = Warehouse(store(local_root))
    ids = [f"talk-{i}-0123456789ab" for i in range(3)]
    for vid in ids:
        wh.write_video(vid, _segments_of(vid, "old", 2))

    def journal() -> list[str]:
        return [info.key for info in wh.store.list(journal_prefix())]

    first = journal()
    assert len(first) == 6 and wh.compact("segments", min_age_s=0).pruned_markers == 6  # before its window
    wh.write_video(ids[0], _segments_of(ids[0], "new", 1))
    second = journal()
    assert len(second) == 2
    assert wh.compact("segments", min_age_s=0).pruned_markers == 0  # the previous generation's readers need them
    assert journal() == second and _texts(wh)[ids[0]] == {"new"}
    assert wh.compact("segments", min_age_s=0).pruned_markers == 2 and journal() == []
    assert _texts(wh) == {ids[0]: {"new"}, ids[1]: {"old"}, ids[2]: {"old"}}


def test_files_put_without_write_video_are_found_by_a_full_compaction(local_root):
    """A file that reached a table without write_video has no journal marker: readers of a generation do not look
    for it (write_video is the only supported writer) until compact(full=True) lists the table again. A file left
    out of a generation as too recent is recorded there as pending, so its readers read it even without a marker."""
    wh = Warehouse(store(local_root))
    wh.write_video("talk-0-0123456789ab", _segments_of("talk-0-0123456789ab", "old", 2))
    bypass = "talk-1-0123456789ab"
    wh.store.put_parquet(video_file_key("segments", bypass), conform("segments", _segments_of(bypass, "raw", 1)[
        "segments"], bypass))
    result = wh.compact("segments")  # default min_age_s: 1 s locally, so both are too recent to compact
    assert (result.videos, result.skipped_recent) == (0, 2)
    assert _texts(wh) == {"talk-0-0123456789ab": {"old"}, bypass: {"raw"}}
    wh.compact("segments", min_age_s=0)  # incremental: pending videos are read from their own files
    assert _texts(wh) == {"talk-0-0123456789ab": {"old"}, bypass: {"raw"}}
    late = "talk-2-0123456789ab"
    wh.store.put_parquet(video_file_key("segments", late), conform("segments", _segments_of(late, "raw", 1)[
        "segments"], late))
    assert late not in _texts(wh)
    assert not wh.compact("segments", min_age_s=0, full=True).incremental
    assert _texts(wh) == {"talk-0-0123456789ab": {"old"}, bypass: {"raw"}, late: {"raw"}}


def test_row_groups_are_cut_at_the_first_video_boundary_past_the_target(local_root):
    """Row groups hold whole videos, each the shortest run of videos reaching `row_group_rows`, whatever way the
    sorted rows arrive (the tail of one call continues with the next)."""
    sizes = [3, 1, 4, 1, 5, 9, 2, 6]
    ids = [f"talk-{i}-0123456789ab" for i in range(len(sizes))]
    chunks = [_version(vid, n).set_column(0, "video_id", pa.array([vid] * n)) for vid, n in zip(ids, sizes,
                                                                                               strict=True)]
    for split in (1, 4, len(ids)):
        writer = _GenerationWriter(store(local_root), f"{compacted_prefix('segments')}/g-{split}",
                                   conform("segments", pa.concat_tables(chunks[:1]), ids[0]).schema, 1_000)
        for start in range(0, len(ids), split):
            part = [conform("segments", chunk, vid) for chunk, vid in zip(chunks[start:start + split],
                                                                           ids[start:start + split], strict=True)]
            _write_row_groups(writer, pa.concat_tables(part), 5)
        groups = [group for entry in writer.close() for group in entry["row_groups"]]
        assert groups == [[ids[0], ids[2], 3], [ids[3], ids[4], 2], [ids[5], ids[5], 1], [ids[6], ids[7], 2]], split
