"""The object-store interface every artifact and warehouse file goes through, and the rules all stores share.

Keys are `/`-separated and relative to the root. Rules common to every implementation:

- **Atomic writes.** A reader sees a complete old or new object, never a partial one: S3 objects are sent as one PUT
  (or one completed multipart upload); local files are written beside the target under a hidden, unique temporary
  name (`temp_name`) and renamed over it. Concurrent writers of one key never share a temporary name.
- **Hidden files.** A key with any part starting with `.` is never listed (temporary files of a crashed writer, or
  anything an operator hides); `list_leftovers` finds stale ones so their owner can delete them.
- **Version tokens.** Listings carry a token per object that changes whenever it is rewritten (S3: ETag + size;
  local: size + mtime_ns + inode), and `read_pinned` reads exactly the listed version or raises FileChangedError.
"""

from __future__ import annotations

import builtins
import io
import json
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from vidassets.storage.s3_options import S3Options

TMP_PREFIX = ".tmp-"
IO_THREADS = 8  # concurrent small-object PUTs/GETs (frames)


@dataclass(frozen=True)
class ObjectInfo:
    key: str  # relative to the root
    size: int
    token: str  # changes whenever the object is rewritten
    mtime: float  # seconds since the epoch
    etag: str | None = None  # S3 only


class ObjectNotFoundError(FileNotFoundError):
    """No object at that key."""


class FileChangedError(OSError):
    """A listed file was replaced or deleted before it was read; list again (queries retry on their own)."""

    MARKER = "changed since it was listed"


def is_hidden(key: str) -> bool:
    """The hidden-file rule: any part of the key starts with `.`."""
    return any(part.startswith(".") for part in key.split("/"))


def temp_name(name: str) -> str:
    """A hidden, unique name to write `name` under before the rename (one per writer, never shared)."""
    return f"{TMP_PREFIX}{uuid.uuid4().hex[:12]}-{name}"


def check_key(key: str) -> str:
    """Refuse absolute keys, `..` and empty parts: keys are built by `layout`, never from raw input."""
    parts = key.split("/")
    if not key or key.startswith("/") or ".." in parts or "" in parts[:-1]:
        raise ValueError(f"unsafe storage key {key!r}")
    return key


def parquet_bytes(table: pa.Table, **options: Any) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, **options)
    return sink.getvalue()


class AtomicWriter(ABC):
    """A file being written for one key: write to `sink`, then `commit()` publishes it whole, `abort()` drops it."""

    sink: IO[bytes]

    @abstractmethod
    def commit(self) -> None: ...

    @abstractmethod
    def abort(self) -> None: ...


