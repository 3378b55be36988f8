"""Per-video assets, grouped by domain."""

from vidassets.assets import manifest_types  # noqa: F401  (first: the manifests' Dagster types)
from vidassets.assets.analytics import video_tables, warehouse_compaction
from vidassets.assets.faces import faces
from vidassets.assets.media import audio, frames, source_video
from vidassets.assets.moderation import moderation
from vidassets.assets.screen_text import screen_text
from vidassets.assets.shots import shots
from vidassets.assets.speech import diarized_transcript, transcript
from vidassets.assets.summary import summary
from vidassets.assets.text_moderation import text_moderation
from vidassets.assets.voices import speaker_labels, speaker_registry

# In dependency order: `vidassets process` materializes them one by one in this order.
per_video_assets = [
    source_video, frames, shots, screen_text, faces, moderation, audio, transcript, diarized_transcript,
    text_moderation, summary,
]

corpus_voice_assets = [speaker_registry, speaker_labels]  # after video_tables: the corpus speaker registry

all_assets = [*per_video_assets, video_tables, warehouse_compaction, *corpus_voice_assets]
