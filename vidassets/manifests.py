"""The value of every per-video asset, defined once (as WhisperX's `schema.py` does for its outputs).

Each asset's manifest is JSON at `<root>/assets/<asset>/<video_id>/manifest.json`; assets return these, the
warehouse rows, the CLI and the API read them. The speech types (`Segment`, `Word`: WhisperX's transcript shape,
which `transcript.json` keeps, a public interface; `TurnRecord`) are defined once in `vidassets.ml.speech_types`,
which the speech code returns, and re-exported here. Dagster-free.
"""

from typing import Any, NotRequired, TypedDict

from vidassets.ml.speech_types import Segment as Segment
from vidassets.ml.speech_types import Transcription as Transcription
from vidassets.ml.speech_types import TurnRecord as TurnRecord
from vidassets.ml.speech_types import VoiceRecord as VoiceRecord
from vidassets.ml.speech_types import Word as Word


class SpeakerStats(TypedDict):
    speaker: str
    talk_time_s: float
    word_count: int
    words_per_minute: float | None


class SourceVideoManifest(TypedDict):
    video_id: str
    source_uri: str
    bucket: str
    key: str
    etag: str
    size_bytes: int
    suffix: str
    sha256: str
    probe: dict[str, Any]  # media.probe.VideoProbe.to_dict()
    fetched_at: str
    code_version: str


class FrameEntry(TypedDict):
    index: int
    timestamp_s: float
    is_keyframe: bool
    key: str
    width: int
    height: int


class ShotEntry(TypedDict):
    index: int
    start_s: float
    end_s: float
    start_frame: int
    end_frame: int  # exclusive
    transition: str  # how the shot begins: "start" (the first shot), "cut" or "gradual"
    keyframe_s: float
    keyframe_key: str
    keyframe_sharpness: float  # variance of the Laplacian (luma at 320 px)
    width: int
    height: int
    keyframe_dhash: NotRequired[str]  # 64-bit difference hash (16 hex) of the keyframe: repeated pictures


class ShotsManifest(TypedDict):
    video_id: str
    method: str  # "pyscenedetect-content" or "transnetv2"
    model: str  # the detector and its version, e.g. "scenedetect 0.7.2 ContentDetector"
    params: dict[str, float]
    fps: float
    frames_decoded: int
    count: int
    shots: list[ShotEntry]
    code_version: str


class ShotFaces(TypedDict):
    shot_index: int
    keyframe_s: float
    keyframe_key: str
    width: int
    height: int
    faces: list[dict[str, Any]]  # {box: [x, y, w, h], score}, best first
    hint: str  # talking_head | slides | other (from the faces and the screen_text area)
    text_area: float  # share of the keyframe covered by on-screen text (screen_text)


class FacesManifest(TypedDict):
    video_id: str
    method: str
    model: str  # e.g. "centerface sha256:<12 hex>"
    threshold: float
    keyframes: int
    keyframes_with_faces: int
    shots: list[ShotFaces]
    time_share_with_faces: float  # share of the video's time in shots whose keyframe has a face
    code_version: str


class ScreenTextBlock(TypedDict):
    block_index: int
    start: float  # the first shot's start (s)
    end: float  # the last consecutive shot's end with the same text (s)
    text: str
    text_redacted: str  # personal data replaced by tags (`[PHONE]`, ...), as in the speech transcript
    confidence: float
    box: list[float]  # x0, y0, x1, y1 as fractions of the frame (on the first shot)
    shot_index: int  # the first shot showing it
    shots: int  # consecutive shots it stays on


class ShotText(TypedDict):
    shot_index: int
    keyframe_key: str
    read: str  # "ocr" | "duplicate" (same picture as an earlier keyframe) | "no_text" (presence check)
    blocks: int
    text_area: float  # share of the keyframe covered by text boxes
    title_block: int | None  # block_index of the shot's slide title (its top block in the largest type), if any