class Store(ABC):
    """One storage root (`Store.for_root`): a local folder or `s3://bucket[/prefix]`."""

    root: str
    # Seconds within which a rewrite may keep the same version token (local mtime granularity); 0 on S3.
    token_settle_s: float = 0.0
    # Concurrent whole-file reads a warehouse scan may issue.
    read_concurrency: int = 4

    @staticmethod
    def for_root(root: str, s3: S3Options | None = None) -> Store:
        """`s3` says how to reach S3 for an `s3://` root (default: AWS, the SDK's own region and credentials)."""
        from vidassets.storage.local import LocalStore
        from vidassets.storage.s3 import S3Store

        if root.startswith("s3://"):
            return S3Store(root, s3)
        if "://" in root and not root.startswith("file://"):
            raise ValueError(f"unsupported storage root {root!r}: use s3://bucket[/prefix] or a local folder")
        return LocalStore(root)

    # ------------------------------------------------------------------------------------------ writes

    @abstractmethod
    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> str:
        """Write one object atomically; returns its URL."""

    @abstractmethod
    def put_file(self, key: str, path: Path, content_type: str | None = None) -> str:
        """Copy a finished local file to `key` atomically (the local file stays); returns its URL."""

    @abstractmethod
    def atomic_writer(self, key: str) -> AtomicWriter:
        """A writer for large files built piece by piece (compaction), published whole on commit."""

    def put_json(self, key: str, value: Any) -> str:
        return self.put_bytes(key, json.dumps(value, indent=2, sort_keys=True).encode(), "application/json")

    def put_parquet(self, key: str, table: pa.Table, **options: Any) -> str:
        return self.put_bytes(key, parquet_bytes(table, **options))

    def put_many(self, items: list[tuple[str, bytes, str]]) -> None:
        """Many small objects `(key, data, content_type)` concurrently; each is still one atomic write."""
        with ThreadPoolExecutor(max_workers=IO_THREADS) as pool:
            list(pool.map(lambda item: self.put_bytes(*item), items))

    @abstractmethod
    def delete(self, keys: Iterable[str]) -> int:
        """Delete these keys (missing ones are ignored); returns how many were asked for or found."""

    def replace_prefix(self, prefix: str, keep: set[str]) -> int:
        """Delete the visible objects under `prefix` that a fresh write did not produce; returns how many."""
        stale = [info.key for info in self.list(prefix) if info.key not in keep]
        return self.delete(stale) if stale else 0

    # ------------------------------------------------------------------------------------------ reads

    @abstractmethod
    def get_bytes(self, key: str) -> bytes:
        """The object's content; ObjectNotFoundError when there is none."""

    def find_bytes(self, key: str) -> bytes | None:
        """The object's content, or None when there is none."""
        try:
            return self.get_bytes(key)
        except ObjectNotFoundError:
            return None

    def get_json(self, key: str) -> Any:
        return json.loads(self.get_bytes(key))

    def find_json(self, key: str) -> Any | None:
        data = self.find_bytes(key)
        return None if data is None else json.loads(data)

    def get_many(self, keys: list[str]) -> list[bytes]:
        with ThreadPoolExecutor(max_workers=IO_THREADS) as pool:
            return list(pool.map(self.get_bytes, keys))

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def download(self, key: str, dest: Path) -> Path:
        """Copy an object to a local path (written beside `dest` under a unique name, then renamed)."""

    @abstractmethod
    def list(self, prefix: str) -> list[ObjectInfo]:
        """Visible objects under `prefix/` (all of the root for an empty prefix), sorted by key."""

    def keys(self, prefix: str) -> builtins.list[str]:
        return [info.key for info in self.list(prefix)]

    def list_named(self, prefix: str, name: str) -> builtins.list[ObjectInfo]:
        """`<prefix>/<folder>/<name>` for every folder directly under `prefix`."""
        base = prefix.rstrip("/")
        return [info for info in self.list(base) if info.key.count("/") == base.count("/") + 2
                and info.key.rsplit("/", 1)[-1] == name]

    def list_after(self, prefix: str, start_after: str) -> builtins.list[ObjectInfo]:
        """Visible objects under `prefix/` whose key sorts after `start_after`, sorted by key (S3's StartAfter):
        what was appended to a key-ordered log since a position, without listing what came before it."""
        return [info for info in self.list(prefix) if info.key > start_after]

    def stat(self, key: str) -> ObjectInfo | None:
        """The visible object at exactly `key`, with the token a listing would give, or None."""
        parent = key.rsplit("/", 1)[0] if "/" in key else ""
        return next((info for info in self.list(parent) if info.key == key), None)

    def list_leftovers(self, prefix: str, older_than_s: float) -> builtins.list[ObjectInfo]:
        """Hidden temporary files under `prefix` last written more than `older_than_s` ago: what a crashed writer
        left. Stores whose writes are never partial (S3) have none."""
        return []

    @abstractmethod
    def read_pinned(self, info: ObjectInfo) -> bytes:
        """The whole content of exactly the listed version `info`; FileChangedError if it was replaced or deleted
        since it was listed."""

    # ------------------------------------------------------------------------------------------ addressing

    @abstractmethod
    def url(self, key: str) -> str:
        """Where `key` lives, for metadata and logs."""

    @abstractmethod
    def arrow_filesystem(self) -> pafs.FileSystem: ...

    @abstractmethod
    def arrow_path(self, key: str) -> str: ...

    def local_path(self, key: str) -> Path | None:
        """A path other tools (DuckDB) can open directly, or None when the object is remote."""
        return None
