"""The registry's rules on synthetic voices: constrained matching, founder ids, order-stable rebuilds, hand edits."""

import numpy as np

from vidassets.ml.speaker_registry import Overrides, SpeakerVoice, build, voice_id_for

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
