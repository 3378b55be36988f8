"""`POST /v1/videos/{id}/reprocess`: a new run of the partition, submitted through the Dagster webserver's GraphQL
API (`VIDASSETS_DAGSTER_URL`) exactly as the UI's "Materialize" does, so it is queued like every other run.

The webserver sits behind an authenticating proxy: `https://user:pass@dagster.internal/` sends those credentials
as HTTP basic auth. They never reach a response or a log line (`redact_url`), and neither does the webserver's
own error text: the client gets a generic message, the API log the details.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import unquote, urlparse, urlunparse

import dagster as dg
import sqlalchemy as sa

from vidassets import lifecycle
from vidassets.api.db import reprocess_claims
from vidassets.api.objects import StoredObject
from vidassets.api.settings import ApiSettings
from vidassets.api.status import VideoRef
from vidassets.partitions import ensure_partition
from vidassets.sources import SourceRef

CLAIM_STALE_S = 120.0  # a claim older than this was left by a crashed request
log = logging.getLogger(__name__)


class ReprocessError(RuntimeError):
    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


def redact_url(url: str) -> str:
    """`https://user:pass@host/x` -> `https://[redacted]@host/x`, for messages and logs."""
    parsed = urlparse(url)
    if parsed.username is None and parsed.password is None:
        return url
    return urlunparse(parsed._replace(netloc=f"[redacted]@{parsed.netloc.rsplit('@', 1)[1]}"))


def graphql_client(dagster_url: str, timeout: int = 30):  # type: ignore[no-untyped-def] # dagster_graphql is lazy
    """A GraphQL client for the webserver at `dagster_url`, with its userinfo as basic auth."""
    from dagster_graphql import DagsterGraphQLClient
    from requests.auth import HTTPBasicAuth

    url = urlparse(dagster_url)
    auth = HTTPBasicAuth(unquote(url.username), unquote(url.password or "")) if url.username is not None else None
    return DagsterGraphQLClient(
        url.hostname or "localhost", port_number=url.port, use_https=url.scheme == "https",
        path_prefix=url.path.rstrip("/"), timeout=timeout, auth=auth,
    )


def run_in_flight(instance: dg.DagsterInstance, video_id: str) -> dg.DagsterRun | None:
    """The video's newest pipeline run if it is still queued or running."""
    records = lifecycle.pipeline_runs(instance, video_id)
    if records and records[0].dagster_run.status in lifecycle.IN_FLIGHT:
        return records[0].dagster_run
    return None


def _claim(engine: sa.Engine, video_id: str) -> bool:
    """Hold the video's reprocess claim; False when another request holds a fresh one."""
    now = time.time()
    try:
        with engine.begin() as conn:
            conn.execute(reprocess_claims.insert().values(video_id=video_id, claimed_at=now))
        return True
    except sa.exc.IntegrityError:
        with engine.begin() as conn:
            taken = conn.execute(reprocess_claims.update().where(
                reprocess_claims.c.video_id == video_id, reprocess_claims.c.claimed_at < now - CLAIM_STALE_S,
            ).values(claimed_at=now))
        return taken.rowcount == 1


def _release(engine: sa.Engine, video_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(reprocess_claims.delete().where(reprocess_claims.c.video_id == video_id))


def submit_reprocess(
    settings: ApiSettings, ref: VideoRef, obj: StoredObject, instance: dg.DagsterInstance, engine: sa.Engine
) -> str:
    """The new run's id. ReprocessError: 409 while a run of the video is queued or running (one in flight per
    video), 503 when no webserver is configured or reachable, 502 when it refuses."""
    if not settings.dagster_url:
        raise ReprocessError(503, "reprocessing needs the Dagster webserver: set VIDASSETS_DAGSTER_URL")
    if not _claim(engine, ref.video_id):
        raise ReprocessError(409, f"video {ref.video_id}: a reprocess of it is being submitted")
    try:
        running = run_in_flight(instance, ref.video_id)
        if running is not None:
            raise ReprocessError(409, f"video {ref.video_id}: run {running.run_id} is still "
                                      f"{running.status.value.lower()}; reprocess it after it ends")
        ensure_partition(instance, ref.video_id)  # an archived video (`vidassets partitions archive`) runs again
        return _submit(settings.dagster_url, ref, obj)
    finally:
        _release(engine, ref.video_id)


def _submit(dagster_url: str, ref: VideoRef, obj: StoredObject) -> str:
    from dagster_graphql import DagsterGraphQLClientError

    source = SourceRef(video_id=ref.video_id, source_uri=f"s3://{ref.bucket}/{ref.key}", bucket=ref.bucket,
                       key=ref.key, etag=obj.etag, size=obj.size)
    tags = {**source.tags(), **lifecycle.partition_tags(ref.video_id), lifecycle.REPROCESS_TAG: "api"}
    where = redact_url(dagster_url)
    try:
        return graphql_client(dagster_url).submit_job_execution(
            lifecycle.PIPELINE_JOB, repository_location_name=lifecycle.LOCATION_NAME, tags=tags
        )
    except DagsterGraphQLClientError as err:
        log.warning("reprocess of %s: the Dagster webserver at %s refused the run: %s", ref.video_id, where,
                    str(err).replace(dagster_url, where)[:2000])
        raise ReprocessError(502, "the Dagster webserver did not accept the run; the API log has the details") from err
    except Exception as err:  # requests/gql connection errors
        log.warning("reprocess of %s: cannot reach the Dagster webserver at %s: %s", ref.video_id, where,
                    type(err).__name__)
        raise ReprocessError(503, "cannot reach the Dagster webserver; try again later") from err
