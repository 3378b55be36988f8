"""A storage root's `Store` as the code location would open it: S3 reached as the settings in the test's environment
say (the fixtures point `AWS_*` at the session's SeaweedFS)."""

from vidassets.settings import load_settings
from vidassets.storage import Store


def store(root: "str | Store") -> Store:
    if isinstance(root, Store):
        return root
    return Store.for_root(root.rstrip("/") or root, load_settings().storage.s3)
