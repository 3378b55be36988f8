"""The reconciliation sweep: the watched prefix listed a few pages per sensor tick, across ticks.

Events are the hot path; the sweep finds what they missed (a misconfigured notification, uploads from before
events were on, an event lost with a queue). Its position is the listing's continuation token, kept in the sensor's
cursor, and each tick lists pages only while its time budget lasts, so a tick costs the same at 1k or 1M objects.
A finished pass waits `interval_s` before the next one starts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

PAGE_SIZE = 1000  # S3's maximum per ListObjectsV2 page


@dataclass(frozen=True)
class ListedObject:
    key: str
    etag: str
    size: int
    last_modified: datetime

    @property
    def object_id(self) -> str:
        return f"{self.key}@{self.etag}"


def listed(obj: dict[str, Any]) -> ListedObject:
    return ListedObject(obj["Key"], obj["ETag"].strip('"'), obj["Size"], obj["LastModified"])


@dataclass(frozen=True)
class SweepState:
    token: str | None = None  # continuation token of the next page; None: the next page is the first
    next_pass_at: float = 0.0  # epoch seconds: a finished pass waits until then
    passes: int = 0  # passes completed (shown in the tick's log)

    def to_json(self) -> dict[str, Any]:
        return {"token": self.token, "next_pass_at": self.next_pass_at, "passes": self.passes}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> SweepState:
        data = data or {}
        return cls(data.get("token"), float(data.get("next_pass_at", 0.0)), int(data.get("passes", 0)))


@dataclass(frozen=True)
class Page:
    objects: list[ListedObject]
    state_after: SweepState  # the state once this page is handled


def next_page(client: Any, bucket: str, prefix: str, state: SweepState, interval_s: float,
              now: float | None = None) -> Page | None:
    """The page at `state` (None while a finished pass waits for its next start)."""
    now = time.time() if now is None else now
    if state.token is None and now < state.next_pass_at:
        return None
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": PAGE_SIZE}  # read now: tests shrink it
    if state.token:
        kwargs["ContinuationToken"] = state.token
    answer = client.list_objects_v2(**kwargs)
    objects = [listed(obj) for obj in answer.get("Contents", [])]
    if answer.get("IsTruncated") and answer.get("NextContinuationToken"):
        return Page(objects, replace(state, token=answer["NextContinuationToken"]))
    return Page(objects, SweepState(None, now + interval_s, state.passes + 1))
