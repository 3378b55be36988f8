"""Where uploads land: the bucket and prefix the sensor watches."""

import dagster as dg

from vidassets.resources.env_vars import resolved
from vidassets.settings import normalize_prefix


class UploadsBucket(dg.ConfigurableResource):
    """Filled by `build_resources` from `VIDASSETS_WATCH_BUCKET` / `VIDASSETS_WATCH_PREFIX` /
    `VIDASSETS_UPLOAD_EVENTS_URL` (vidassets.settings)."""

    bucket: str
    prefix: str
    max_runs_per_tick: int = 2000
    # `VIDASSETS_UPLOAD_EVENTS_URL`: the event queue the sensor drains (empty: it lists the prefix every tick)
    events_url: str = ""
    sweep_budget_s: float = 0.3  # listing time per tick for the reconciliation sweep (event mode)
    sweep_interval_s: float = 600.0  # between the end of one sweep pass and the start of the next

    def watched_prefix(self) -> str:
        """The prefix as the API writes under it (`normalize_prefix`): `incoming` lists `incoming/`."""
        return normalize_prefix(resolved(self.prefix))
