"""`run_query` and the `vidassets query` command."""

import csv
import io
import json
import subprocess
import sys

import pandas as pd
import pytest

from vidassets.analytics import query as query_module
from vidassets.analytics.query import QueryError, referenced_tables, run_query
from vidassets.cli import main as cli_main
from vidassets.settings import load_settings
from vidassets_tests.analytics import manifests as m
from vidassets_tests.stores import store

SPEAKERS_SQL = "SELECT video_id, speaker, talk_time_s, word_count FROM speakers ORDER BY speaker"


def test_run_query_returns_a_dataframe_with_nullable_ints(loaded):
    sql = "SELECT video_id, status, width, speakers, has_audio FROM videos ORDER BY video_id"
    df = run_query(store(loaded.root), sql)
    assert isinstance(df, pd.DataFrame) and len(df) == 3
    assert str(df["width"].dtype) == "Int32" and str(df["has_audio"].dtype) == "boolean"
    by_id = df.set_index("video_id")
    assert by_id.loc[m.APPROVED, "speakers"] == 2 and pd.isna(by_id.loc[m.FAILED, "speakers"])
    sums = run_query(store(loaded.root), "SELECT sum(word_count) AS words FROM speakers")
    assert sums["words"].tolist() == [43] and str(sums["words"].dtype) == "Int64"  # not HUGEINT -> float64


def test_query_main_table_csv_json(loaded, capsys):
    assert cli_main(["query", SPEAKERS_SQL, "--root", loaded.root]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["video_id", "speaker", "talk_time_s", "word_count"]
    assert out[2].split() == [m.APPROVED, "SPEAKER_00", "8.2", "28"] and out[-1] == "(2 rows)"

    assert cli_main(["query", SPEAKERS_SQL, "--root", loaded.root, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows == [
        {"video_id": m.APPROVED, "speaker": "SPEAKER_00", "talk_time_s": "8.2", "word_count": "28"},
        {"video_id": m.APPROVED, "speaker": "SPEAKER_01", "talk_time_s": "4.9", "word_count": "15"},
    ]

    sql = "SELECT video_id, topics, title FROM summaries"
    assert cli_main(["query", sql, "--root", loaded.root, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"video_id": m.APPROVED, "topics": ["budget", "hiring plan", "planning"], "title": "Quarterly planning review"}]

    sql = "SELECT processed_at, box FROM videos, moderation_frames WHERE frame_index = 0 AND label = 'FACE_MALE'"
    assert cli_main(["query", sql, "--root", loaded.root, "--format", "json"]) == 0
    record = json.loads(capsys.readouterr().out)[0]
    assert record["processed_at"].startswith("2025-05-01T10:05:00") and record["box"] == [120, 100, 90, 104]


def test_root_defaults_to_the_environment(loaded, monkeypatch, capsys):
    monkeypatch.setenv("VIDASSETS_STORAGE_ROOT", loaded.root)
    assert cli_main(["query", "SELECT count(*) AS n FROM videos", "--format", "csv"]) == 0
    assert capsys.readouterr().out == "n\n3\n"
    monkeypatch.delenv("VIDASSETS_STORAGE_ROOT")
    assert load_settings().storage.root == "s3://vidassets"


def test_unknown_table_lists_the_tables(local_root, capsys):
    assert cli_main(["query", "SELECT * FROM segmnts", "--root", local_root]) == 1
    err = capsys.readouterr().err
    assert "segmnts" in err and "warehouse tables:" in err
    for table in ("videos(", "moderation_frames(", "segments(", "words(", "speakers(", "summaries("):
        assert table in err


def test_unknown_column_lists_the_columns(loaded):
    with pytest.raises(QueryError) as info:
        run_query(store(loaded.root), "SELECT start_time FROM segments")
    message = str(info.value)
    assert "start_time" in message and "segments(video_id, segment_index, start_s, end_s" in message
    assert "videos(" not in message


def test_syntax_error_and_bad_root(local_root, capsys):
    assert cli_main(["query", "SELEC 1", "--root", local_root]) == 1
    assert "syntax error" in capsys.readouterr().err
    assert cli_main(["query", "SELECT 1", "--root", "gs://bucket"]) == 1
    assert "cannot read the warehouse" in capsys.readouterr().err


def test_only_named_tables_are_listed():
    assert referenced_tables("SELECT * FROM words w JOIN speakers USING (video_id)") == ["words", "speakers"]
    assert referenced_tables("SELECT keywords FROM x") == list(query_module.TABLES)  # 'words' inside a word
    assert referenced_tables("SHOW TABLES") == list(query_module.TABLES)


def test_query_retries_when_a_listed_file_vanishes(loaded, monkeypatch):
    """A video deleted between listing and reading: the query is re-run on a fresh listing."""
    real = query_module.Warehouse.connect
    calls = []

    def connect_then_delete(self, tables=None, connection=None):
        con = real(self, tables, connection)
        if not calls:
            self.delete_video(m.APPROVED)
        calls.append(1)
        return con

    monkeypatch.setattr(query_module.Warehouse, "connect", connect_then_delete)
    df = run_query(store(loaded.root), "SELECT count(*) AS n FROM segments")
    assert df["n"].tolist() == [0] and len(calls) == 2


def test_python_dash_m_entry_point(loaded):
    done = subprocess.run(
        [sys.executable, "-m", "vidassets.cli", "query", "SELECT status FROM videos ORDER BY 1", "--root",
         loaded.root, "--format", "csv"],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["status", "approved", "failed", "rejected"]
