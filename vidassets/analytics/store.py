"""The object store under one storage root: a local folder or `s3://bucket[/prefix]`.

Keys are `/`-separated and relative to the root. Every write is atomic: local files are written beside the target
(hidden `.tmp-*` name) and renamed over it; S3 objects are built fully in memory and sent as one PUT. Listings
carry a *token* per object that changes whenever the object is rewritten (S3: ETag + size; local: size + mtime_ns +
inode): the compaction manifest uses it to tell whether a per-video file is still the one it compacted, and
`read_pinned` to read exactly the listed version of a file or fail with FileChangedError.

S3 configuration is the standard AWS environment: `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL` for an S3-compatible
endpoint (SeaweedFS in dev and tests), credentials from the usual chain, region from `AWS_REGION` /
`AWS_DEFAULT_REGION`. boto3 lists, writes, deletes and reads per-video files (one GET each); pyarrow's
`S3FileSystem` reads compacted Parquet files (ranged reads of immutable objects).
"""

from __future__ import annotations

import io
import os
import tempfile
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

TMP_PREFIX = ".tmp-"


@dataclass(frozen=True)
class ObjectInfo:
    key: str  # relative to the root
    size: int
    token: str  # changes whenever the object is rewritten
    mtime: float  # seconds since the epoch
    etag: str | None = None  # S3 only


class FileChangedError(OSError):
    """A listed file was replaced or deleted before it was read; list again (queries retry on their own)."""

    MARKER = "changed since it was listed"


def s3_endpoint() -> str | None:
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


def s3_region() -> str | None:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None


def arrow_s3_filesystem() -> pafs.S3FileSystem:
    """pyarrow's S3 client configured like boto3 from the standard environment."""
    kwargs: dict[str, Any] = {}
    endpoint = s3_endpoint()
    if endpoint:
        parsed = urlparse(endpoint if "://" in endpoint else f"https://{endpoint}")
        kwargs.update(endpoint_override=parsed.netloc + parsed.path.rstrip("/"), scheme=parsed.scheme or "https")
    region = s3_region() or ("us-east-1" if endpoint else None)
    if region:
        kwargs["region"] = region
    if os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get("AWS_SECRET_ACCESS_KEY"):
        kwargs.update(access_key=os.environ["AWS_ACCESS_KEY_ID"], secret_key=os.environ["AWS_SECRET_ACCESS_KEY"],
                      session_token=os.environ.get("AWS_SESSION_TOKEN") or None)
    return pafs.S3FileSystem(**kwargs)


def boto3_s3_client() -> Any:
    import boto3
    from botocore.config import Config

    endpoint = s3_endpoint()
    config = Config(s3={"addressing_style": "path"} if endpoint else {}, retries={"mode": "standard"})
    return boto3.session.Session().client("s3", endpoint_url=endpoint, region_name=s3_region(), config=config)


def parquet_bytes(table: pa.Table, **options: Any) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, **options)
    return sink.getvalue()


class Store:
    """Base class; `Store.for_root(root)` picks the implementation."""

    root: str

    @staticmethod
    def for_root(root: str) -> Store:
        if root.startswith("s3://"):
            return S3Store(root)
        if "://" in root and not root.startswith("file://"):
            raise ValueError(f"unsupported storage root {root!r}: use s3://bucket[/prefix] or a local folder")
        return LocalStore(root)

    @property
    def is_s3(self) -> bool:
        return isinstance(self, S3Store)

    # implemented by subclasses
    def put_bytes(self, key: str, data: bytes) -> None:
        raise NotImplementedError

    def put_parquet(self, key: str, table: pa.Table, **options: Any) -> None:
        self.put_bytes(key, parquet_bytes(table, **options))

    def get_bytes(self, key: str) -> bytes | None:
        raise NotImplementedError

    def list(self, prefix: str) -> list[ObjectInfo]:
        raise NotImplementedError

    def delete(self, keys: Iterable[str]) -> int:
        raise NotImplementedError

    def arrow_filesystem(self) -> pafs.FileSystem:
        raise NotImplementedError

    def arrow_path(self, key: str) -> str:
        raise NotImplementedError

    def read_pinned(self, info: ObjectInfo) -> bytes:
        """The whole content of exactly the listed version `info`; FileChangedError if it was replaced or
        deleted since it was listed."""
        raise NotImplementedError

    def url(self, key: str) -> str:
        raise NotImplementedError


