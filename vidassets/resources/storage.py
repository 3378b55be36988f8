"""`VideoStorage`: the Dagster resource over the storage root (a `Store`), the uploaded sources and the scratch cache.

Object storage itself lives in `vidassets.storage`; this resource adds what only the pipeline needs: fetching the
uploaded object a partition stands for, and a local, content-addressed scratch cache so downstream steps on one
machine never re-download a video or audio file, and a source that changed since `source_video` is caught.
"""

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import dagster as dg
from pydantic import PrivateAttr

from vidassets.manifests import SourceVideoManifest
from vidassets.storage import Store
from vidassets.storage.base import temp_name
from vidassets.storage.layout import DEFAULT_ROOT
from vidassets.storage.s3 import s3_client, split_s3_url
from vidassets.video_ids import check_video_id


class SourceChangedError(RuntimeError):
    """The uploaded object no longer matches what `source_video` recorded."""


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def default_scratch_dir() -> Path:
    """`$TMPDIR/vidassets-<uid>`: per user, so a folder another user (or root) left behind is never in the way."""
    return Path(tempfile.gettempdir()) / f"vidassets-{os.getuid()}"


def _local_source(source_uri: str) -> Path:
    return Path(unquote(urlparse(source_uri).path))


class VideoStorage(dg.ConfigurableResource):
    """The storage root (`s3://bucket[/prefix]` or a local folder) as a `Store`, plus sources and scratch."""

    root: str = DEFAULT_ROOT
    scratch_dir: str | None = None

    _store: Any = PrivateAttr(default=None)
    _client: Any = PrivateAttr(default=None)

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store.for_root(self.root)
        return self._store

    def _source_client(self) -> Any:
        if self._client is None:
            self._client = s3_client()
        return self._client

    def scratch(self) -> Path:
        """Local working folder for decoded media; content-addressed, so it is never stale. The default is one
        per user and private: another user's folder left in a shared temp dir is neither used nor read."""
        base = self.scratch_dir or os.environ.get("VIDASSETS_SCRATCH") or default_scratch_dir()
        path = Path(base)
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

    def fetch_source(self, source_uri: str, video_id: str, suffix: str) -> Path:
        """Download the uploaded object into scratch (`<scratch>/incoming/<video_id><suffix>`)."""
        incoming = self.scratch() / "incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        dest = incoming / f"{check_video_id(video_id)}{suffix}"
        tmp = dest.with_name(temp_name(dest.name))
        try:
            if source_uri.startswith("s3://"):
                bucket, key = split_s3_url(source_uri)
                self._source_client().download_file(bucket, key, str(tmp))
            else:
                shutil.copyfile(_local_source(source_uri), tmp)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, dest)
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
        fetched = self.fetch_source(manifest["source_uri"], manifest["video_id"], manifest["suffix"])
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
