"""What `vidassets upload` and `vidassets status` call when no API is configured: an upload straight to the watched
prefix, and a video's status from the local Dagster instance (`vidassets.cli.api` parses and prints)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from vidassets.api.client import ApiClient, Progress, content_type_for


def upload_s3(path: Path, priority: int | None) -> str:
    """Straight to the watched prefix (no user: operators and scripts on the platform's own credentials)."""
    from vidassets.api.objects import BadFileName, safe_file_name
    from vidassets.api.uploads import PRIORITY_METADATA
    from vidassets.settings import load_settings
    from vidassets.storage.s3 import s3_client
    from vidassets.video_ids import video_id_for

    settings = load_settings()
    watch = settings.watch
    try:
        key = f"{watch.prefix}{safe_file_name(path.name)}"
    except BadFileName as err:
        raise ValueError(str(err)) from err
    extra: dict[str, Any] = {"ContentType": content_type_for(path)}
    if priority is not None:
        extra["Metadata"] = {PRIORITY_METADATA: str(priority)}
    progress = Progress(path.name, path.stat().st_size)
    s3_client(settings.storage.s3).upload_file(str(path), watch.bucket, key, ExtraArgs=extra,
                                               Callback=progress.advance)
    return video_id_for(watch.bucket, key)


def status_fetcher() -> Callable[[str], dict[str, Any]]:
    """`fetch(video_id) -> status dict`: the API's when configured, else the local Dagster instance's."""
    client = ApiClient.from_env()
    if client is not None:
        return client.video

    import dagster as dg

    from vidassets.api.settings import ApiSettings
    from vidassets.api.status import describe, head, locate
    from vidassets.storage import Store
    from vidassets.storage.s3 import s3_client

    settings = ApiSettings.from_env()
    instance = dg.DagsterInstance.get()
    s3 = s3_client(settings.s3)
    store = Store.for_root(settings.storage_root, settings.s3)

    def fetch(video_id: str) -> dict[str, Any]:
        ref = locate(instance, s3, settings, video_id, None)
        if ref is None:
            raise LookupError(f"no video {video_id!r} (not uploaded under s3://{settings.bucket}/{settings.prefix})")
        return describe(instance, store, ref, head(s3, ref))

    return fetch
