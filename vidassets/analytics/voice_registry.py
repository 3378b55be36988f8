"""The speaker registry in storage: the `voice_registry` table, hand edits, names, and the outputs that carry them.

- `update_registry(store, owner_of)` runs `ml.speaker_registry.build` over the warehouse `voices` table and
  rewrites the `voice_registry` files of the videos whose rows changed (the `speaker_registry` asset and
  `vidassets speakers merge|split` call it).
- Names are tenant values, one small JSON file per scope (`registry/voice_names/<user>.json`, `_operator` for
  videos not uploaded through the API): a video's stored outputs show the names of its owner's scope only.
- `apply_labels(store)` re-derives, for every video whose (voice id, name) per speaker changed since it was last
  written (`registry/labels.json`), the files that carry them: its `voice_registry`, `segments` and `speakers`
  warehouse files (columns `voice_id`, `speaker_name`) and `transcript[.redacted].{json,srt,vtt,txt}`. No model
  runs: the transcript is re-rendered from the diarized transcript's manifest (the redacted copy from its own JSON).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from vidassets.analytics.schemas import SCHEMA_VERSION, SCHEMAS
from vidassets.analytics.subtitles import render
from vidassets.analytics.warehouse import PARQUET_OPTIONS, Warehouse, conform
from vidassets.ml.speaker_registry import Assignment, Overrides, SpeakerVoice, build, threshold_for
from vidassets.storage import Store
from vidassets.storage.layout import (
    ASSETS,
    CONTENT_TYPES,
    MANIFEST_FILE,
    OPERATOR_SCOPE,
    REGISTRY,
    TRANSCRIPT_FORMATS,
    manifest_key,
    transcript_key,
    video_file_key,
    voice_labels_key,
    voice_names_key,
    voice_overrides_key,
)

TABLE = "voice_registry"
MAX_NAME_CHARS = 80
VOICE_ID_RE = re.compile(r"v-[0-9a-f]{12}")
IO_THREADS = 8
Labels = dict[str, tuple[str, str | None]]  # local speaker -> (voice id, name or None)


class RegistryError(ValueError):
    """A registry request that cannot be carried out (unknown voice, a merge that joins two speakers of a video)."""


def check_voice_id(voice_id: str) -> str:
    if not isinstance(voice_id, str) or not VOICE_ID_RE.fullmatch(voice_id):
        raise RegistryError(f"{voice_id!r} is not a voice id (v- and 12 hex digits)")
    return voice_id


def check_voice_name(name: str) -> str:
    """A name as given, trimmed: 1-80 characters, no control or invisible formatting characters."""
    if not isinstance(name, str):
        raise RegistryError("a name is text")
    name = unicodedata.normalize("NFC", name).strip()
    if not name:
        raise RegistryError("the name is empty")
    if len(name) > MAX_NAME_CHARS:
        raise RegistryError(f"the name is {len(name)} characters long; at most {MAX_NAME_CHARS}")
    odd = sorted({f"U+{ord(c):04X}" for c in name if unicodedata.category(c)[0] == "C"})
    if odd:
        raise RegistryError(f"the name contains control or invisible formatting characters ({', '.join(odd)})")
    return name


def scope_of(owner: str | None) -> str:
    return owner or OPERATOR_SCOPE


# ------------------------------------------------------------------------------------------------ reading

def load_voices(warehouse: Warehouse) -> dict[str, list[SpeakerVoice]]:
    """video id -> its speakers' voices from the `voices` table."""
    columns = ["video_id", "speaker", "model", "embedding", "too_short", "speech_s"]
    videos: dict[str, list[SpeakerVoice]] = {}
    for row in warehouse.read_table("voices", columns=columns).to_pylist():
        embedding = tuple(row["embedding"]) if row["embedding"] is not None else None
        videos.setdefault(row["video_id"], []).append(SpeakerVoice(
            row["video_id"], row["speaker"], row["model"], embedding, bool(row["too_short"]), row["speech_s"]))
    return videos


def load_registry(warehouse: Warehouse, video_id: str | None = None) -> list[dict[str, Any]]:
    """The `voice_registry` rows (of one video when given), in registry order."""
    import pyarrow.compute as pc

    where = pc.field("video_id") == video_id if video_id is not None else None
    rows = warehouse.read_table(TABLE, filter=where).to_pylist()
    return sorted(rows, key=lambda r: (r["seq"], r["video_id"], r["speaker"]))


