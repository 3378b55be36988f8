"""`POST /v1/uploads`: a presigned S3 PUT to a fresh key under the user's prefix, where the sensor picks it up.

Nothing is written here: the video exists once the object does. The video id is `video_id_for(bucket, key)`,
the partition key the sensor will use.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from vidassets.api.objects import BadFileName, new_upload_key, safe_file_name
from vidassets.api.settings import ApiSettings
from vidassets.video_ids import video_id_for

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
    priority: int | None = Field(default=None, ge=-100, le=100, description="run priority hint (higher first)")


class UploadRejected(ValueError):
    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


def check_upload(request: UploadRequest, settings: ApiSettings) -> str:
    """The safe file name, or UploadRejected with a status code and a message naming the field."""
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


def presign_upload(
    client: Any, settings: ApiSettings, user: str, request: UploadRequest, safe_name: str
) -> dict[str, Any]:
    """A PUT URL signed for the key, content type, length and metadata; the client must send `headers` as given
    (a browser sets Content-Length itself, from the body)."""
    key = new_upload_key(settings, user, safe_name)
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
