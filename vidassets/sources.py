"""What a partition stands for: the uploaded object, carried in run tags."""

from dataclasses import dataclass
from pathlib import PurePosixPath

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".wmv", ".flv"})

TAG_VIDEO_ID = "vidassets/video_id"
TAG_BUCKET = "vidassets/bucket"
TAG_KEY = "vidassets/key"
TAG_ETAG = "vidassets/etag"
TAG_SOURCE_URI = "vidassets/source_uri"


def video_suffix(key: str) -> str | None:
    """The lower-case video extension of `key`, or None when the key does not name a video file."""
    suffix = PurePosixPath(key).suffix.lower()
    return suffix if suffix in VIDEO_SUFFIXES else None


@dataclass(frozen=True)
class SourceRef:
    video_id: str
    source_uri: str  # s3://bucket/key, or file:///abs/path for `vidassets process`
    bucket: str
    key: str
    etag: str
    size: int | None = None
    last_modified: str | None = None

    @property
    def suffix(self) -> str:
        return video_suffix(self.key) or ".mp4"

    def tags(self) -> dict[str, str]:
        return {
            TAG_VIDEO_ID: self.video_id,
            TAG_BUCKET: self.bucket,
            TAG_KEY: self.key,
            TAG_ETAG: self.etag,
            TAG_SOURCE_URI: self.source_uri,
        }

    @classmethod
    def from_tags(cls, tags: dict[str, str]) -> "SourceRef | None":
        if TAG_SOURCE_URI not in tags:
            return None
        return cls(
            video_id=tags[TAG_VIDEO_ID], source_uri=tags[TAG_SOURCE_URI], bucket=tags[TAG_BUCKET],
            key=tags[TAG_KEY], etag=tags.get(TAG_ETAG, ""),
        )
