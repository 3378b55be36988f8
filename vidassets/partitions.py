"""The `videos` dynamic partitions and the one safe mapping from an S3 object to a partition key.

Dagster does not validate dynamic partition keys, and S3 keys may hold `/`, `..`, spaces, unicode or
1,000 characters. Every video id (partition key, local file name, storage prefix) comes from `video_id_for`.
"""

import hashlib
import re
import unicodedata
from pathlib import PurePosixPath

import dagster as dg

videos_partitions = dg.DynamicPartitionsDefinition(name="videos")

SLUG_MAX_CHARS = 48
HASH_HEX_CHARS = 12
_HASH = rf"[0-9a-f]{{{HASH_HEX_CHARS}}}"
_VIDEO_ID_RE = re.compile(rf"^(?:[a-z0-9](?:[a-z0-9-]{{0,{SLUG_MAX_CHARS - 1}}})?-)?{_HASH}$")


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    return slug[:SLUG_MAX_CHARS].rstrip("-")


def video_id_for(bucket: str, key: str) -> str:
    """`<ascii slug of the basename, <=48 chars>-<first 12 hex of sha1(bucket/key)>`, deterministic and safe."""
    digest = hashlib.sha1(f"{bucket}/{key}".encode()).hexdigest()[:HASH_HEX_CHARS]
    slug = _slug(PurePosixPath(key).stem)
    return f"{slug}-{digest}" if slug else digest


def is_video_id(value: str) -> bool:
    """True for strings `video_id_for` can produce; guards every path or key built from a partition key."""
    return bool(_VIDEO_ID_RE.match(value))
