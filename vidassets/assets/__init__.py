"""Per-video assets, grouped by domain."""

from vidassets.assets.media import audio, frames, source_video
from vidassets.assets.moderation import moderation

per_video_assets = [source_video, frames, moderation, audio]
