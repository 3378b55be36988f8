"""vidassets: a Dagster asset platform that turns a bucket of videos into an analysable corpus."""

import os

# pyannote-audio 4 reports usage metrics to its vendor by default; a data platform must not phone home.
os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")

from vidassets.version import CODE_VERSION, __version__  # noqa: E402

__all__ = ["CODE_VERSION", "__version__"]
