"""Compute cost per video: `run_costs` rows from the steps of a video's pipeline runs, and $ per video-hour from a
configurable $/hour per device.

Dagster-free: the asset passes plain `StepTiming`s (from Dagster's step stats) in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa

from vidassets.analytics.schemas import RUN_COSTS, SCHEMA_VERSION

# $/hour per device, overridable with VIDASSETS_PRICE_PER_HOUR="cpu=0.0832,cuda=0.526" (vidassets.settings).
# Defaults: an on-demand 2-vCPU general purpose instance (c6i.large, us-east-1) and a g4dn.xlarge (T4); check
# current prices.
DEFAULT_PRICES = {"cpu": 0.085, "cuda": 0.526}


@dataclass(frozen=True)
class StepTiming:
    run_id: str
    attempt: int
    asset: str
    status: str
    started_at: float | None  # epoch seconds
    ended_at: float | None


class PriceError(ValueError):
    """A price list that is not `device=dollars_per_hour[,device=...]`."""


def parse_prices(text: str | None) -> dict[str, float]:
    """`cpu=0.085,cuda=0.526` -> {"cpu": 0.085, "cuda": 0.526}; None or empty -> DEFAULT_PRICES."""
    if not text or not text.strip():
        return dict(DEFAULT_PRICES)
    prices: dict[str, float] = {}
    for item in text.split(","):
        device, sep, value = item.partition("=")
        try:
            price = float(value)
        except ValueError:
            price = -1.0
        if not sep or not device.strip() or price < 0:
            raise PriceError(f"price {item.strip()!r} in {text!r} is not `device=dollars_per_hour` (e.g. cuda=0.526)")
        prices[device.strip()] = price
    return prices


def run_cost_rows(video_id: str, steps: list[StepTiming], device: str | None, media_s: float | None) -> pa.Table:
    """One `run_costs` row per finished step (a step whose worker died has no end time and no row)."""
    rows = [
        {
            "video_id": video_id,
            "run_id": step.run_id,
            "attempt": step.attempt,
            "asset": step.asset,
            "step_status": step.status,
            "device": device or "unknown",
            "compute_s": round(step.ended_at - step.started_at, 3),
            "media_s": media_s,
            "started_at": datetime.fromtimestamp(step.started_at, UTC),
            "schema_version": SCHEMA_VERSION,
        }
        for step in steps
        if step.started_at is not None and step.ended_at is not None
    ]
    return pa.Table.from_pylist(rows, schema=RUN_COSTS)


def cost_per_video_hour_sql(prices: Mapping[str, float]) -> str:
    """DuckDB SQL over the warehouse: per video, compute seconds and $ per video-hour at `prices` ($/hour per
    device; devices without a price count as 0 and are listed in `unpriced_devices`)."""
    if not prices:
        raise PriceError("no prices given")
    values = ", ".join(f"('{device.replace(chr(39), '')}', {float(price)!r})" for device, price in prices.items())
    return f"""
with prices(device, usd_per_hour) as (values {values}),
costed as (
  select c.video_id, c.device, c.compute_s, c.media_s, p.usd_per_hour
  from run_costs c left join prices p using (device)
)
select video_id,
       round(max(media_s), 1) as media_s,
       round(sum(compute_s), 1) as compute_s,
       round(sum(compute_s) / nullif(max(media_s), 0), 3) as compute_s_per_media_s,
       round(sum(compute_s * coalesce(usd_per_hour, 0) / 3600), 6) as usd,
       round(sum(compute_s * coalesce(usd_per_hour, 0) / 3600) / nullif(max(media_s) / 3600, 0), 4)
         as usd_per_video_hour,
       string_agg(distinct case when usd_per_hour is null then device end, ',') as unpriced_devices
from costed group by video_id order by video_id
""".strip()
