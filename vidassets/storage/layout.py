"""Every key under the storage root, in one place.

```
<root>/assets/<asset>/<video_id>/manifest.json              an asset's value (JSON manifest)
<root>/assets/frames/<video_id>/frame_00000.jpg              artifacts beside it
<root>/assets/shots/<video_id>/keyframe_00000.jpg            one keyframe per shot
<root>/assets/audio/<video_id>/audio.flac
<root>/assets/diarized_transcript/<video_id>/transcript.{json,srt,vtt,txt}, transcript.redacted.{…}
<root>/warehouse/<table>/video_id=<id>/part-0.parquet        analytics, hive layout, one file per table per video
<root>/warehouse/_compacted/<table>/CURRENT.json             the live compacted generation
<root>/warehouse/_compacted/<table>/<generation>/part-NNNNN.parquet
<root>/warehouse/_journal/<YYYYMMDDTHH>/<YYYYMMDDTHHMMSSffffff>Z-<b|e>-<write id>-<video_id>
                                                             empty markers: a write of that video begins, ends
<root>/registry/overrides.json                               speaker registry hand edits (merges, splits)
<root>/registry/voice_names/<scope>.json                     voice names of one user (`_operator`: the CLI's)
<root>/registry/labels.json                                  which labels each video's files were written with
```

Every key that names a video is built from a validated video id (`video_ids.check_video_id`), never raw input.
"""

import re
from datetime import UTC, datetime
from typing import NamedTuple

from vidassets.video_ids import check_video_id, is_video_id

ASSETS = "assets"
MANIFEST_FILE = "manifest.json"
TRANSCRIPT_ASSET = "diarized_transcript"  # the transcript files users read live beside its manifest
TRANSCRIPT_FORMATS = ("json", "srt", "vtt", "txt")  # json is WhisperX's shape: a public interface
CONTENT_TYPES = {
    "json": "application/json", "srt": "application/x-subrip", "vtt": "text/vtt", "txt": "text/plain",
    "jpg": "image/jpeg", "flac": "audio/flac",
}

WAREHOUSE = "warehouse"
COMPACTED = "_compacted"
JOURNAL = "_journal"
_JOURNAL_BUCKET = "%Y%m%dT%H"  # one folder per hour: a reader lists only the hours since a position
_JOURNAL_STAMP = "%Y%m%dT%H%M%S%f"
JOURNAL_KINDS = ("b", "e")
_MARKER_RE = re.compile(r"(?P<stamp>\d{8}T\d{12})Z-(?P<kind>[be])-(?P<write_id>[0-9a-f]{8})-(?P<video_id>.+)")
PART_FILE = "part-0.parquet"
CURRENT_FILE = "CURRENT.json"

REGISTRY = "registry"
OPERATOR_SCOPE = "_operator"  # the names of videos not uploaded through the API (`vidassets speakers`)
_SCOPE_RE = re.compile(r"^(_operator|[a-z0-9][a-z0-9_-]{0,39})$")  # API user names, or the operator's scope

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def _name(value: str, what: str) -> str:
    if not _NAME_RE.match(value):
        raise ValueError(f"unsafe {what} name {value!r}")
    return value


def asset_prefix(asset: str, video_id: str) -> str:
    """`assets/<asset>/<video_id>`; refuses anything that is not a safe video id."""
    return f"{ASSETS}/{_name(asset, 'asset')}/{check_video_id(video_id)}"


def manifest_key(asset: str, video_id: str) -> str:
    return f"{asset_prefix(asset, video_id)}/{MANIFEST_FILE}"


def frame_key(video_id: str, index: int) -> str:
    return f"{asset_prefix('frames', video_id)}/frame_{index:05d}.jpg"


def shot_keyframe_key(video_id: str, index: int) -> str:
    return f"{asset_prefix('shots', video_id)}/keyframe_{index:05d}.jpg"


def audio_key(video_id: str) -> str:
    return f"{asset_prefix('audio', video_id)}/audio.flac"


def transcript_key(video_id: str, fmt: str, *, redacted: bool = False) -> str:
    """`transcript.<fmt>` (or its PII-redacted copy `transcript.redacted.<fmt>`) beside the diarized transcript's
    manifest, where users of the subtitles look for them."""
    if fmt not in TRANSCRIPT_FORMATS:
        raise ValueError(f"unknown transcript format {fmt!r}; one of {', '.join(TRANSCRIPT_FORMATS)}")
    name = "transcript.redacted" if redacted else "transcript"
    return f"{asset_prefix(TRANSCRIPT_ASSET, video_id)}/{name}.{fmt}"


def table_prefix(table: str) -> str:
    return f"{WAREHOUSE}/{_name(table, 'table')}"


def video_prefix(table: str, video_id: str) -> str:
    return f"{table_prefix(table)}/video_id={check_video_id(video_id)}"


def video_file_key(table: str, video_id: str) -> str:
    return f"{video_prefix(table, video_id)}/{PART_FILE}"


def compacted_prefix(table: str) -> str:
    return f"{WAREHOUSE}/{COMPACTED}/{_name(table, 'table')}"


def current_key(table: str) -> str:
    return f"{compacted_prefix(table)}/{CURRENT_FILE}"


def journal_prefix() -> str:
    return f"{WAREHOUSE}/{JOURNAL}"


def journal_position(at: datetime) -> str:
    """The key every marker stamped at or after `at` sorts after (within a bucket and across buckets)."""
    at = at.astimezone(UTC)
    return f"{journal_prefix()}/{at:{_JOURNAL_BUCKET}}/{at:{_JOURNAL_STAMP}}Z"


class JournalMarker(NamedTuple):
    key: str
    at: datetime
    kind: str  # "b": a write begins (or is still going), "e": it ended
    write_id: str  # one per write_video / delete_video call
    video_id: str


def journal_marker_key(video_id: str, at: datetime, kind: str, write_id: str) -> str:
    """`warehouse/_journal/<hour>/<stamp>Z-<b|e>-<write id>-<video_id>`: a change of `video_id` at `at`."""
    if kind not in JOURNAL_KINDS or not re.fullmatch(r"[0-9a-f]{8}", write_id):
        raise ValueError(f"unsafe journal marker {kind!r}/{write_id!r}")
    return f"{journal_position(at)}-{kind}-{write_id}-{check_video_id(video_id)}"


def parse_journal_marker(key: str) -> JournalMarker | None:
    """The marker a journal key stands for, or None for anything else under the journal."""
    match = _MARKER_RE.fullmatch(key.rsplit("/", 1)[-1])
    if not match or not is_video_id(match["video_id"]):
        return None
    try:
        at = datetime.strptime(match["stamp"], _JOURNAL_STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None
    return JournalMarker(key, at, match["kind"], match["write_id"], match["video_id"])


def voice_overrides_key() -> str:
    return f"{REGISTRY}/overrides.json"


def voice_labels_key() -> str:
    return f"{REGISTRY}/labels.json"


def voice_names_key(scope: str) -> str:
    """`registry/voice_names/<scope>.json`; `scope` is an API user name or `_operator`."""
    if not isinstance(scope, str) or not _SCOPE_RE.fullmatch(scope):
        raise ValueError(f"unsafe names scope {scope!r}")
    return f"{REGISTRY}/voice_names/{scope}.json"
