"""The docs name what the code location defines: the README's asset table every asset, docs/ARCHITECTURE.md's
table every job, schedule and sensor."""

import re
from pathlib import Path

from vidassets.definitions import defs

REPO = Path(__file__).resolve().parents[1]


def _first_column(markdown: str, header: str) -> set[str]:
    """The backticked names in the first column of the table whose header row starts with `header`."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    names = set()
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        names |= set(re.findall(r"`([a-z0-9_]+)`", line.split("|")[1]))
    return names


def test_the_readme_lists_every_asset():
    assets = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert _first_column((REPO / "README.md").read_text(), "| asset |") == assets


def test_the_architecture_lists_every_job_schedule_and_sensor():
    table = (REPO / "docs" / "ARCHITECTURE.md").read_text().split("## Jobs, schedules and sensors", 1)[1]
    named = set()
    for line in table.split("\n## ", 1)[0].splitlines():
        if line.startswith("|") and not line.startswith(("| kind", "|---")):
            named |= set(re.findall(r"`([a-z0-9_]+)`", line.split("|")[2]))
    defined = {job.name for job in defs.jobs} | {s.name for s in defs.schedules} | {s.name for s in defs.sensors}
    assert named == defined
