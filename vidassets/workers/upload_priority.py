"""An upload's run priority, from its S3 object metadata `priority` (header `x-amz-meta-priority` on PUT).

Read with one HEAD per new video object (not per listed object), a few at a time. A bad value is reported and
the video still runs, at normal priority.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from vidassets.workers.queues import METADATA_KEY, PriorityError, parse_priority

HEAD_THREADS = 8


def upload_priorities(
    client: Any, bucket: str, keys: list[str], warn: Callable[[str], None] = print
) -> dict[str, int]:
    """Dagster priority per key (0 when the object has no `priority` metadata, a bad one, or vanished)."""

    def one(key: str) -> int:
        try:
            metadata = client.head_object(Bucket=bucket, Key=key).get("Metadata", {})
        except (ClientError, BotoCoreError) as exc:
            warn(f"s3://{bucket}/{key}: could not read its metadata ({exc}); running at normal priority")
            return 0
        try:
            return parse_priority(metadata.get(METADATA_KEY))
        except PriorityError as exc:
            warn(f"s3://{bucket}/{key}: x-amz-meta-{METADATA_KEY}: {exc}; running at normal priority")
            return 0

    if not keys:
        return {}
    with ThreadPoolExecutor(max_workers=min(HEAD_THREADS, len(keys))) as pool:
        return dict(zip(keys, pool.map(one, keys), strict=True))
