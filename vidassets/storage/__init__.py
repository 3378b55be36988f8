"""Object storage under one root, with no Dagster in it: the assets (through the `VideoStorage` resource), the
warehouse, the CLI and the API all read and write through a `Store`, at keys `layout` builds."""

from vidassets.storage.base import FileChangedError, ObjectInfo, ObjectNotFoundError, Store
from vidassets.storage.s3_options import S3Options

__all__ = ["FileChangedError", "ObjectInfo", "ObjectNotFoundError", "S3Options", "Store"]
