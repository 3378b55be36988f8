"""Where uploads land: the bucket and prefix the sensor watches."""

import dagster as dg

from vidassets.resources.env_vars import resolved
from vidassets.settings import normalize_prefix


class UploadsBucket(dg.ConfigurableResource):
    """Filled by `build_resources` from `VIDASSETS_WATCH_BUCKET` / `VIDASSETS_WATCH_PREFIX` (vidassets.settings)."""

    bucket: str
    prefix: str
    max_runs_per_tick: int = 2000

    def watched_prefix(self) -> str:
        """The prefix as the API writes under it (`normalize_prefix`): `incoming` lists `incoming/`."""
        return normalize_prefix(resolved(self.prefix))
