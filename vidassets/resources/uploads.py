"""Where uploads land: the bucket and prefix the sensor watches."""

import dagster as dg

from vidassets.resources.env_vars import resolved
from vidassets.settings import normalize_prefix


class UploadsBucket(dg.ConfigurableResource):
    """Filled by `build_resources` from `VIDASSETS_WATCH_BUCKET` / `VIDASSETS_WATCH_PREFIX` /
    `VIDASSETS_UPLOAD_EVENTS_URL` (vidassets.settings)."""

    bucket: str
    prefix: str
    # Run requests per tick. The daemon creates each run with its own queries: ~20-25 ms a run on PostgreSQL without
    # pooling (a tick of 2,000 cost it 40-50 s), against Dagster's 60 s sensor timeout; 500 keeps a tick near
    # 10 s unpooled and a few seconds through PgBouncer (docs/DEPLOY.md, benchmarks/bench_pgbouncer.py).
    max_runs_per_tick: int = 500
    # `VIDASSETS_UPLOAD_EVENTS_URL`: the event queue the sensor drains (empty: it lists the prefix every tick)
    events_url: str = ""
    sweep_budget_s: float = 0.3  # listing time per tick for the reconciliation sweep (event mode)
    sweep_interval_s: float = 600.0  # between the end of one sweep pass and the start of the next

    def watched_prefix(self) -> str:
        """The prefix as the API writes under it (`normalize_prefix`): `incoming` lists `incoming/`."""
        return normalize_prefix(resolved(self.prefix))
