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
<root>/registry/overrides.json                               speaker registry hand edits (merges, splits)
<root>/registry/voice_names/<scope>.json                     voice names of one user (`_operator`: the CLI's)
<root>/registry/labels.json                                  which labels each video's files were written with
```

Every key that names a video is built from a validated video id (`video_ids.check_video_id`), never raw input.
"""

import re

from vidassets.video_ids import check_video_id

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


def voice_overrides_key() -> str:
    return f"{REGISTRY}/overrides.json"


def voice_labels_key() -> str:
    return f"{REGISTRY}/labels.json"


def voice_names_key(scope: str) -> str:
    """`registry/voice_names/<scope>.json`; `scope` is an API user name or `_operator`."""
    if not isinstance(scope, str) or not _SCOPE_RE.fullmatch(scope):
        raise ValueError(f"unsafe names scope {scope!r}")
    return f"{REGISTRY}/voice_names/{scope}.json"
