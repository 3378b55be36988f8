"""`POST /v1/uploads`: a presigned S3 PUT to a fresh key under the user's prefix, where the sensor picks it up.

The ticket is recorded (`vidassets_uploads`: video id, owner, key id, bucket, key, URL expiry): ownership is read
from that record, and a user may hold at most `max_uploads_in_flight` unexpired tickets. The video id is
`video_id_for(bucket, key)`, the partition key the sensor will use. The sensor runs only the first object version
PUT to an API upload key (its run key is the key alone); a new version runs when the owner asks (reprocess).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field

from vidassets.api.auth import KeyInfo
from vidassets.api.db import uploads
from vidassets.api.objects import BadFileName, new_upload_key, safe_file_name
from vidassets.api.settings import ApiSettings
from vidassets.video_ids import video_id_for
from vidassets.workers.queues import MAX_PRIORITY, MIN_PRIORITY

# Content types browsers and tools send for the extensions the sensor accepts.
VIDEO_CONTENT_TYPES = frozenset({
    "video/mp4", "video/quicktime", "video/x-matroska", "video/webm", "video/x-msvideo", "video/avi",
    "video/mpeg", "video/mp2t", "video/x-ms-wmv", "video/x-flv", "video/x-m4v", "application/octet-stream",
})
PRIORITY_METADATA = "priority"  # sent as `x-amz-meta-priority`; the sensor may turn it into run priority


class UploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filename: str = Field(description="the file's name, e.g. `my talk.mp4` (no folders)", max_length=1024)
    content_type: str = Field(description="a video/* media type, e.g. `video/mp4`", max_length=255)
    size: int = Field(description="bytes the client will PUT")
    priority: int | None = Field(default=None, ge=MIN_PRIORITY, le=MAX_PRIORITY,
                                 description="run priority, higher first (at most the key's maximum)")


class UploadRejected(ValueError):
    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


def max_priority(key: KeyInfo, settings: ApiSettings) -> int:
    """The highest run priority `key` may ask for: its own limit (`vidassets keys create --max-priority`), else
    the API's default."""
    return key.max_priority if key.max_priority is not None else settings.default_max_priority


def check_upload(request: UploadRequest, settings: ApiSettings, key: KeyInfo) -> str:
    """The safe file name, or UploadRejected with a status code and a message naming the field."""
    if request.priority is not None and request.priority > max_priority(key, settings):
        raise UploadRejected(403, f"priority {request.priority} is above this key's maximum "
                                  f"{max_priority(key, settings)} (an operator sets it: "
                                  f"`vidassets keys create --user NAME --max-priority N`)")
    content_type = request.content_type.split(";")[0].strip().lower()
    if content_type not in VIDEO_CONTENT_TYPES:
        raise UploadRejected(415, f"content_type {request.content_type!r} is not a video type "
                                  f"(accepted: {', '.join(sorted(VIDEO_CONTENT_TYPES))})")
    if request.size <= 0:
        raise UploadRejected(422, f"size {request.size}: must be the file's size in bytes (> 0)")
    if request.size > settings.max_upload_bytes:
        raise UploadRejected(413, f"size {request.size} bytes is over the limit of {settings.max_upload_bytes} bytes")
    try:
        return safe_file_name(request.filename)
    except BadFileName as err:
        raise UploadRejected(422, str(err)) from err


def upload_cors_rules(origins: tuple[str, ...]) -> list[dict[str, Any]]:
    """The upload bucket's CORS rules that let a browser app on `origins` PUT to the presigned URLs (with the
    signed Content-Type and priority headers) and read the ETag of what it sent."""
    return [{
        "AllowedOrigins": list(origins),
        "AllowedMethods": ["PUT"],
        "AllowedHeaders": ["content-type", f"x-amz-meta-{PRIORITY_METADATA}"],
        "ExposeHeaders": ["ETag"],
        "MaxAgeSeconds": 3600,
    }]


def uploads_in_flight(engine: sa.Engine, user: str, now: float | None = None) -> int:
    """How many of `user`'s upload URLs have not expired yet."""
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(uploads).where(
            uploads.c.user == user, uploads.c.expires_at > (now or time.time()))).scalar_one()


def check_quota(engine: sa.Engine, settings: ApiSettings, user: str) -> None:
    """UploadRejected (429) when `user` already holds `max_uploads_in_flight` unexpired upload URLs."""
    held = uploads_in_flight(engine, user)
    if held >= settings.max_uploads_in_flight:
        raise UploadRejected(429, f"{held} upload URLs issued to you have not expired yet (at most "
                                  f"{settings.max_uploads_in_flight}); try again after "
                                  f"{settings.upload_url_ttl_s} s or when they expire")


def record_upload(engine: sa.Engine, key: KeyInfo, bucket: str, object_key: str, video_id: str,
                  expires_at: float) -> None:
    with engine.begin() as conn:
        conn.execute(uploads.insert().values(video_id=video_id, user=key.user, key_id=key.key_id, bucket=bucket,
                                             object_key=object_key, created_at=time.time(), expires_at=expires_at))


def upload_record(engine: sa.Engine, video_id: str) -> sa.Row | None:
    """The API's record of the upload behind `video_id` (owner, bucket, key), or None."""
    with engine.connect() as conn:
        return conn.execute(sa.select(uploads).where(uploads.c.video_id == video_id)).first()


def presign_upload(
    client: Any, settings: ApiSettings, user: str, request: UploadRequest, safe_name: str
) -> dict[str, Any]:
    """A PUT URL signed for the key, content type, length and metadata; the client must send `headers` as given
    (a browser sets Content-Length itself, from the body)."""
    return _presign(client, settings, new_upload_key(settings, user, safe_name), request)


def _presign(client: Any, settings: ApiSettings, key: str, request: UploadRequest) -> dict[str, Any]:
    safe_name = key.rsplit("/", 1)[-1]
    content_type = request.content_type.split(";")[0].strip().lower()
    # Type and length are signed: S3 refuses a PUT of another type or of more (or fewer) bytes than `size`.
    params: dict[str, Any] = {"Bucket": settings.bucket, "Key": key, "ContentType": content_type,
                              "ContentLength": request.size}
    headers = {"Content-Type": content_type, "Content-Length": str(request.size)}
    if request.priority is not None:
        params["Metadata"] = {PRIORITY_METADATA: str(request.priority)}
        headers[f"x-amz-meta-{PRIORITY_METADATA}"] = str(request.priority)
    url = client.generate_presigned_url(
        "put_object", Params=params, ExpiresIn=settings.upload_url_ttl_s, HttpMethod="PUT"
    )
    expires_at = datetime.fromtimestamp(time.time() + settings.upload_url_ttl_s, UTC)
    video_id = video_id_for(settings.bucket, key)
    return {
        "video_id": video_id,
        "upload_url": url,
        "method": "PUT",
        "headers": headers,
        "expires_at": expires_at.isoformat(timespec="seconds"),
        "filename": safe_name,
        "max_size": settings.max_upload_bytes,
        "status_url": f"/v1/videos/{video_id}",
    }


def issue_upload(
    engine: sa.Engine, client: Any, settings: ApiSettings, key: KeyInfo, request: UploadRequest, safe_name: str
) -> dict[str, Any]:
    """`presign_upload` for the key's user, recorded in `vidassets_uploads` (quota checked first)."""
    check_quota(engine, settings, key.user)
    object_key = new_upload_key(settings, key.user, safe_name)
    ticket = _presign(client, settings, object_key, request)
    record_upload(engine, key, settings.bucket, object_key, ticket["video_id"],
                  time.time() + settings.upload_url_ttl_s)
    return ticket
