"""The corpus speaker registry: every (video, local speaker) gets a corpus `voice_id` (Dagster-free, pure).

Rules (docs/DATA.md, "Speaker registry"):
- Videos are taken in a stable order (the order they were first registered; new videos sorted by video id), so a
  rebuild over the whole corpus gives the same ids as the incremental runs did.
- A video's trusted speakers (an embedding, and at least the model's calibrated minimum of clean speech,
  `MIN_TRUSTED_SPEECH_S`, read from `speech_s`) are matched to the known trusted voices of the same embedding
  model by one constrained assignment (Hungarian, on cosine similarity to each voice's centroid): two speakers
  of one video never land in one voice. A pair is accepted at `similarity >= threshold`; the threshold is
  calibrated on impostor trials (`impostor_threshold`), together with the minimum, by benchmarks/quality_voices.py.
- A speaker that matches nothing founds a voice whose id is derived from that founder: `voice_id_for(video,
  speaker)`. Ids never depend on counters or on what else is in the corpus.
- Untrusted speakers, and speakers split out by hand, get a voice of their own that never attracts others.
- Merges (`B -> A`) are applied while building: a voice whose founder id is merged into an existing voice joins it
  (unless that would put two speakers of one video together), so incremental runs and rebuilds agree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

# Cosine similarity at which a speaker joins a known voice, and the seconds of clean speech (`speech_s`) from which
# a voice is trusted to match and attract, per embedding model. Resemblyzer: calibrated on the ten AMI tuning
# clips by benchmarks/quality_voices.py: `impostor_threshold` over the voices trusted at 1 s (0.86), the minimum
# that leave-one-out picks in 8 of 10 folds (no false merge left out at 0.5-2 s; 3-10 s let some through:
# docs/QUALITY.md). A model without an entry (e.g. a pyannote pipeline's embedding: calibrate it with the same
# benchmark before trusting matches) uses the defaults, which accept only near-identical, long voices.
THRESHOLDS: dict[str, float] = {"resemblyzer": 0.86}
MIN_TRUSTED_SPEECH_S: dict[str, float] = {"resemblyzer": 1.0}
DEFAULT_THRESHOLD = 0.95
CALIBRATION = "impostor-max+jackknife-margin"  # how THRESHOLDS were set (`impostor_threshold`)


def min_trusted_speech_s(model: str) -> float:
    """Seconds of clean speech from which a voice of `model` is trusted (uncalibrated models: MIN_VOICE_SPEECH_S)."""
    from vidassets.ml.voices import MIN_VOICE_SPEECH_S

    return float(MIN_TRUSTED_SPEECH_S.get(model, MIN_VOICE_SPEECH_S))


def rules_tag() -> str:
    """The matching rules in force, for the `speaker_registry` asset's code version and metadata: changing a
    threshold, a trust minimum or the calibration marks the registry stale (a `rebuild` re-assigns)."""
    models = sorted(set(THRESHOLDS) | set(MIN_TRUSTED_SPEECH_S))
    per_model = ",".join(f"{m}:{threshold_for(m)}@{min_trusted_speech_s(m)}s" for m in models)
    return f"{CALIBRATION}({per_model};default:{DEFAULT_THRESHOLD}@{min_trusted_speech_s('')}s)"


def threshold_for(model: str, overrides: Mapping[str, float] | None = None) -> float:
    """The match threshold for embeddings of `model` (`overrides` first, then the calibrated table)."""
    for table in (overrides or {}, THRESHOLDS):
        if model in table:
            return float(table[model])
    return DEFAULT_THRESHOLD


def impostor_threshold(
    embeddings: Sequence[Sequence[float]], videos: Sequence[str], people: Sequence[str], step: float = 0.01,
) -> float:
    """The match threshold calibrated on impostor trials (pairs of voices of two different people in two different
    videos: what the registry compares), with no same-person pair needed: the highest impostor similarity, plus
    how far one video alone raised that maximum (the highest impostor similarity minus the highest one without
    that video, the most over any video: the margin a new video may need), rounded up to the next multiple of
    `step` above. Pass trusted voices only (unit vectors).

    Why not the F1-best threshold: on the AMI tuning clips the trusted voices hold one recurring person, so with
    that pair's clip held out there is nothing to tune on and leave-one-out F1 is 0.00 (docs/QUALITY.md)."""
    vectors = np.asarray(embeddings, dtype=np.float64).reshape(len(embeddings), -1)
    trials: list[tuple[float, str, str]] = []
    for a in range(len(vectors)):
        for b in range(a + 1, len(vectors)):
            if videos[a] != videos[b] and people[a] != people[b]:
                trials.append((float(vectors[a] @ vectors[b]), videos[a], videos[b]))
    if not trials:
        return 1.0
    top = max(sim for sim, _, _ in trials)
    margin = 0.0
    for video in sorted(set(videos)):
        others = [sim for sim, va, vb in trials if video not in (va, vb)]
        margin = max(margin, top - max(others, default=top))
    return round(min(1.0, (np.floor((top + margin) / step + 1e-9) + 1) * step), 6)


