"""The registry's rules on synthetic voices: constrained matching, founder ids, order-stable rebuilds, hand edits."""

import numpy as np
import pytest

from vidassets.ml.speaker_registry import (
    MIN_TRUSTED_SPEECH_S,
    Overrides,
    SpeakerVoice,
    build,
    impostor_threshold,
    min_trusted_speech_s,
    voice_id_for,
)
from vidassets.ml.voices import MIN_VOICE_SPEECH_S

RNG = np.random.default_rng(7)
PEOPLE = {p: RNG.normal(size=64) for p in "ABCDE"}


def voice(video: str, speaker: str, person: str, *, noise: float = 0.15, too_short: bool = False) -> SpeakerVoice:
    vector = PEOPLE[person] / np.linalg.norm(PEOPLE[person]) + RNG.normal(scale=noise / 8, size=64)
    return SpeakerVoice(video, speaker, "resemblyzer", tuple(vector / np.linalg.norm(vector)), too_short)


def corpus() -> dict[str, list[SpeakerVoice]]:
    return {
        "talk-a-000000000001": [voice("talk-a-000000000001", "SPEAKER_00", "A"),
                                voice("talk-a-000000000001", "SPEAKER_01", "B")],
        "talk-b-000000000002": [voice("talk-b-000000000002", "SPEAKER_00", "B"),
                                voice("talk-b-000000000002", "SPEAKER_01", "C")],
        "talk-c-000000000003": [voice("talk-c-000000000003", "SPEAKER_00", "C"),
                                voice("talk-c-000000000003", "SPEAKER_01", "A"),
                                voice("talk-c-000000000003", "SPEAKER_02", "D", too_short=True)],
    }


def ids(builder) -> dict[tuple[str, str], str]:
    return {(a.video_id, a.speaker): a.voice_id for a in builder.assignments()}


def test_same_person_gets_one_id_derived_from_the_founder():
    got = ids(build(corpus()))
    a = voice_id_for("talk-a-000000000001", "SPEAKER_00")
    b = voice_id_for("talk-a-000000000001", "SPEAKER_01")
    c = voice_id_for("talk-b-000000000002", "SPEAKER_01")
    assert got[("talk-c-000000000003", "SPEAKER_01")] == a
    assert got[("talk-b-000000000002", "SPEAKER_00")] == b
    assert got[("talk-c-000000000003", "SPEAKER_00")] == c
    assert got[("talk-c-000000000003", "SPEAKER_02")] == voice_id_for("talk-c-000000000003", "SPEAKER_02")


def test_two_speakers_of_one_video_never_share_a_voice():
    videos = {"one-000000000001": [voice("one-000000000001", "SPEAKER_00", "A")],
              "two-000000000002": [voice("two-000000000002", "SPEAKER_00", "A"),
                                   voice("two-000000000002", "SPEAKER_01", "A", noise=0.3)]}
    got = build(videos).assignments()
    two = [a.voice_id for a in got if a.video_id == "two-000000000002"]
    assert len(set(two)) == 2
    assert voice_id_for("one-000000000001", "SPEAKER_00") in two


def test_too_short_voices_never_attract():
    videos = {"one-000000000001": [voice("one-000000000001", "SPEAKER_00", "E", too_short=True)],
              "two-000000000002": [voice("two-000000000002", "SPEAKER_00", "E")]}
    got = ids(build(videos))
    assert got[("two-000000000002", "SPEAKER_00")] == voice_id_for("two-000000000002", "SPEAKER_00")
    assert len(set(got.values())) == 2


def test_incremental_runs_and_a_rebuild_give_the_same_ids():
    videos = corpus()
    names = sorted(videos)
    state = build({names[0]: videos[names[0]]})
    for i in range(2, len(names) + 1):
        state = build({n: videos[n] for n in names[:i]}, state.assignments())
    incremental = state.assignments()
    rebuilt = build(videos, incremental, rebuild=True).assignments()
    assert incremental == rebuilt
    assert ids(build(videos)) == {(a.video_id, a.speaker): a.voice_id for a in incremental}


def test_a_new_video_first_by_id_does_not_change_registered_ids():
    videos = corpus()
    before = build(videos)
    late = {"aaa-000000000009": [voice("aaa-000000000009", "SPEAKER_00", "C")]}  # sorts first, comes last
    after = build({**videos, **late}, before.assignments())
    old = ids(before)
    assert {k: v for k, v in ids(after).items() if k in old} == old
    assert ids(after)[("aaa-000000000009", "SPEAKER_00")] == voice_id_for("talk-b-000000000002", "SPEAKER_01")
    assert after.assignments() == build({**videos, **late}, after.assignments(), rebuild=True).assignments()


