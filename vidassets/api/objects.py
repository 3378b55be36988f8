"""Where users' uploads live, and who owns an object: `<watch prefix><user>/<upload id>/<safe file name>`.

Ownership is the key the API signed the upload for, recorded when it issued the ticket (`vidassets_uploads`);
only keys of exactly this shape belong to a user. Run tags never decide who owns a video.
"""

from __future__ import annotations

import re
import secrets
import time
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from vidassets.api.auth import check_user_name
from vidassets.api.settings import ApiSettings
from vidassets.sources import VIDEO_SUFFIXES, video_suffix

MAX_NAME_CHARS = 255
_UPLOAD_ID_RE = re.compile(r"[0-9]{14}-[0-9a-f]{8}")  # fullmatch: `$` would accept a trailing newline


class BadFileName(ValueError):
    """A file name the API will not turn into a key (path-like, control characters, not a video extension…)."""


def safe_file_name(name: str) -> str:
    """An ASCII, path-free file name for `name`, keeping its video extension; BadFileName otherwise."""
    if not isinstance(name, str) or not name.strip():
        raise BadFileName("filename is empty")
    if len(name) > MAX_NAME_CHARS:
        raise BadFileName(f"filename is {len(name)} characters long; at most {MAX_NAME_CHARS}")
    if "/" in name or "\\" in name or name in (".", "..") or name.startswith("."):
        raise BadFileName(f"filename {name!r} looks like a path; send the bare file name (no '/', '\\', leading '.')")
    odd = sorted({f"U+{ord(c):04X}" for c in name if unicodedata.category(c).startswith("C")})
    if odd:
        raise BadFileName(f"filename {name!r} contains control or invisible formatting characters ({', '.join(odd)})")
    suffix = video_suffix(name)
    if suffix is None:
        raise BadFileName(
            f"filename {name!r} does not end in a video extension ({', '.join(sorted(VIDEO_SUFFIXES))})"
        )
    stem = PurePosixPath(name).stem
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_stem).strip("-")[:80].rstrip("-") or "video"
    return f"{slug}{suffix}"


def user_prefix(settings: ApiSettings, user: str) -> str:
    return f"{settings.prefix}{check_user_name(user)}/"


def new_upload_key(settings: ApiSettings, user: str, safe_name: str) -> str:
    """A fresh key per upload (a time-ordered upload id), so the same file name twice is two videos."""
    upload_id = f"{time.strftime('%Y%m%d%H%M%S', time.gmtime())}-{secrets.token_hex(4)}"
    return f"{user_prefix(settings, user)}{upload_id}/{safe_name}"


def upload_owner(prefix: str, key: str) -> str | None:
    """The user of an API upload key `<prefix><user>/<upload id>/<safe file name>`, or None for any other key."""
    if not key.startswith(prefix):
        return None
    parts = key[len(prefix):].split("/")
    if len(parts) != 3 or not _UPLOAD_ID_RE.fullmatch(parts[1]):
        return None
    try:
        if safe_file_name(parts[2]) != parts[2]:
            return None
        return check_user_name(parts[0])
    except ValueError:
        return None


def owner_of(settings: ApiSettings, bucket: str, key: str) -> str | None:
    """The user whose prefix holds `bucket/key`, or None (another bucket, or not uploaded through the API)."""
    if bucket != settings.bucket:
        return None
    return upload_owner(settings.prefix, key)


@dataclass(frozen=True)
class StoredObject:
    bucket: str
    key: str
    size: int
    last_modified: datetime
    etag: str

    @classmethod
    def from_listing(cls, bucket: str, item: dict[str, Any]) -> StoredObject:
        return cls(bucket, item["Key"], int(item["Size"]), item["LastModified"], item["ETag"].strip('"'))
