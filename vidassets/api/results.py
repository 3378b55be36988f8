"""A video's results as the API serves them: transcript in four formats, summary, moderation verdict.

Read from the manifests the assets wrote (`assets/<asset>/<video_id>/manifest.json`), rendered with the same
subtitle writers as `vidassets export`.
"""

from __future__ import annotations

from typing import Any

from vidassets.analytics.subtitles import FORMATS, render
from vidassets.analytics.voice_registry import Labels, render_labelled
from vidassets.api.status import manifest
from vidassets.storage import Store

MEDIA_TYPES = {
    "json": "application/json",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
}
assert set(MEDIA_TYPES) == set(FORMATS)


def transcript_manifest(store: Store, video_id: str) -> dict[str, Any] | None:
    """The diarized transcript (speakers on every word), else the plain transcript, else None."""
    return manifest(store, "diarized_transcript", video_id) or manifest(store, "transcript", video_id)


def transcript(store: Store, video_id: str, fmt: str, labels: Labels | None = None) -> tuple[str, str] | None:
    """(body, media type) or None when the video has no transcript yet; `labels` (the viewer's voice ids and
    names, `labels_for`) put on every segment."""
    found = transcript_manifest(store, video_id)
    if found is None:
        return None
    return (render_labelled(found, labels, fmt) if labels else render(found, fmt)), MEDIA_TYPES[fmt]


def labels_for(svc: Any, user: str, ref: Any) -> Labels:
    """The viewer's labels of an owned video: their voice ids and their own names, never the owner's or another
    user's (`api/speakers.py`)."""
    from vidassets.api.speakers import user_labels

    return user_labels(svc.store, svc.view_secret, user, ref.video_id)


def summary(store: Store, video_id: str) -> dict[str, Any] | None:
    found = manifest(store, "summary", video_id)
    if found is None:
        return None
    keys = ("title", "summary", "topics", "method", "model", "code_version")
    return {"video_id": video_id, **{k: found.get(k) for k in keys}}


def moderation(store: Store, video_id: str) -> dict[str, Any] | None:
    found = manifest(store, "moderation", video_id)
    if found is None:
        return None
    return {k: found.get(k) for k in ("verdict", "reasons", "model", "code_version")}


def speaker_segments(found: dict[str, Any]) -> list[dict[str, Any]]:
    """Segments for the transcript page: start, end, speaker, text and the speaker's colour index."""
    speakers: dict[str, int] = {}
    out = []
    for segment in found.get("segments") or []:
        text = " ".join(str(segment.get("text") or "").split())
        if not text:
            continue
        speaker = segment.get("speaker_name") or segment.get("speaker") or ""  # a name (tenant text) is escaped
        colour = speakers.setdefault(speaker, len(speakers))
        out.append({"start": float(segment.get("start") or 0.0), "end": float(segment.get("end") or 0.0),
                    "speaker": speaker, "colour": colour, "text": text})
    return out
