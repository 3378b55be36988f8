"""`VideoStorage`: the Dagster resource over the storage root (a `Store`), the uploaded sources and the scratch cache.

Object storage itself lives in `vidassets.storage`; this resource adds what only the pipeline needs: fetching the
uploaded object a partition stands for, and a local, content-addressed scratch cache so downstream steps on one
machine never re-download a video or audio file, and a source that changed since `source_video` is caught.
"""

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import dagster as dg
from pydantic import PrivateAttr

from vidassets.manifests import SourceVideoManifest
from vidassets.resources.env_vars import resolved
from vidassets.settings import default_scratch_dir
from vidassets.storage import Store
from vidassets.storage.local import sha256_file
from vidassets.storage.s3 import S3Options, s3_client, split_s3_url


class SourceChangedError(RuntimeError):
    """The uploaded object no longer matches what `source_video` recorded."""


def _local_source(source_uri: str) -> Path:
    return Path(unquote(urlparse(source_uri).path))


class VideoStorage(dg.ConfigurableResource):
    """The storage root (`s3://bucket[/prefix]` or a local folder) as a `Store`, plus sources, scratch and the
    FFmpeg binary for local media work. `build_resources` fills every field from `vidassets.settings`."""

    root: str
    scratch_dir: str | None = None  # None: `vidassets.settings.default_scratch_dir()`
    ffmpeg: str | None = None  # None: the imageio-ffmpeg wheel's binary
    # how to reach S3 (endpoint, region, attempts per request); credentials come from the AWS SDKs' own chains
    s3_endpoint: str | None = None
    s3_region: str | None = None
    s3_max_attempts: int = S3Options.max_attempts

    _store: Any = PrivateAttr(default=None)
    _client: Any = PrivateAttr(default=None)

    def _value(self, name: str) -> Any:
        return resolved(getattr(self, name))

    def s3_options(self) -> S3Options:
        return S3Options(endpoint=self._value("s3_endpoint"), region=self._value("s3_region"),
                         max_attempts=self._value("s3_max_attempts"))

    def ffmpeg_exe(self) -> str | None:
        """The configured FFmpeg executable (None: the wheel's)."""
        return self._value("ffmpeg")

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store.for_root(self._value("root"), self.s3_options())
        return self._store

    def _source_client(self) -> Any:
        if self._client is None:
            self._client = s3_client(self.s3_options())
        return self._client

    def scratch(self) -> Path:
        """Local working folder for decoded media; content-addressed, so it is never stale. The default is one
        per user and private: another user's folder left in a shared temp dir is neither used nor read."""
        path = Path(self._value("scratch_dir") or default_scratch_dir())
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return path

    def scratch_file(self, folder: str, suffix: str) -> Path:
        """A new, unique file path in scratch: concurrent runs of one video never share it."""
        path = self.scratch() / folder
        path.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=path, prefix=".tmp-", suffix=suffix)
        os.close(fd)
        return Path(name)

    # --- sources (the uploaded videos) ------------------------------------------------------------------

    def head_source(self, source_uri: str) -> dict[str, Any]:
        """ETag and size of a source object, or of a local file for `vidassets process`."""
        if source_uri.startswith("s3://"):
            bucket, key = split_s3_url(source_uri)
            head = self._source_client().head_object(Bucket=bucket, Key=key)
            return {"etag": head["ETag"].strip('"'), "size": head["ContentLength"]}
        stat = _local_source(source_uri).stat()
        return {"etag": f"{stat.st_mtime_ns:x}-{stat.st_size:x}", "size": stat.st_size}

    def fetch_source(self, source_uri: str, suffix: str) -> Path:
        """Download the uploaded object into a new file of its own in scratch (`<scratch>/incoming/`): steps or runs
        fetching the same video at once never share, replace or move each other's copy."""
        dest = self.scratch_file("incoming", suffix)
        try:
            if source_uri.startswith("s3://"):
                bucket, key = split_s3_url(source_uri)
                self._source_client().download_file(bucket, key, str(dest))
            else:
                shutil.copyfile(_local_source(source_uri), dest)
        except BaseException:
            dest.unlink(missing_ok=True)
            raise
        return dest

    def cached_video(self, manifest: SourceVideoManifest) -> Path:
        """The local copy of a probed source video, keyed by its sha256 so it can never be stale.

        Downstream assets call this; a missing copy (another machine, cleaned scratch) is fetched again and
        checked against the recorded sha256, so a re-upload since `source_video` is caught, not mixed in.
        """
        sha = manifest["sha256"]
        path = self.scratch() / "videos" / f"{sha}{manifest['suffix']}"
        if path.is_file():
            return path
        fetched = self.fetch_source(manifest["source_uri"], manifest["suffix"])
        if sha256_file(fetched) != sha:
            fetched.unlink(missing_ok=True)
            raise SourceChangedError(
                f"{manifest['source_uri']}: content changed since source_video ran for {manifest['video_id']}; "
                "re-materialize source_video (the sensor does so for a new upload)"
            )
        return self.adopt(fetched, "videos", sha, manifest["suffix"])

    def cached_object(self, key: str, sha256: str, suffix: str) -> Path:
        """A local copy of an artifact under the root, content-addressed by its recorded sha256."""
        path = self.scratch() / "objects" / f"{sha256}{suffix}"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            self.store.download(key, path)
        return path

    def adopt(self, local: Path, folder: str, sha256: str, suffix: str) -> Path:
        """Move a finished local file into the content-addressed cache (`videos` or `objects`)."""
        path = self.scratch() / folder / f"{sha256}{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(local, path)
        return path