class LocalStore(Store):
    def __init__(self, root: str) -> None:
        path = unquote(urlparse(root).path) if root.startswith("file://") else root
        self.base = Path(path).expanduser().resolve()
        self.root = str(self.base)
        self._fs = pafs.LocalFileSystem()

    def _path(self, key: str) -> Path:
        if key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"unsafe key {key!r}")
        return self.base / key

    def _atomic(self, key: str, write: Any) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f"{TMP_PREFIX}{uuid.uuid4().hex[:12]}-{target.name}")
        try:
            write(tmp)
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def put_bytes(self, key: str, data: bytes) -> None:
        self._atomic(key, lambda tmp: tmp.write_bytes(data))

    def put_parquet(self, key: str, table: pa.Table, **options: Any) -> None:
        self._atomic(key, lambda tmp: pq.write_table(table, str(tmp), **options))

    def put_file(self, key: str, local: Path) -> None:
        """Move a finished local file into place (atomic rename when on the same filesystem)."""
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(local, target)
        except OSError:
            self._atomic(key, lambda tmp: tmp.write_bytes(Path(local).read_bytes()))
            Path(local).unlink(missing_ok=True)

    def get_bytes(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def list(self, prefix: str, *, include_hidden: bool = False) -> list[ObjectInfo]:
        folder = self._path(prefix.rstrip("/")) if prefix.strip("/") else self.base
        out: list[ObjectInfo] = []
        if not folder.is_dir():
            return out
        base_len = len(str(self.base)) + 1
        stack = [str(folder)]
        while stack:
            current = stack.pop()
            try:
                entries = list(os.scandir(current))
            except FileNotFoundError:
                continue
            for entry in entries:
                if entry.name.startswith(".") and not include_hidden:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                    continue
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                out.append(ObjectInfo(entry.path[base_len:].replace(os.sep, "/"), st.st_size,
                                      f"{st.st_size}-{st.st_mtime_ns}-{st.st_ino}", st.st_mtime))
        out.sort(key=lambda info: info.key)
        return out

    def list_named(self, prefix: str, name: str) -> list[ObjectInfo]:
        """`<prefix>/<folder>/<name>` for every folder directly under `prefix`: one stat per folder, which is
        several times cheaper than scanning each folder (10,000 videos: ~0.05 s instead of ~0.2 s)."""
        folder = str(self._path(prefix.rstrip("/")))
        try:
            names = sorted(os.listdir(folder))
        except FileNotFoundError:
            return []
        out = []
        base = prefix.rstrip("/")
        for sub in names:
            if sub.startswith("."):
                continue
            try:
                st = os.stat(f"{folder}/{sub}/{name}")  # plain strings: pathlib costs more than the stat here
            except (FileNotFoundError, NotADirectoryError):
                continue
            out.append(ObjectInfo(f"{base}/{sub}/{name}", st.st_size, f"{st.st_size}-{st.st_mtime_ns}-{st.st_ino}",
                                  st.st_mtime))
        return out

    def read_pinned(self, info: ObjectInfo) -> bytes:
        path = self._path(info.key)
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError as err:
            raise FileChangedError(f"{path}: deleted, {FileChangedError.MARKER}") from err
        try:
            st = os.fstat(fd)
            if f"{st.st_size}-{st.st_mtime_ns}-{st.st_ino}" != info.token:
                raise FileChangedError(f"{path}: replaced, {FileChangedError.MARKER}")
            with os.fdopen(os.dup(fd), "rb") as fh:
                return fh.read()
        finally:
            os.close(fd)

    def delete(self, keys: Iterable[str]) -> int:
        count = 0
        for key in keys:
            path = self._path(key)
            try:
                path.unlink()
                count += 1
            except FileNotFoundError:
                continue
            parent = path.parent
            while parent != self.base:  # drop folders left empty (e.g. video_id=<id>/ after a delete)
                try:
                    parent.rmdir()
                except OSError:
                    break
                parent = parent.parent
        return count

    def arrow_filesystem(self) -> pafs.FileSystem:
        return self._fs

    def arrow_path(self, key: str) -> str:
        return str(self._path(key))

    def url(self, key: str) -> str:
        return str(self._path(key))

    def scratch_file(self, key: str) -> Path:
        """A hidden temporary path beside `key`, for writers that stream to disk before `put_file`."""
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=TMP_PREFIX, suffix=f"-{target.name}")
        os.close(fd)
        return Path(name)


class S3Store(Store):
    def __init__(self, root: str) -> None:
        parsed = urlparse(root)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ValueError(f"not an s3:// URL: {root!r}")
        self.bucket = parsed.netloc
        self.prefix = parsed.path.strip("/")
        self.root = f"s3://{self.bucket}" + (f"/{self.prefix}" if self.prefix else "")
        self._client: Any = None
        self._fs: pafs.S3FileSystem | None = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = boto3_s3_client()
        return self._client

    def _key(self, key: str) -> str:
        if key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"unsafe key {key!r}")
        return f"{self.prefix}/{key}" if self.prefix else key

    def put_bytes(self, key: str, data: bytes) -> None:
        # One PUT: S3 makes the object visible only once it is complete, and replaces it atomically.
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def get_bytes(self, key: str) -> bytes | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None

    def list(self, prefix: str) -> list[ObjectInfo]:
        full = self._key(prefix.rstrip("/") + "/") if prefix.strip("/") else (f"{self.prefix}/" if self.prefix else "")
        strip = len(self.prefix) + 1 if self.prefix else 0
        out: list[ObjectInfo] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=full):
            for obj in page.get("Contents", []):
                key = obj["Key"][strip:]
                if any(part.startswith(".") for part in key.split("/")):
                    continue
                etag = obj.get("ETag", "").strip('"')
                out.append(ObjectInfo(key, obj["Size"], f"{etag}:{obj['Size']}", obj["LastModified"].timestamp(),
                                      etag=etag))
        out.sort(key=lambda info: info.key)
        return out

    def delete(self, keys: Iterable[str]) -> int:
        batch = [{"Key": self._key(k)} for k in keys]
        for start in range(0, len(batch), 1000):
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch[start:start + 1000],
                                                                   "Quiet": True})
        return len(batch)

    def arrow_filesystem(self) -> pafs.FileSystem:
        if self._fs is None:
            self._fs = arrow_s3_filesystem()
        return self._fs

    def read_pinned(self, info: ObjectInfo) -> bytes:
        """One un-ranged GET, conditional on the listed ETag: a complete copy of exactly that version."""
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(info.key), IfMatch=info.etag or "*")
            return response["Body"].read()
        except self.client.exceptions.NoSuchKey as err:
            raise FileChangedError(f"{self.url(info.key)}: deleted, {FileChangedError.MARKER}") from err
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412"):
                raise FileChangedError(f"{self.url(info.key)}: replaced, {FileChangedError.MARKER}") from err
            raise

    def arrow_path(self, key: str) -> str:
        return f"{self.bucket}/{self._key(key)}"

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"
