"""Precision and recall of spoken-content moderation and PII redaction on a small labelled set.

46 sentences (benign, toxic, and with a phone number, e-mail address, card number, IBAN or SSN spoken aloud) are
scored twice with the same code the `text_moderation` asset runs:

- reference: the sentence text itself (what a perfect transcript would say);
- speech: the sentence spoken by espeak-ng, transcribed by Whisper (`--whisper`, default tiny.en) with the
  pipeline's `transcribe`, then moderated and redacted segment by segment.

A line counts as flagged when any of its segments is flagged (default policy, threshold 0.5); as redacted when an
entity of its labelled type was found in it (any entity on a line without PII is a false positive).

    uv run python benchmarks/quality_text_moderation.py [--whisper tiny.en|base] [--reference-only]
"""

import argparse
import dataclasses
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from vidassets import samples  # noqa: E402
from vidassets.ml.pii_redaction import redact_segments  # noqa: E402
from vidassets.ml.text_moderation import TextModerationPolicy, moderate_segments  # noqa: E402
from vidassets.resources.models import ModelLoader  # noqa: E402
from vidassets.settings import load_settings  # noqa: E402

# (sentence, toxic, PII entity or None)
LABELLED: list[tuple[str, bool, str | None]] = [
    ("Thank you all for coming to the meeting today.", False, None),
    ("The quarterly budget was approved last week.", False, None),
    ("We will meet at ten thirty in the main office.", False, None),
    ("I have two dogs and three cats at home.", False, None),
    ("The train leaves at five past nine from platform four.", False, None),
    ("Please look at the dot on the map.", False, None),
    ("Sales grew by twelve percent in the second quarter.", False, None),
    ("She is twenty one years old and studies physics.", False, None),
    ("Our team shipped the new release on time.", False, None),
    ("The weather should be sunny for the rest of the week.", False, None),
    ("Let's take a short break and continue in ten minutes.", False, None),
    ("The hiring plan adds four engineers in the spring.", False, None),
    ("Could you send me the slides after the call?", False, None),
    ("Room three one two is on the third floor.", False, None),
    ("The reset link expires in twenty four hours.", False, None),
    ("That idea is killer, I love it.", False, None),
    ("The meeting code is four four seven two.", False, None),
    ("Our revenue was four million two hundred thousand dollars.", False, None),
    ("The kids played in the garden until dinner.", False, None),
    ("I disagree with this plan, but let's discuss it calmly.", False, None),
    ("You are a stupid idiot and everybody hates you.", True, None),
    ("Shut up, you worthless moron.", True, None),
    ("This is the dumbest crap I have ever heard.", True, None),
    ("Get out of here, you pathetic loser.", True, None),
    ("What the hell is wrong with you, you fool.", True, None),
    ("I hate you, you disgusting pig.", True, None),
    ("Nobody cares about your stupid opinion.", True, None),
    ("You are an ugly bastard.", True, None),
    ("Go to hell and never come back.", True, None),
    ("This damn project is a piece of shit.", True, None),
    ("You are such a dumb ass.", True, None),
    ("Screw you and your useless team.", True, None),
    ("You can call me on four one five, eight six seven, five three zero nine.", False, "PHONE_NUMBER"),
    ("My number is two one two, five five five, zero one four seven.", False, "PHONE_NUMBER"),
    ("Call the office on six five zero, two five three, zero zero zero zero.", False, "PHONE_NUMBER"),
    ("Ring me on plus four four, two zero, seven nine four six, zero nine five eight.", False, "PHONE_NUMBER"),
    ("My mobile is three one two, eight nine four, seven seven one two.", False, "PHONE_NUMBER"),
    ("Write to peter at yahoo dot com.", False, "EMAIL_ADDRESS"),
    ("Please email anna at gmail dot com.", False, "EMAIL_ADDRESS"),
    ("My address is john dot smith at example dot org.", False, "EMAIL_ADDRESS"),
    ("Send the invoice to billing at acme dot com.", False, "EMAIL_ADDRESS"),
    ("Contact support at outlook dot com for help.", False, "EMAIL_ADDRESS"),
    ("My card number is four five three two, zero one five one, one two eight three, zero three six six.", False,
     "CREDIT_CARD"),
    ("The card is four one one one, one one one one, one one one one, one one one one.", False, "CREDIT_CARD"),
    ("My bank account is G B eight two, W E S T, one two three four, five six nine eight, seven six five four, "
     "three two.", False, "IBAN_CODE"),
    ("Her social security number is five three six, two two, one two three four.", False, "US_SSN"),
]


