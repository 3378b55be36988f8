"""What became of a video, decided from its manifests: the rule behind `videos.status`/`videos.reason`, the API's
status and the webhook event type. Dagster-free and pure (the warehouse rows call it); `vidassets.lifecycle` wraps
it with the video's runs.

Warehouse statuses (docs/DATA.md): `approved`, `rejected` (the visual `moderation` verdict, or the spoken
`text_moderation` verdict), `no_speech`, `failed`. The API and webhooks say `completed` for approved and no_speech.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vidassets.manifests import MANIFEST_ASSETS, DiarizedTranscriptManifest, TranscriptManifest, VideoManifests

if TYPE_CHECKING:
    from vidassets.storage import Store

REASON_SEPARATOR = "; "
# The API's and webhooks' statuses; the last three end a video's run (and send `video.<status>`).
VIDEO_STATUSES = ("uploaded", "queued", "processing", "completed", "rejected", "failed")
TERMINAL = frozenset({"completed", "rejected", "failed"})
_API_STATUS = {"approved": "completed", "no_speech": "completed", "rejected": "rejected", "failed": "failed"}


@dataclass(frozen=True)
class Verdict:
    status: str  # approved | rejected | no_speech | failed (= videos.status)
    reason: str | None  # = videos.reason

    @property
    def video_status(self) -> str:
        """The API's status for a video whose run ended with this verdict."""
        return _API_STATUS[self.status]

    @property
    def reasons(self) -> list[str]:
        """Why it was rejected, one entry per reason (the API's `reasons`); empty unless rejected."""
        if self.status != "rejected":
            return []
        return [part for part in (self.reason or "").split(REASON_SEPARATOR) if part]

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Verdict:
        """The verdict a warehouse `videos` row recorded (written by `decide`)."""
        return cls(str(row["status"]), row.get("reason"))


def transcript_word_count(transcript: TranscriptManifest | None,
                          diarized: DiarizedTranscriptManifest | None) -> int | None:
    """Words spoken (the diarized transcript's when it exists); None when no transcript exists."""
    if diarized is not None:
        return sum(len(seg.get("words") or []) or len(str(seg.get("text", "")).split())
                   for seg in diarized.get("segments") or [])
    if transcript is not None:
        if transcript.get("word_count") is not None:
            try:
                return int(round(float(transcript["word_count"])))
            except (TypeError, ValueError):
                return None
        return sum(len(seg.get("words") or []) for seg in transcript.get("segments") or [])
    return None


def spoken_rejection_reason(text_moderation: Mapping[str, Any] | None) -> str | None:
    """`videos.reason` for a video whose spoken content the policy rejected; None otherwise."""
    if text_moderation is None or text_moderation.get("verdict") != "rejected":
        return None
    return "spoken content: " + ("; ".join(str(r) for r in text_moderation.get("reasons") or []) or "rejected")


def decide(manifests: VideoManifests, failure: Mapping[str, Any] | None = None) -> Verdict:
    """The one rule: a failure record fails the video; else the visual verdict, then the audio track, the speech
    found, and the spoken verdict decide; `reason` also names the manifests that are missing."""
    if failure is not None:
        return Verdict("failed", str(failure.get("error") or "") or "failed (no error message)")
    moderation = manifests.get("moderation")
    transcript = manifests.get("transcript")
    diarized = manifests.get("diarized_transcript")
    probe = (manifests.get("source_video") or {}).get("probe") or {}
    has_audio = (probe.get("audio") is not None) if probe else None
    missing = []
    if moderation is None:
        missing.append("no moderation")
    if moderation is not None and moderation.get("verdict") == "rejected":
        return Verdict("rejected", REASON_SEPARATOR.join(str(r) for r in moderation.get("reasons") or [])
                       or "rejected by moderation")
    if has_audio is False:
        return Verdict("no_speech", "no audio track")
    if transcript_word_count(transcript, diarized) == 0:
        return Verdict("no_speech", "no speech detected")
    if transcript is None and diarized is None:
        missing.append("no transcript")
    elif diarized is None:
        missing.append("no diarized transcript")
    spoken_rejection = spoken_rejection_reason(manifests.get("text_moderation"))
    if manifests.get("summary") is None and spoken_rejection is None:
        missing.append("no summary")
    if spoken_rejection is not None:
        return Verdict("rejected", REASON_SEPARATOR.join([spoken_rejection, *missing]))
    return Verdict("approved", REASON_SEPARATOR.join(missing) or None)


def load_manifests(store: Store, video_id: str) -> VideoManifests:
    """Whichever manifests of the video exist, without leftovers that are not this video's any more."""
    from vidassets.storage.layout import manifest_key  # not at import: `vidassets status` needs only the names

    found: VideoManifests = {
        name: store.find_json(manifest_key(name, video_id)) for name in MANIFEST_ASSETS  # type: ignore[misc]
    }
    diarized = found["diarized_transcript"]
    if diarized is None or not diarized.get("segments"):
        found["summary"] = None  # a summary left from an earlier upload with speech is not this video's
    if (found["text_moderation"] or {}).get("verdict") == "rejected":
        found["summary"] = None  # a summary left from before the spoken content was rejected
    return found
