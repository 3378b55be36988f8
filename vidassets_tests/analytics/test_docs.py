"""docs/DATA.md: every column documented, every example query verbatim, run, and its shown output current."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vidassets.analytics.examples import BENCHMARK_QUERIES, EXAMPLES
from vidassets.analytics.query import format_table, run_query, run_query_arrow
from vidassets.analytics.schemas import SCHEMAS, TABLES, describe
from vidassets_tests.analytics import manifests as m
from vidassets_tests.stores import store

DATA_MD = Path(__file__).resolve().parents[2] / "docs" / "DATA.md"


@pytest.fixture(scope="module")
def doc() -> str:
    return DATA_MD.read_text(encoding="utf-8")


def _section(doc: str, table: str) -> str:
    start = doc.index(f"### `{table}`")
    end = doc.find("\n### ", start + 1)
    return doc[start:end]


def test_every_table_and_column_is_documented(doc):
    for table in TABLES:
        section = _section(doc, table)
        documented = re.findall(r"^\| `(\w+)` \|", section, re.MULTILINE)
        assert documented == SCHEMAS[table].names, table
        for column in describe(table):
            row = next(line for line in section.splitlines() if line.startswith(f"| `{column['column']}` |"))
            assert column["type"] in row and (column["unit"] or "") in row, row


def test_example_queries_are_verbatim_in_the_docs(doc):
    blocks = re.findall(r"```sql\n(.*?)\n```", doc, re.DOTALL)
    for name, sql in EXAMPLES.items():
        assert sql in blocks, f"docs/DATA.md lacks the {name} query verbatim"
    assert set(BENCHMARK_QUERIES) <= set(EXAMPLES)


def test_examples_run_and_the_docs_show_their_output(loaded, doc):
    for name, sql in EXAMPLES.items():
        shown = format_table(run_query_arrow(store(loaded.root), sql)).rsplit("\n(", 1)[0]
        after = doc[doc.index(sql) + len(sql) + len("\n```"):]
        block = re.search(r"^```\n(.*?)\n```$", after, re.MULTILINE | re.DOTALL)
        assert block and block.group(1) == shown, f"docs/DATA.md shows an outdated result for {name}:\n{shown}"


def test_example_results(loaded):
    talk = run_query(store(loaded.root), EXAMPLES["talk_time_per_speaker"])
    assert talk[["speaker", "talk_time_s", "share_pct", "turns"]].values.tolist() == [
        ["SPEAKER_00", 8.2, 62.6, 2], ["SPEAKER_01", 4.9, 37.4, 1]]
    wpm = run_query(store(loaded.root), EXAMPLES["words_per_minute_by_video"])
    assert wpm[["video_id", "words", "words_per_minute"]].values.tolist() == [[m.APPROVED, 43, 196.9]]
    labels = run_query(store(loaded.root), EXAMPLES["moderation_label_counts"]).set_index("label")
    assert labels.loc["FEMALE_BREAST_EXPOSED", ["detections", "videos", "flagged"]].tolist() == [3, 1, 2]
    assert labels.loc["FACE_FEMALE", ["detections", "videos", "flagged"]].tolist() == [3, 2, 0]
    assert labels["detections"].sum() == 8  # the empty frame row (label NULL) is not a detection
    phrase = run_query(store(loaded.root), EXAMPLES["phrase_search"])
    assert phrase[["video_id", "speaker", "start_s"]].values.tolist() == [
        [m.APPROVED, "SPEAKER_00", 2.8], [m.APPROVED, "SPEAKER_01", 9.0]]
    exact = run_query(store(loaded.root), EXAMPLES["phrase_search_words"])
    assert exact[["speaker", "start_s", "end_s"]].values.tolist() == [["SPEAKER_00", 4.97, 5.7],
                                                                      ["SPEAKER_01", 9.12, 9.8]]
    status = run_query(store(loaded.root), EXAMPLES["status_overview"])
    assert sorted(status["status"]) == ["approved", "failed", "rejected"]