def _ratio(num: int, den: int) -> str:
    return f"{num / den:.0%} ({num}/{den})" if den else "n/a (0/0)"


def evaluate(name: str, transcripts: list[list[dict]], moderator) -> None:
    policy = TextModerationPolicy()
    tp = fp = fn = 0
    pii_tp = pii_fp = pii_fn = 0
    misses: list[str] = []
    by_entity: dict[str, list[int]] = {}
    for (_sentence, toxic, entity), segments in zip(LABELLED, transcripts, strict=True):
        result = moderate_segments(moderator, policy, segments, "en")
        flagged = any(r["flagged"] for r in result["segments"])
        tp, fp, fn = tp + (flagged and toxic), fp + (flagged and not toxic), fn + (toxic and not flagged)
        if flagged != toxic:
            misses.append(f"  toxicity {'FP' if flagged else 'FN'}: {' '.join(s['text'] for s in segments)!r}")
        found = {r.entity for r in redact_segments(segments).redactions}
        if entity is not None:
            hit = entity in found
            by_entity.setdefault(entity, [0, 0])[0] += hit
            by_entity[entity][1] += 1
            pii_tp, pii_fn = pii_tp + hit, pii_fn + (not hit)
            if not hit:
                misses.append(f"  PII FN ({entity}): {' '.join(s['text'] for s in segments)!r}")
        extra = found - {entity}
        if extra:
            pii_fp += 1
            misses.append(f"  PII FP {sorted(extra)}: {' '.join(s['text'] for s in segments)!r}")
    toxic_n = sum(t for _, t, _ in LABELLED)
    print(f"\n== {name}: {len(LABELLED)} lines ({toxic_n} toxic, {sum(e is not None for *_, e in LABELLED)} with PII)")
    print(f"toxicity flags ({moderator.name}, threshold 0.5): precision {_ratio(tp, tp + fp)}, "
          f"recall {_ratio(tp, tp + fn)}")
    print(f"PII redaction (line level): precision {_ratio(pii_tp, pii_tp + pii_fp)}, "
          f"recall {_ratio(pii_tp, pii_tp + pii_fn)}")
    print("  recall by entity: " + ", ".join(f"{e} {_ratio(h, n)}" for e, (h, n) in sorted(by_entity.items())))
    for line in misses:
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--whisper", default="tiny.en")
    parser.add_argument("--reference-only", action="store_true")
    args = parser.parse_args()
    models = ModelLoader(dataclasses.replace(load_settings().models.config, whisper_model=args.whisper))
    moderator = models.text_moderator()
    reference = [[{"start": 0.0, "end": 3.0, "text": sentence, "words": [
        {"word": w, "start": None, "end": None} for w in sentence.split()]}] for sentence, _, _ in LABELLED]
    evaluate("reference text", reference, moderator)
    if args.reference_only:
        return
    from faster_whisper import decode_audio

    transcripts = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for i, (sentence, _, _) in enumerate(LABELLED):
            wav = samples.synthesize_speech(Path(tmp) / f"line{i:02d}.wav", [sentence], words_per_minute=140)
            transcripts.append(models.transcribe(decode_audio(str(wav), sampling_rate=16_000))["segments"])
    elapsed = time.perf_counter() - started
    evaluate(f"espeak-ng speech -> whisper {args.whisper} ({elapsed:.0f} s)", transcripts, moderator)


if __name__ == "__main__":
    main()
