"""PII redaction of transcripts: written and spoken forms, word masks, no false alarms on ordinary numbers."""

import socket

import pytest

from vidassets.ml.pii_redaction import find_entities, redact_segments, spoken_reading


def _entities(text: str) -> list[tuple[str, str]]:
    words = text.split()
    return [(" ".join(words[a:b]), entity) for a, b, entity, _, _ in find_entities(words)]


@pytest.mark.parametrize(("text", "expected"), [
    ("You can call me on 415 -867 -5309", [("415 -867 -5309", "PHONE_NUMBER")]),
    ("call four one five, eight six seven, five three oh nine please",
     [("four one five, eight six seven, five three oh nine", "PHONE_NUMBER")]),
    ("ring plus four four two zero seven nine four six zero nine five eight",
     [("plus four four two zero seven nine four six zero nine five eight", "PHONE_NUMBER")]),
    ("Please email me at Anna at gmail .com", [("Anna at gmail .com", "EMAIL_ADDRESS")]),
    ("send it to john dot smith at example dot co dot uk.", [("john dot smith at example dot co dot uk.",
                                                             "EMAIL_ADDRESS")]),
    ("write to bob@example.org, thanks", [("bob@example.org,", "EMAIL_ADDRESS")]),
    ("my card is 4111 1111 1111 1111", [("4111 1111 1111 1111", "CREDIT_CARD")]),
    ("card number four five three two, zero one five one, one two eight three, zero three six six",
     [("four five three two, zero one five one, one two eight three, zero three six six", "CREDIT_CARD")]),
    ("my iban is GB82 WEST 1234 5698 7654 32.", [("GB82 WEST 1234 5698 7654 32.", "IBAN_CODE")]),
])
def test_written_and_spoken_entities_are_found(text, expected):
    assert _entities(text) == expected


@pytest.mark.parametrize("text", [
    "I have two dogs and three cats at home.",
    "We met at ten past nine, she is twenty one.",
    "card 4111 1111 1111 1112",  # fails the Luhn check
    "the iban GB82 WEST 1234 5698 7654 33",  # wrong checksum
    "look at this dot on the map",
    "In 2019 we sold 4500 units at 12 dollars.",
])
def test_ordinary_numbers_and_words_are_left_alone(text):
    assert _entities(text) == []


def test_spoken_reading_joins_digits_and_glues_symbols():
    assert spoken_reading(["call", "double", "five", "five", "one", "two", "three"]).text == "call 555123"
    assert spoken_reading(["anna", "at", "gmail", "dot", "com"]).text == "anna@gmail.com"
    assert spoken_reading(["for", "one", "for", "one"]).text == "4141"


def test_redacted_segments_keep_the_whisperx_shape_and_a_word_mask(monkeypatch):
    looked_up: list[str] = []

    def no_dns(host, *args, **kwargs):
        looked_up.append(host)
        raise OSError("no network in this test")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    text = "Hi, call me on 415 -867 -5309 or mail anna at gmail dot com."
    words = [{"word": w, "start": float(i), "end": i + 0.5, "score": 0.9, "speaker": "SPEAKER_01"}
             for i, w in enumerate(text.split())]
    benign = {"start": 20.0, "end": 22.0, "text": "Thanks a lot.", "speaker": "SPEAKER_00",
              "words": [{"word": "Thanks", "start": 20.0, "end": 20.5}]}
    segment = {"start": 0.0, "end": 15.0, "text": text, "speaker": "SPEAKER_01", "words": words}
    result = redact_segments([segment, benign])
    redacted = result.segments[0]
    assert redacted["text"] == "Hi, call me on [PHONE] or mail [EMAIL]."
    assert [w["word"] for w in redacted["words"]][-3:] == ["or", "mail", "[EMAIL]."]
    phone = redacted["words"][4]
    assert phone == {"word": "[PHONE]", "start": 4.0, "end": 6.5, "redacted": "PHONE_NUMBER",
                     "speaker": "SPEAKER_01"}
    assert result.segments[1] == benign and segment["text"] == text  # input untouched
    assert [(m["word_index"], m["entity"]) for m in result.mask] == [
        (4, "PHONE_NUMBER"), (5, "PHONE_NUMBER"), (6, "PHONE_NUMBER"),
        (9, "EMAIL_ADDRESS"), (10, "EMAIL_ADDRESS"), (11, "EMAIL_ADDRESS"), (12, "EMAIL_ADDRESS"),
        (13, "EMAIL_ADDRESS")]
    assert result.mask[0] == {"segment_index": 0, "word_index": 4, "start": 4.0, "end": 4.5,
                              "entity": "PHONE_NUMBER"}
    assert result.entity_counts() == {"PHONE_NUMBER": 1, "EMAIL_ADDRESS": 1}
    assert looked_up == [], "the e-mail TLD check must use tldextract's bundled snapshot"


def test_segment_without_words_is_redacted_by_text_and_unknown_entities_fail():
    result = redact_segments([{"start": 0.0, "end": 2.0, "text": "mail bob@example.org now"}])
    assert result.segments[0]["text"] == "mail [EMAIL] now" and "words" not in result.segments[0]
    assert result.mask == [{"segment_index": 0, "word_index": 1, "start": None, "end": None,
                            "entity": "EMAIL_ADDRESS"}]
    with pytest.raises(ValueError, match="unknown PII entities"):
        redact_segments([], entities=["PASSPORT"])
