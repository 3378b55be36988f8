"""The one safe mapping from an uploaded object to a video id (the partition key, and every path built from it).

Dagster does not validate dynamic partition keys, and S3 keys may hold `/`, `..`, spaces, unicode or
1,000 characters. Every video id (partition key, local file name, storage prefix) comes from `video_id_for`.
Dagster-free, so storage, analytics and the API use the same rule.
"""

import hashlib
import re
import unicodedata
from pathlib import PurePosixPath

SLUG_MAX_CHARS = 48
HASH_HEX_CHARS = 12
_HASH = rf"[0-9a-f]{{{HASH_HEX_CHARS}}}"
# Matched with fullmatch: `$` would also accept a trailing newline.
_VIDEO_ID_RE = re.compile(rf"(?:[a-z0-9](?:[a-z0-9-]{{0,{SLUG_MAX_CHARS - 1}}})?-)?{_HASH}")


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
    return isinstance(value, str) and bool(_VIDEO_ID_RE.fullmatch(value))


def check_video_id(value: str) -> str:
    """`value` if it is a safe video id, else ValueError naming it."""
    if not is_video_id(value):
        raise ValueError(f"unsafe video id {value!r}: partition keys must come from video_id_for()")
    return value