def voice_id_for(video_id: str, speaker: str, *, split: bool = False) -> str:
    """`v-<12 hex>` from the (video, speaker) that founded the voice (split ones from a distinct seed)."""
    seed = f"{'split:' if split else ''}{video_id}/{speaker}"
    return "v-" + hashlib.sha256(seed.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class SpeakerVoice:
    """One local speaker of one video, as the `voices` table has it. With `speech_s` (seconds of clean speech)
    trust follows the model's calibrated minimum; without it, the diarizer's `too_short` flag."""

    video_id: str
    speaker: str
    model: str
    embedding: tuple[float, ...] | None
    too_short: bool
    speech_s: float | None = None

    @property
    def trusted(self) -> bool:
        if self.embedding is None:
            return False
        if self.speech_s is not None:
            return self.speech_s >= min_trusted_speech_s(self.model)
        return not self.too_short


@dataclass(frozen=True)
class Assignment:
    """A registry row: where one (video, speaker) went."""

    video_id: str
    speaker: str
    voice_id: str
    model: str
    similarity: float | None  # to the voice's centroid when matched; None when it founded the voice
    founder: bool
    attracts: bool  # a trusted voice others may join (False: too short, or split out by hand)
    seq: int  # the video's position in the registry order
    group: str = ""  # the founder id of the centroid it joined (a merged voice has one per merged voice)


@dataclass
class Overrides:
    """Hand edits that every build honours: merges (voice id -> the voice it joins) and split members."""

    merges: dict[str, str] = field(default_factory=dict)
    splits: set[tuple[str, str]] = field(default_factory=set)

    def canonical(self, voice_id: str) -> str:
        seen = {voice_id}
        while voice_id in self.merges:
            voice_id = self.merges[voice_id]
            if voice_id in seen:
                break  # a cycle written by hand: stop at the first repeat
            seen.add(voice_id)
        return voice_id

    def to_json(self) -> dict:
        return {"merges": dict(sorted(self.merges.items())), "splits": sorted([list(s) for s in self.splits])}

    @classmethod
    def from_json(cls, data: Mapping | None) -> Overrides:
        data = data or {}
        return cls(merges=dict(data.get("merges") or {}),
                   splits={(str(v), str(s)) for v, s in data.get("splits") or []})


class _Voice:
    """A corpus voice while building: its videos, and per model one centroid sum per founder group (a merged
    voice keeps each merged voice's centroid, so a speaker close to either joins it)."""

    __slots__ = ("voice_id", "videos", "sums", "attracts")

    def __init__(self, voice_id: str, attracts: bool) -> None:
        self.voice_id = voice_id
        self.videos: set[str] = set()
        self.sums: dict[str, dict[str, np.ndarray]] = {}  # model -> founder group -> sum of unit embeddings
        self.attracts = attracts

    def add(self, member: SpeakerVoice, group: str) -> None:
        self.videos.add(member.video_id)
        if member.trusted:
            vector = np.asarray(member.embedding, dtype=np.float64)
            groups = self.sums.setdefault(member.model, {})
            groups[group] = groups.get(group, 0.0) + vector

    def best(self, model: str, vector: np.ndarray) -> tuple[float, str]:
        """(similarity, founder group) of the group centroid closest to `vector`."""
        return max((float(_unit(total) @ vector), group) for group, total in sorted(self.sums[model].items()))


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


class RegistryBuilder:
    """Assign videos one at a time, in the registry order; start from nothing (a rebuild) or from kept rows."""

    def __init__(self, overrides: Overrides | None = None, thresholds: Mapping[str, float] | None = None) -> None:
        self.overrides = overrides or Overrides()
        self.thresholds = dict(thresholds or {})
        self.voices: dict[str, _Voice] = {}
        self.rows: dict[tuple[str, str], Assignment] = {}
        self.next_seq = 0
        self.conflicts: list[str] = []  # merges that were not applied (they would join two speakers of a video)

    def keep(self, rows: Iterable[Assignment], members: Mapping[tuple[str, str], SpeakerVoice]) -> None:
        """Seed with rows kept from an earlier build (their ids stay; centroids come from `members`, so a new
        embedding model gives new centroids under the same ids)."""
        for row in sorted(rows, key=lambda r: (r.seq, r.video_id, r.speaker)):
            member = members.get((row.video_id, row.speaker))
            voice = self.voices.get(row.voice_id)
            if voice is None:
                voice = self.voices[row.voice_id] = _Voice(row.voice_id, row.attracts)
            group = row.group or row.voice_id
            if member is not None:
                voice.add(member, group)
            self.rows[(row.video_id, row.speaker)] = row
            self.next_seq = max(self.next_seq, row.seq + 1)

    def add_video(self, video_id: str, speakers: Sequence[SpeakerVoice]) -> list[Assignment]:
        from scipy.optimize import linear_sum_assignment

        seq = self.next_seq
        self.next_seq += 1
        ordered = sorted(speakers, key=lambda s: s.speaker)
        matchable = [s for s in ordered if s.trusted and (video_id, s.speaker) not in self.overrides.splits]
        taken: set[str] = set()
        out: list[Assignment] = []
        matched: dict[str, tuple[str, float, str]] = {}  # speaker -> (voice, similarity, founder group)
        by_model: dict[str, list[SpeakerVoice]] = {}
        for s in matchable:
            by_model.setdefault(s.model, []).append(s)
        for model, group in sorted(by_model.items()):
            candidates = sorted(v for v, voice in self.voices.items()
                                if voice.attracts and model in voice.sums and video_id not in voice.videos)
            if not candidates:
                continue
            vectors = [_unit(np.asarray(s.embedding, dtype=np.float64)) for s in group]
            best = [[self.voices[v].best(model, x) for v in candidates] for x in vectors]
            similarity = np.array([[sim for sim, _ in row] for row in best])
            rows, cols = linear_sum_assignment(-similarity)
            threshold = threshold_for(model, self.thresholds)
            for r, c in zip(rows, cols, strict=True):
                if similarity[r, c] >= threshold:
                    matched[group[r].speaker] = (candidates[c], round(float(similarity[r, c]), 4), best[r][c][1])
        taken.update(voice_id for voice_id, _, _ in matched.values())
        for s in ordered:
            split = (video_id, s.speaker) in self.overrides.splits
            sim: float | None
            if s.speaker in matched:
                voice_id, sim, group_id = matched[s.speaker]
                founder = False
            else:
                voice_id, sim, founder = self._found(video_id, s, split, taken)
                group_id = voice_id_for(video_id, s.speaker, split=split)
            voice = self.voices[voice_id]
            voice.add(s, group_id)
            taken.add(voice_id)
            row = Assignment(video_id, s.speaker, voice_id, s.model, sim, founder, voice.attracts, seq, group_id)
            self.rows[(video_id, s.speaker)] = row
            out.append(row)
        return out

    def _found(self, video_id: str, s: SpeakerVoice, split: bool, taken: set[str]) -> tuple[str, float | None, bool]:
        """A new voice for `s`, or the existing voice its founder id is merged into."""
        attracts = s.trusted and not split
        own = voice_id_for(video_id, s.speaker, split=split)
        target = self.overrides.canonical(own)
        if target != own:
            existing = self.voices.get(target)
            if existing is not None and video_id not in existing.videos and target not in taken:
                return target, None, False
            if existing is None:
                self.voices[target] = _Voice(target, attracts)
                return target, None, True
            self.conflicts.append(f"{own} -> {target}: {video_id} already has a speaker in {target}")
        self.voices[own] = _Voice(own, attracts)
        return own, None, True

    def assignments(self) -> list[Assignment]:
        return sorted(self.rows.values(), key=lambda r: (r.seq, r.video_id, r.speaker))


def build(
    videos: Mapping[str, Sequence[SpeakerVoice]],
    previous: Sequence[Assignment] = (),
    *,
    overrides: Overrides | None = None,
    thresholds: Mapping[str, float] | None = None,
    rebuild: bool = False,
) -> RegistryBuilder:
    """The registry over `videos` (video id -> its speakers).

    Incremental (default): rows of `previous` whose video still has exactly the same speakers are kept; other
    videos are assigned after them, in registry order (earlier seq first, new videos by id). `rebuild=True`
    re-assigns every video in that same order from nothing (the result equals the incremental one when videos
    were only added)."""
    prev_by_video: dict[str, list[Assignment]] = {}
    for row in previous:
        prev_by_video.setdefault(row.video_id, []).append(row)
    members = {(s.video_id, s.speaker): s for speakers in videos.values() for s in speakers}
    builder = RegistryBuilder(overrides, thresholds)
    kept: list[Assignment] = []
    todo: list[tuple[float, str]] = []
    for video_id, speakers in videos.items():
        rows = prev_by_video.get(video_id)
        same = rows is not None and {r.speaker for r in rows} == {s.speaker for s in speakers}
        if same and not rebuild:
            kept.extend(rows)  # type: ignore[arg-type]
        else:
            order = min(r.seq for r in rows) if same and rows else float("inf")
            todo.append((order, video_id))
    builder.keep(kept, members)
    for _, video_id in sorted(todo):
        builder.add_video(video_id, videos[video_id])
    return builder