def _assignment(row: Mapping[str, Any]) -> Assignment:
    return Assignment(row["video_id"], row["speaker"], row["voice_id"], row["model"], row["similarity"],
                      bool(row["founder"]), bool(row["attracts"]), int(row["seq"]), row["centroid"])


def load_overrides(store: Store) -> Overrides:
    return Overrides.from_json(store.find_json(voice_overrides_key()))


def save_overrides(store: Store, overrides: Overrides) -> None:
    store.put_json(voice_overrides_key(), overrides.to_json())


def scopes(store: Store) -> list[str]:
    prefix = f"{REGISTRY}/voice_names/"
    return sorted(info.key[len(prefix):-len(".json")] for info in store.list(prefix) if info.key.endswith(".json"))


def names(store: Store, scope: str) -> dict[str, str]:
    """voice id -> name in `scope` (a user name or `_operator`)."""
    data = store.find_json(voice_names_key(scope)) or {}
    return {voice_id: entry["name"] for voice_id, entry in data.get("names", {}).items()}


def set_name(store: Store, scope: str, voice_id: str, name: str | None) -> None:
    """Bind (or, with None, remove) the name of `voice_id` in `scope`. One writer per scope at a time: two
    concurrent calls for one scope keep the last one's file."""
    check_voice_id(voice_id)
    key = voice_names_key(scope)
    data = store.find_json(key) or {"names": {}}
    if name is None:
        data["names"].pop(voice_id, None)
    else:
        data["names"][voice_id] = {"name": check_voice_name(name)}
    store.put_json(key, data)


def owners_by_source(store: Store, rule: Callable[[str, str], str | None]) -> Callable[[str], str | None]:
    """`video_id -> owner`: `rule(bucket, key)` (the API's upload-key rule) applied to the object the video's
    `source_video` manifest names; None without a manifest."""
    def owner_of(video_id: str) -> str | None:
        source = store.find_json(manifest_key("source_video", video_id)) or {}
        if not source.get("bucket") or not source.get("key"):
            return None
        return rule(source["bucket"], source["key"])

    return owner_of


# ------------------------------------------------------------------------------------------------ the registry

@dataclass
class RegistryUpdate:
    changed: list[str] = field(default_factory=list)  # videos whose registry rows were (re)written
    removed: list[str] = field(default_factory=list)  # videos no longer in `voices`
    videos: int = 0
    speakers: int = 0
    voices: int = 0
    thresholds: dict[str, float] = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)  # old voice id -> new, names carried


def _row_key(row: Mapping[str, Any]) -> tuple:
    return (row["speaker"], row["voice_id"], row["model"], row["similarity"], row["founder"], row["attracts"],
            row["seq"], row["centroid"])


def update_registry(
    store: Store, owner_of: Callable[[str], str | None], *, rebuild: bool = False,
    thresholds: Mapping[str, float] | None = None, overrides: Overrides | None = None,
) -> RegistryUpdate:
    """Assign the speakers of every video in `voices`; rewrite only the registry files of videos that changed.

    `owner_of(video_id)` names the API user who owns a video (None: not an API upload); it is asked only for
    videos whose rows are new or changed."""
    warehouse = Warehouse(store)
    videos = load_voices(warehouse)
    previous = load_registry(warehouse)
    overrides = overrides if overrides is not None else load_overrides(store)
    builder = build(videos, [_assignment(r) for r in previous], overrides=overrides, thresholds=thresholds,
                    rebuild=rebuild)
    old_by_video: dict[str, list[dict[str, Any]]] = {}
    for row in previous:
        old_by_video.setdefault(row["video_id"], []).append(row)
    new_by_video: dict[str, list[Assignment]] = {}
    for a in builder.assignments():
        new_by_video.setdefault(a.video_id, []).append(a)

    update = RegistryUpdate(videos=len(new_by_video), speakers=len(builder.rows), conflicts=builder.conflicts)
    update.voices = len({a.voice_id for a in builder.rows.values()})
    models = sorted({a.model for a in builder.rows.values()})
    update.thresholds = {m: threshold_for(m, thresholds) for m in models}
    if rebuild:
        update.renamed = _carry_names(store, previous, builder.assignments())
    for video_id, assigned in sorted(new_by_video.items()):
        old = old_by_video.get(video_id, [])
        rows = [{"video_id": a.video_id, "speaker": a.speaker, "voice_id": a.voice_id, "model": a.model,
                 "similarity": a.similarity, "threshold": update.thresholds[a.model], "founder": a.founder,
                 "attracts": a.attracts, "seq": a.seq, "centroid": a.group, "owner": None, "name": None}
                for a in assigned]
        if old and sorted(map(_row_key, old)) == sorted(map(_row_key, rows)):
            continue
        owner = old[0]["owner"] if old else owner_of(video_id)
        for row in rows:
            row["owner"] = owner
            row["schema_version"] = SCHEMA_VERSION
        _write_rows(store, video_id, rows)
        update.changed.append(video_id)
    for video_id in sorted(set(old_by_video) - set(new_by_video)):
        store.delete([video_file_key(TABLE, video_id)])
        update.removed.append(video_id)
    return update