def test_merge_and_split_are_kept_by_rebuilds():
    videos = {"one-000000000001": [voice("one-000000000001", "SPEAKER_00", "A")],
              "two-000000000002": [voice("two-000000000002", "SPEAKER_00", "D")],
              "zed-000000000003": [voice("zed-000000000003", "SPEAKER_00", "D")]}
    first = build(videos)
    a, d = voice_id_for("one-000000000001", "SPEAKER_00"), voice_id_for("two-000000000002", "SPEAKER_00")
    assert set(ids(first).values()) == {a, d}
    overrides = Overrides(merges={d: a})
    merged = build(videos, first.assignments(), overrides=overrides, rebuild=True)
    assert set(ids(merged).values()) == {a}
    # a later video of person D now joins the merged voice
    late = {"zzz-000000000004": [voice("zzz-000000000004", "SPEAKER_00", "D")]}
    assert ids(build({**videos, **late}, merged.assignments(), overrides=overrides))[
        ("zzz-000000000004", "SPEAKER_00")] == a
    split = build(videos, first.assignments(), overrides=Overrides(splits={("zed-000000000003", "SPEAKER_00")}),
                  rebuild=True)
    got = ids(split)
    assert got[("zed-000000000003", "SPEAKER_00")] == voice_id_for("zed-000000000003", "SPEAKER_00", split=True)
    assert got[("two-000000000002", "SPEAKER_00")] == d
    assert not [a for a in split.assignments() if a.video_id == "zed-000000000003"][0].attracts


def test_trust_follows_the_calibrated_minimum_of_clean_speech_not_the_diarizers_flag():
    """A voice with `speech_s` is trusted from the model's calibrated minimum (Resemblyzer 1 s) even when the
    diarizer flagged it `too_short` (its fixed 10 s); one under the minimum never matches nor attracts."""
    assert min_trusted_speech_s("resemblyzer") == MIN_TRUSTED_SPEECH_S["resemblyzer"] < MIN_VOICE_SPEECH_S
    assert min_trusted_speech_s("pyannote:uncalibrated") == MIN_VOICE_SPEECH_S

    def timed(video: str, person: str, speech_s: float) -> SpeakerVoice:
        v = voice(video, "SPEAKER_00", person, too_short=True)
        return SpeakerVoice(v.video_id, v.speaker, v.model, v.embedding, True, speech_s)

    enough = MIN_TRUSTED_SPEECH_S["resemblyzer"] + 1.0
    videos = {"one-000000000001": [timed("one-000000000001", "A", enough)],
              "two-000000000002": [timed("two-000000000002", "A", enough)],
              "three-00000000003": [timed("three-00000000003", "B", enough)],
              "four-000000000004": [timed("four-000000000004", "B", MIN_TRUSTED_SPEECH_S["resemblyzer"] / 2)]}
    got = ids(build(videos))
    assert got[("two-000000000002", "SPEAKER_00")] == voice_id_for("one-000000000001", "SPEAKER_00")
    assert got[("four-000000000004", "SPEAKER_00")] == voice_id_for("four-000000000004", "SPEAKER_00")
    # without speech_s the diarizer's flag decides, as before
    flagged = {v: [SpeakerVoice(s.video_id, s.speaker, s.model, s.embedding, True)] for v, [s] in videos.items()}
    assert len(set(ids(build(flagged)).values())) == 4


def test_impostor_threshold_clears_every_impostor_by_the_jackknife_margin():
    """Impostor trials are pairs of two people in two videos; the threshold sits above the highest one (a-b 0.80) by
    how far one video alone raised it (without v1 the highest is b-c 0.70: margin 0.10), on the 0.01 grid."""
    gram = np.array([[1.0, 0.80, 0.75], [0.80, 1.0, 0.70], [0.75, 0.70, 1.0]])
    a, b, c = np.linalg.cholesky(gram)  # rows with exactly these dot products
    assert impostor_threshold([a, b, c], ["v1", "v2", "v3"], ["x", "y", "z"]) == pytest.approx(0.91)
    # a same-person pair (b again in v4: similarity 1.0) and a same-video pair (a's twin in v1) are no trials
    assert impostor_threshold([a, b, c, b, a], ["v1", "v2", "v3", "v4", "v1"],
                              ["x", "y", "z", "y", "w"]) == pytest.approx(0.91)
    assert impostor_threshold([a, b, c, b], ["v1", "v2", "v3", "v4"], ["x", "y", "z", "q"]) == 1.0  # 1.0 impostor
    assert impostor_threshold([a], ["v1"], ["x"]) == 1.0  # no trial: accept nothing