class ScreenTextManifest(TypedDict):
    video_id: str
    method: str
    model: str  # e.g. "rapidocr-ppocrv4 det sha256:<12> rec sha256:<12>"
    params: dict[str, float]
    keyframes: int
    keyframes_read: int  # the full recognizer ran
    keyframes_duplicate: int
    keyframes_without_text: int
    blocks: list[ScreenTextBlock]
    shots: list[ShotText]
    pii_redactions: dict[str, int]
    time_share_with_text: float  # share of the video's time in shots whose keyframe shows text
    code_version: str


class FramesManifest(TypedDict):
    video_id: str
    method: str
    rate_fps: float
    max_frames: int
    count: int
    frames: list[FrameEntry]
    code_version: str


class FrameDetections(TypedDict):
    index: int
    timestamp_s: float
    detections: list[dict[str, Any]]  # {label, score, box}


class ModerationManifest(TypedDict):
    video_id: str
    verdict: str  # approved | rejected
    reasons: list[str]
    frames_checked: int
    frames_flagged: int
    flagged_ratio: float
    flagged_timestamps_s: list[float]
    label_counts: dict[str, int]
    policy: dict[str, Any]
    frames: list[FrameDetections]
    model: str
    method: str
    device: str
    code_version: str


class AudioManifest(TypedDict):
    video_id: str
    sample_rate: int
    channels: int
    has_audio: bool
    key: str | None
    duration_s: float
    format: NotRequired[str]
    sha256: NotRequired[str]
    code_version: str


class TranscriptManifest(Transcription):
    """What `ml.transcription.transcribe` returns (language, segments, speech regions) and its provenance."""

    video_id: str
    model: str
    vad: str
    aligner: str
    duration_s: float
    word_count: int
    code_version: str


class DiarizedTranscriptManifest(TypedDict):
    video_id: str
    language: str | None
    segments: list[Segment]
    turns: list[TurnRecord]
    speakers: list[SpeakerStats]
    voices: NotRequired[list[VoiceRecord]]  # one per speaker (absent in manifests written before voices)
    diarizer: str
    diarizer_method: str
    transcript_model: str
    aligner: str
    code_version: str


class SegmentScores(TypedDict):
    segment_index: int
    start: float | None
    end: float | None
    speaker: str | None
    scores: dict[str, float]  # category -> score
    flagged: bool
    flagged_categories: list[str]


class TextModerationManifest(TypedDict):
    video_id: str
    verdict: str  # approved | flagged | rejected | no_speech | unsupported_language
    reasons: list[str]
    language: str | None
    model: str
    method: str
    categories: list[str]
    model_languages: list[str] | None
    policy: dict[str, Any]
    speech_s: float
    segments: list[SegmentScores]
    flagged_segments: int
    flagged_speech_s: float
    flagged_share: float
    category_counts: dict[str, int]
    pii: dict[str, Any]  # {method, entities, counts, redactions, mask, redacted_texts}
    redacted_files: dict[str, str]  # format -> key of transcript.redacted.<format>
    transcript_model: str | None
    code_version: str


class SummaryManifest(TypedDict):
    video_id: str
    summary: str
    title: str
    topics: list[str]
    method: str
    model: str
    speakers: list[str]
    details: dict[str, Any]
    code_version: str


class FailureRecord(TypedDict, total=False):
    """A failed pipeline run of a video: the error, and where the video came from."""

    video_id: str
    error: str
    source_uri: str | None
    bucket: str | None
    key: str | None
    code_version: str


class VideoManifests(TypedDict, total=False):
    """Whichever manifests of one video exist; the input of the warehouse rows."""

    source_video: SourceVideoManifest | None
    moderation: ModerationManifest | None
    shots: ShotsManifest | None
    screen_text: ScreenTextManifest | None
    faces: FacesManifest | None
    transcript: TranscriptManifest | None
    diarized_transcript: DiarizedTranscriptManifest | None
    text_moderation: TextModerationManifest | None
    summary: SummaryManifest | None


MANIFEST_ASSETS: tuple[str, ...] = tuple(VideoManifests.__annotations__)