def _write_rows(store: Store, video_id: str, rows: list[dict[str, Any]]) -> None:
    table = conform(TABLE, pa.Table.from_pylist(rows, schema=SCHEMAS[TABLE]), video_id)
    store.put_parquet(video_file_key(TABLE, video_id), table, **PARQUET_OPTIONS)


def _carry_names(store: Store, before: list[dict[str, Any]], after: list[Assignment]) -> dict[str, str]:
    """After a rebuild, a voice id that vanished hands its names to the new voice holding most of its members
    (e.g. its founder was split out), so names survive hand edits."""
    old_members: dict[str, set[tuple[str, str]]] = {}
    for row in before:
        old_members.setdefault(row["voice_id"], set()).add((row["video_id"], row["speaker"]))
    new_of = {(a.video_id, a.speaker): a.voice_id for a in after}
    new_ids = set(new_of.values())
    moved: dict[str, str] = {}
    for old_id, members in old_members.items():
        if old_id in new_ids:
            continue
        counts: dict[str, int] = {}
        for member in members:
            if member in new_of:
                counts[new_of[member]] = counts.get(new_of[member], 0) + 1
        if counts:
            moved[old_id] = max(sorted(counts), key=counts.get)  # type: ignore[arg-type]
    if moved:
        for scope in scopes(store):
            known = names(store, scope)
            for old_id, new_id in moved.items():
                if old_id in known and new_id not in known:
                    set_name(store, scope, new_id, known[old_id])
    return moved


def merge(store: Store, into: str, other: str, owner_of: Callable[[str], str | None]) -> RegistryUpdate:
    """Voice `other` becomes part of `into` (refused when one video has a speaker in each); then a rebuild."""
    check_voice_id(into), check_voice_id(other)
    rows = load_registry(Warehouse(store))
    videos_of: dict[str, set[str]] = {}
    for row in rows:
        videos_of.setdefault(row["voice_id"], set()).add(row["video_id"])
    for voice_id in (into, other):
        if voice_id not in videos_of:
            raise RegistryError(f"no voice {voice_id} in the registry")
    if into == other:
        raise RegistryError("a voice cannot be merged with itself")
    both = sorted(videos_of[into] & videos_of[other])
    if both:
        raise RegistryError(f"{into} and {other} are two speakers of {', '.join(both)}: never merged")
    overrides = load_overrides(store)
    founders = {row["voice_id"] for row in rows if row["founder"]}
    # every founder id that leads to `other` now leads to `into`
    for voice_id in founders | set(overrides.merges) | {other}:
        if overrides.canonical(voice_id) == other:
            overrides.merges[voice_id] = into
    overrides.merges.pop(into, None)
    save_overrides(store, overrides)
    update = update_registry(store, owner_of, rebuild=True, overrides=overrides)
    for scope in scopes(store):  # the merged voice keeps `into`'s name, else takes `other`'s
        known = names(store, scope)
        if other in known and into not in known:
            set_name(store, scope, into, known[other])
    return update


def split(store: Store, voice_id: str, video_id: str, speaker: str,
          owner_of: Callable[[str], str | None]) -> RegistryUpdate:
    """Take one (video, speaker) out of `voice_id` into a voice of its own that attracts nobody; then a rebuild."""
    check_voice_id(voice_id)
    rows = load_registry(Warehouse(store), video_id)
    if not any(r["speaker"] == speaker and r["voice_id"] == voice_id for r in rows):
        raise RegistryError(f"{video_id} {speaker} is not in voice {voice_id}")
    overrides = load_overrides(store)
    overrides.splits.add((video_id, speaker))
    save_overrides(store, overrides)
    return update_registry(store, owner_of, rebuild=True, overrides=overrides)


