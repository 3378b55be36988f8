"""vidassets: a Dagster asset platform that turns a bucket of videos into an analysable corpus."""

from vidassets.version import CODE_VERSION, __version__

__all__ = ["CODE_VERSION", "__version__"]
