"""Transcript moderation: the packaged linear model, a local transformers classifier built here, the policy."""

import pytest

from vidassets.ml.text_moderation import (
    HFTextClassifierModerator,
    ProfanityCheckModerator,
    TextModerationPolicy,
    load_text_moderator,
    map_labels,
    moderate_segments,
    parse_label_map,
)
from vidassets.ml.whisper_weights import ModelNotFoundError
from vidassets_tests.ml.model_builders import build_tiny_text_classifier

DETOXIFY_LABELS = ("toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack")


def _segments(*lines: tuple[float, float, str]) -> list[dict]:
    return [{"start": s, "end": e, "text": t, "speaker": f"SPEAKER_0{i % 2}"} for i, (s, e, t) in enumerate(lines)]


def test_packaged_model_separates_insults_from_benign_speech():
    moderator = ProfanityCheckModerator()
    benign, insult, swear = moderator.score([
        "Thank you all for coming to the meeting today.", "You are a stupid idiot and everybody hates you.",
        "Shut the fuck up.",
    ])
    assert benign["profanity"] < 0.2 and insult["profanity"] > 0.8 and swear["profanity"] > 0.8
    assert moderator.name.startswith("alt-profanity-check 1.9") and "linear SVM" in moderator.method
    assert load_text_moderator(None).name == moderator.name


def test_flag_policy_flags_segments_and_reject_policy_rejects_above_the_share():
    segments = _segments((0.0, 4.0, "Thank you all for coming to the meeting today."),
                         (4.0, 6.0, "You are a stupid idiot."),
                         (6.0, 10.0, "The budget is approved for next year."))
    moderator = ProfanityCheckModerator()
    flagged = moderate_segments(moderator, TextModerationPolicy(), segments, "en")
    assert flagged["verdict"] == "flagged" and flagged["flagged_segments"] == 1
    assert [s["flagged"] for s in flagged["segments"]] == [False, True, False]
    assert flagged["segments"][1]["flagged_categories"] == ["profanity"]
    assert flagged["flagged_share"] == pytest.approx(0.2) and flagged["speech_s"] == 10.0
    assert flagged["model"] == moderator.name and flagged["method"] == moderator.method
    rejected = moderate_segments(moderator, TextModerationPolicy(action="reject", reject_share=0.1), segments, "en")
    assert rejected["verdict"] == "rejected" and "20% of speech time flagged (limit 10%)" in rejected["reasons"][0]
    tolerant = moderate_segments(moderator, TextModerationPolicy(action="reject", reject_share=0.25), segments, "en")
    assert tolerant["verdict"] == "flagged"
    strict = TextModerationPolicy(category_thresholds={"profanity": 0.99999999})
    assert moderate_segments(moderator, strict, segments[:1], "en")["verdict"] == "approved"


def test_unsupported_language_is_said_not_scored():
    result = moderate_segments(ProfanityCheckModerator(), TextModerationPolicy(),
                               _segments((0.0, 2.0, "Du bist ein Idiot.")), "de")
    assert result["verdict"] == "unsupported_language" and result["segments"] == []
    assert "supports en" in result["reasons"][0] and "language is de" in result["reasons"][0]
    empty = moderate_segments(ProfanityCheckModerator(), TextModerationPolicy(), [], None)
    assert empty["verdict"] == "no_speech" and empty["flagged_share"] == 0.0


def test_bad_policy_is_a_clear_error():
    with pytest.raises(ValueError, match="action must be one of"):
        TextModerationPolicy(action="delete")
    with pytest.raises(ValueError, match="unknown categories"):
        TextModerationPolicy(category_thresholds={"rudeness": 0.5})
    with pytest.raises(ValueError, match="reject_share"):
        TextModerationPolicy(reject_share=1.5)


def test_local_transformers_classifier_maps_labels_to_categories(tmp_path):
    model_dir = build_tiny_text_classifier(tmp_path / "toxic-tiny", DETOXIFY_LABELS, biases={"insult": 8.0})
    moderator = load_text_moderator(str(model_dir), languages=["en", "fr"])
    assert isinstance(moderator, HFTextClassifierModerator) and moderator.activation == "sigmoid"
    assert moderator.categories == DETOXIFY_LABELS and moderator.name == "toxic-tiny (BertForSequenceClassification)"
    scores = moderator.score(["you are a stupid idiot", "thank you", "hello"] * 7)  # more than one batch
    assert len(scores) == 21 and all(set(s) == set(DETOXIFY_LABELS) for s in scores)
    assert all(s["insult"] > 0.99 and s["threat"] < 0.05 for s in scores)
    result = moderate_segments(moderator, TextModerationPolicy(), _segments((0, 1, "hello"), (1, 2, "thank you")), "fr")
    assert result["verdict"] == "flagged" and result["category_counts"] == {"insult": 2}
    assert moderate_segments(moderator, TextModerationPolicy(), _segments((0, 1, "hallo")), "de")["verdict"] == \
        "unsupported_language"


def test_single_label_classifier_with_neutral_and_renamed_labels(tmp_path):
    model_dir = build_tiny_text_classifier(tmp_path / "binary", ("non-toxic", "LABEL_1"), multi_label=False,
                                           biases={"LABEL_1": 6.0})
    with pytest.raises(ValueError, match=r"model labels \['LABEL_1'\] have no category"):
        load_text_moderator(str(model_dir))
    moderator = load_text_moderator(str(model_dir), label_map=parse_label_map("LABEL_1=toxicity"))
    assert moderator.activation == "softmax" and moderator.categories == ("toxicity",)
    (scores,) = moderator.score(["hello"])
    assert set(scores) == {"toxicity"} and scores["toxicity"] > 0.9


def test_label_mapping_and_missing_model_errors(tmp_path):
    assert map_labels(["toxic", "severe_toxic", "identity_hate", "neutral"]) == [
        "toxicity", "severe_toxicity", "identity_attack", None]
    with pytest.raises(ValueError, match="unknown category"):
        map_labels(["toxic"], {"toxic": "rude"})
    with pytest.raises(ValueError, match="is not label=category"):
        parse_label_map("toxic")
    with pytest.raises(ModelNotFoundError, match="VIDASSETS_TEXT_MODERATION_MODEL"):
        load_text_moderator(str(tmp_path / "nowhere"))
