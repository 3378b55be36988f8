"""One storage root for every artifact: an S3 URL in every deployment, a local folder for `vidassets process`.

Layout: `<root>/assets/<asset>/<video_id>/…` and `<root>/warehouse/…`.
Every write is atomic at the object level: S3 PUTs are, and local files are written beside and renamed.
Relative keys are always built from validated video ids, never from raw user input.
"""

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import dagster as dg
from dagster_aws.s3 import S3Resource
from pydantic import PrivateAttr

from vidassets.partitions import is_video_id


class SourceChangedError(RuntimeError):
    """The uploaded object no longer matches what `source_video` recorded."""


def split_s3_url(url: str) -> tuple[str, str]:
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"not an s3:// URL: {url!r}")
    return parsed.netloc, parsed.path.lstrip("/")


def asset_prefix(asset: str, video_id: str) -> str:
    """`assets/<asset>/<video_id>`; refuses anything that is not a safe video id."""
    if not is_video_id(video_id):
        raise ValueError(f"unsafe video id {video_id!r}: partition keys must come from video_id_for()")
    return f"assets/{asset}/{video_id}"


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


class VideoStorage(dg.ConfigurableResource):
    """Reads sources and reads/writes artifacts under one root (`s3://bucket[/prefix]` or a local folder)."""

    root: str = "s3://vidassets"
    s3: S3Resource = S3Resource()
    scratch_dir: str | None = None
    upload_threads: int = 8

    _client: Any = PrivateAttr(default=None)

    # --- addressing -----------------------------------------------------------------------------------

    @property
    def is_s3(self) -> bool:
        return self.root.startswith("s3://")

    def _bucket_prefix(self) -> tuple[str, str]:
        bucket, prefix = split_s3_url(self.root)
        return bucket, prefix.strip("/")

    def _local_root(self) -> Path:
        root = unquote(urlparse(self.root).path) if self.root.startswith("file://") else self.root
        return Path(root).expanduser().resolve()

    def _object_key(self, key: str) -> str:
        _, prefix = self._bucket_prefix()
        return f"{prefix}/{key}" if prefix else key

    def url(self, key: str) -> str:
        """Where `key` lives, for metadata and logs."""
        if self.is_s3:
            bucket, _ = self._bucket_prefix()
            return f"s3://{bucket}/{self._object_key(key)}"
        return (self._local_root() / key).as_uri()

    def client(self) -> Any:
        if self._client is None:
            self._client = self.s3.get_client()
        return self._client

    def scratch(self) -> Path:
        """Local working folder for decoded media; content-addressed, so it is never stale."""
        base = self.scratch_dir or os.environ.get("VIDASSETS_SCRATCH") or Path(tempfile.gettempdir()) / "vidassets"
        path = Path(base)
        path.mkdir(parents=True, exist_ok=True)
        return path

    # --- writes -----------------------------------------------------------------------------------------

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        if self.is_s3:
            bucket, _ = self._bucket_prefix()
            self.client().put_object(Bucket=bucket, Key=self._object_key(key), Body=data, ContentType=content_type)
        else:
            target = self._local_root() / key
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        return self.url(key)

    def put_json(self, key: str, value: Any) -> str:
        return self.put_bytes(key, json.dumps(value, indent=2, sort_keys=True).encode(), "application/json")

    def put_file(self, key: str, path: Path, content_type: str = "application/octet-stream") -> str:
        if self.is_s3:
            bucket, _ = self._bucket_prefix()
            self.client().upload_file(
                str(path), bucket, self._object_key(key), ExtraArgs={"ContentType": content_type}
            )
            return self.url(key)
        target = self._local_root() / key
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".tmp-{target.name}")
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)
        return self.url(key)

    def put_many(self, items: list[tuple[str, bytes, str]]) -> None:
        """Upload many small objects (frames) concurrently; each is still one atomic PUT."""
        with ThreadPoolExecutor(max_workers=self.upload_threads) as pool:
            list(pool.map(lambda item: self.put_bytes(*item), items))

    def replace_prefix(self, prefix: str, keep: set[str]) -> int:
        """Delete objects under `prefix` that a fresh materialization did not write; returns how many."""
        stale = [key for key in self.list(prefix) if key not in keep]
        if self.is_s3:
            bucket, _ = self._bucket_prefix()
            for start in range(0, len(stale), 1000):
                batch = [{"Key": self._object_key(k)} for k in stale[start : start + 1000]]
                self.client().delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        else:
            for key in stale:
                (self._local_root() / key).unlink(missing_ok=True)
        return len(stale)

    # --- reads ------------------------------------------------------------------------------------------

    def get_bytes(self, key: str) -> bytes:
        if self.is_s3:
            bucket, _ = self._bucket_prefix()
            return self.client().get_object(Bucket=bucket, Key=self._object_key(key))["Body"].read()
        return (self._local_root() / key).read_bytes()

    def get_json(self, key: str) -> Any:
        return json.loads(self.get_bytes(key))

    def get_many(self, keys: list[str]) -> list[bytes]:
        with ThreadPoolExecutor(max_workers=self.upload_threads) as pool:
            return list(pool.map(self.get_bytes, keys))

    def exists(self, key: str) -> bool:
        if self.is_s3:
            bucket, _ = self._bucket_prefix()
            try:
                self.client().head_object(Bucket=bucket, Key=self._object_key(key))
            except self.client().exceptions.ClientError as err:
                if err.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                    return False
                raise
            return True
        return (self._local_root() / key).is_file()

    def list(self, prefix: str) -> Iterator[str]:
        """Keys (relative to the root) under `prefix/`."""
        prefix = prefix.rstrip("/") + "/"
        if self.is_s3:
            bucket, root_prefix = self._bucket_prefix()
            strip = len(root_prefix) + 1 if root_prefix else 0
            pages = self.client().get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=self._object_key(prefix)
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    yield obj["Key"][strip:]
        else:
            base = self._local_root()
            folder = base / prefix
            if folder.is_dir():
                for path in sorted(folder.rglob("*")):
                    if path.is_file() and not path.name.startswith(".tmp-"):
                        yield path.relative_to(base).as_posix()

    def download(self, key: str, dest: Path) -> Path:
        if self.is_s3:
            bucket, _ = self._bucket_prefix()
            tmp = dest.with_name(f".tmp-{dest.name}")
            self.client().download_file(bucket, self._object_key(key), str(tmp))
            os.replace(tmp, dest)
        else:
            shutil.copyfile(self._local_root() / key, dest)
        return dest

    # --- sources (the uploaded videos) ------------------------------------------------------------------

    def head_source(self, source_uri: str) -> dict[str, Any]:
        """ETag and size of a source object, or of a local file for `vidassets process`."""
        if source_uri.startswith("s3://"):
            bucket, key = split_s3_url(source_uri)
            head = self.client().head_object(Bucket=bucket, Key=key)
            return {"etag": head["ETag"].strip('"'), "size": head["ContentLength"]}
        path = Path(unquote(urlparse(source_uri).path))
        stat = path.stat()
        return {"etag": f"{stat.st_mtime_ns:x}-{stat.st_size:x}", "size": stat.st_size}

    def fetch_source(self, source_uri: str, video_id: str, suffix: str) -> Path:
        """Download the uploaded object into scratch (`<scratch>/incoming/<video_id><suffix>`)."""
        incoming = self.scratch() / "incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        if not is_video_id(video_id):
            raise ValueError(f"unsafe video id {video_id!r}")
        dest = incoming / f"{video_id}{suffix}"
        tmp = dest.with_name(f".tmp-{os.getpid()}-{dest.name}")
        if source_uri.startswith("s3://"):
            bucket, key = split_s3_url(source_uri)
            self.client().download_file(bucket, key, str(tmp))
        else:
            shutil.copyfile(Path(unquote(urlparse(source_uri).path)), tmp)
        os.replace(tmp, dest)
        return dest

    def cached_video(self, manifest: dict[str, Any]) -> Path:
        """The local copy of a probed source video, keyed by its sha256 so it can never be stale.

        Downstream assets call this; a missing copy (another machine, cleaned scratch) is fetched again and
        checked against the recorded sha256, so a re-upload since `source_video` is caught, not mixed in.
        """
        sha = manifest["sha256"]
        path = self.scratch() / "videos" / f"{sha}{manifest['suffix']}"
        if path.is_file():
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        fetched = self.fetch_source(manifest["source_uri"], manifest["video_id"], manifest["suffix"])
        if sha256_file(fetched) != sha:
            fetched.unlink(missing_ok=True)
            raise SourceChangedError(
                f"{manifest['source_uri']}: content changed since source_video ran for {manifest['video_id']}; "
                "re-materialize source_video (the sensor does so for a new upload)"
            )
        os.replace(fetched, path)
        return path

    def cached_object(self, key: str, sha256: str, suffix: str) -> Path:
        """A local copy of an artifact under the root, content-addressed by its recorded sha256."""
        path = self.scratch() / "objects" / f"{sha256}{suffix}"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            self.download(key, path)
        return path

    def adopt_video(self, fetched: Path, sha256: str, suffix: str) -> Path:
        """Move a freshly fetched source into the content-addressed cache."""
        path = self.scratch() / "videos" / f"{sha256}{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(fetched, path)
        return path