# ------------------------------------------------------------------------------------------------ labelled outputs

def labels_of(rows: Iterable[Mapping[str, Any]], known: Mapping[str, str]) -> Labels:
    return {r["speaker"]: (r["voice_id"], known.get(r["voice_id"])) for r in rows}


def labelled(manifest: Mapping[str, Any], labels: Labels) -> dict[str, Any]:
    """A copy of a transcript whose segments carry `voice_id` (and `speaker_name` when named) beside `speaker`."""
    segments = []
    for segment in manifest.get("segments") or []:
        entry = {k: v for k, v in segment.items() if k not in ("voice_id", "speaker_name")}
        label = labels.get(segment.get("speaker") or "")
        if label:
            entry["voice_id"] = label[0]
            if label[1]:
                entry["speaker_name"] = label[1]
        segments.append(entry)
    return {**manifest, "segments": segments}


def displayed(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """For subtitles and plain text: the name, when there is one, in place of the local label."""
    segments = []
    for segment in manifest.get("segments") or []:
        name = segment.get("speaker_name")
        if name:
            words = [{**w, "speaker": name} if w.get("speaker") else w for w in segment.get("words") or []]
            segment = {**segment, "speaker": name, "words": words}
        segments.append(segment)
    return {**manifest, "segments": segments}


def render_labelled(manifest: Mapping[str, Any], labels: Labels, fmt: str) -> str:
    with_ids = labelled(manifest, labels)
    return render(with_ids if fmt == "json" else displayed(with_ids), fmt)


def label_table(table: pa.Table, labels: Labels) -> pa.Table:
    """`table` (segments or speakers rows of one video) with `voice_id` and `speaker_name` set from `labels`."""
    speakers = table.column("speaker").to_pylist()
    voice_ids = [labels[s][0] if s in labels else None for s in speakers]
    speaker_names = [labels[s][1] if s in labels else None for s in speakers]
    for column, values in (("voice_id", voice_ids), ("speaker_name", speaker_names)):
        index = table.schema.get_field_index(column)
        array = pa.array(values, type=pa.string())
        table = table.set_column(index, table.schema.field(index), array) if index >= 0 else \
            table.append_column(column, array)
    return table


def video_labels(store: Store, video_id: str, scope: str | None = None) -> Labels:
    """Labels of one video, with the names of `scope` (default: the video's owner's)."""
    rows = load_registry(Warehouse(store), video_id)
    if not rows:
        return {}
    return labels_of(rows, names(store, scope or scope_of(rows[0]["owner"])))


def _fingerprint(labels: Labels, sources: str) -> str:
    """What a video's labelled files were made from: its labels, and the versions of the manifests whose assets
    write those files unlabelled (a re-processed video is labelled again even when its labels did not change)."""
    return hashlib.sha256(json.dumps([sorted(labels.items()), sources]).encode()).hexdigest()[:16]


LABELLED_SOURCES = ("diarized_transcript", "text_moderation")  # the assets that write transcript[.redacted].*


def _source_tokens(store: Store) -> dict[str, str]:
    """video id -> the version tokens of its LABELLED_SOURCES manifests (one listing per asset)."""
    tokens: dict[str, list[str]] = {}
    for asset in LABELLED_SOURCES:
        for info in store.list_named(f"{ASSETS}/{asset}/", MANIFEST_FILE):
            parts = info.key.split("/")
            if len(parts) == 4:
                tokens.setdefault(parts[2], []).append(f"{asset}:{info.token}")
    return {video_id: "|".join(sorted(found)) for video_id, found in tokens.items()}


def _relabel_parquet(store: Store, table: str, video_id: str, labels: Labels) -> None:
    key = video_file_key(table, video_id)
    data = store.find_bytes(key)
    if data is None:
        return
    rows = pq.read_table(io.BytesIO(data))
    rows = rows.drop_columns([c for c in ("schema_version",) if c in rows.column_names])
    if table == TABLE:
        known = {s: name for s, (_, name) in labels.items()}
        rows = rows.set_column(rows.schema.get_field_index("name"), "name",
                               pa.array([known.get(s) for s in rows.column("speaker").to_pylist()], pa.string()))
    else:
        rows = label_table(rows, labels)
    store.put_parquet(key, conform(table, rows, video_id), **PARQUET_OPTIONS)


def _relabel_video(store: Store, video_id: str, labels: Labels) -> None:
    for table in (TABLE, "segments", "speakers"):
        _relabel_parquet(store, table, video_id, labels)
    uploads = []
    manifest = store.find_json(manifest_key("diarized_transcript", video_id))
    if manifest is not None:
        uploads += [(transcript_key(video_id, fmt), render_labelled(manifest, labels, fmt).encode(),
                     CONTENT_TYPES[fmt]) for fmt in TRANSCRIPT_FORMATS]
    redacted = store.find_json(transcript_key(video_id, "json", redacted=True))
    if redacted is not None:  # the redacted copy's own JSON (local labels kept in it) is the source
        uploads += [(transcript_key(video_id, fmt, redacted=True), render_labelled(redacted, labels, fmt).encode(),
                     CONTENT_TYPES[fmt]) for fmt in TRANSCRIPT_FORMATS]
    store.put_many(uploads)


def apply_labels(store: Store, video_ids: Iterable[str] | None = None, *, force: bool = False) -> list[str]:
    """Rewrite the outputs of every registered video (or of `video_ids`) whose labels changed since they were
    last written; returns the videos written."""
    warehouse = Warehouse(store)
    rows = load_registry(warehouse)
    wanted = set(video_ids) if video_ids is not None else None
    by_video: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if wanted is None or row["video_id"] in wanted:
            by_video.setdefault(row["video_id"], []).append(row)
    scope_names = {scope: names(store, scope) for scope in {scope_of(r[0]["owner"]) for r in by_video.values()}}
    applied: dict[str, str] = (store.find_json(voice_labels_key()) or {}).get("videos", {})
    sources = _source_tokens(store)
    todo: dict[str, Labels] = {}
    prints: dict[str, str] = {}
    for video_id, video_rows in by_video.items():
        labels = labels_of(video_rows, scope_names[scope_of(video_rows[0]["owner"])])
        prints[video_id] = _fingerprint(labels, sources.get(video_id, ""))
        if force or applied.get(video_id) != prints[video_id]:
            todo[video_id] = labels
    with ThreadPoolExecutor(max_workers=IO_THREADS) as pool:
        list(pool.map(lambda item: _relabel_video(store, *item), sorted(todo.items())))
    if todo:
        latest = (store.find_json(voice_labels_key()) or {}).get("videos", {})
        latest.update({video_id: prints[video_id] for video_id in todo})
        store.put_json(voice_labels_key(), {"videos": latest})
    return sorted(todo)


def name_voice(store: Store, voice_id: str, name: str | None, scope: str) -> list[str]:
    """Bind (None: remove) the name of `voice_id` in `scope` and rewrite the outputs of that scope's videos with
    the voice; returns the videos written."""
    check_voice_id(voice_id)
    rows = load_registry(Warehouse(store))
    if not any(r["voice_id"] == voice_id for r in rows):
        raise RegistryError(f"no voice {voice_id} in the registry")
    videos = sorted({r["video_id"] for r in rows if r["voice_id"] == voice_id and scope_of(r["owner"]) == scope})
    set_name(store, scope, voice_id, name)
    return apply_labels(store, videos)


def voices_in(store: Store, video_ids: Iterable[str], scope: str) -> list[dict[str, Any]]:
    """The voices that occur in `video_ids` (a user's videos, or all), with their videos and the name in `scope`:
    only those videos are listed, so a voice shared with another owner shows none of that owner's videos."""
    wanted = set(video_ids)
    known = names(store, scope)
    voices: dict[str, dict[str, Any]] = {}
    for row in load_registry(Warehouse(store)):
        if row["video_id"] not in wanted:
            continue
        entry = voices.setdefault(row["voice_id"], {"voice_id": row["voice_id"], "name": known.get(row["voice_id"]),
                                                     "model": row["model"], "trusted": row["attracts"],
                                                     "appearances": []})
        entry["appearances"].append({"video_id": row["video_id"], "speaker": row["speaker"],
                                     "similarity": row["similarity"]})
    return sorted(voices.values(), key=lambda v: (-len(v["appearances"]), v["voice_id"]))
