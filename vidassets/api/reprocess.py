"""`POST /v1/videos/{id}/reprocess`: a new run of the partition, submitted through the Dagster webserver's GraphQL
API (`VIDASSETS_DAGSTER_URL`) exactly as the UI's "Materialize" does, so it is queued like every other run."""

from __future__ import annotations

from urllib.parse import urlparse

from vidassets import lifecycle
from vidassets.api.objects import StoredObject
from vidassets.api.settings import ApiSettings
from vidassets.api.status import VideoRef
from vidassets.sources import SourceRef


class ReprocessError(RuntimeError):
    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


def submit_reprocess(settings: ApiSettings, ref: VideoRef, obj: StoredObject) -> str:
    """The new run's id; ReprocessError (503) when no webserver is configured or it refuses."""
    if not settings.dagster_url:
        raise ReprocessError(503, "reprocessing needs the Dagster webserver: set VIDASSETS_DAGSTER_URL")
    from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

    url = urlparse(settings.dagster_url)
    client = DagsterGraphQLClient(
        url.hostname or "localhost", port_number=url.port, use_https=url.scheme == "https",
        path_prefix=url.path.rstrip("/"), timeout=30,
    )
    source = SourceRef(video_id=ref.video_id, source_uri=f"s3://{ref.bucket}/{ref.key}", bucket=ref.bucket,
                       key=ref.key, etag=obj.etag, size=obj.size)
    tags = {**source.tags(), **lifecycle.partition_tags(ref.video_id), lifecycle.REPROCESS_TAG: "api"}
    try:
        return client.submit_job_execution(lifecycle.PIPELINE_JOB, repository_location_name=lifecycle.LOCATION_NAME,
                                           tags=tags)
    except DagsterGraphQLClientError as err:
        raise ReprocessError(502, f"the Dagster webserver refused the run: {err}") from err
    except Exception as err:  # requests/gql connection errors
        raise ReprocessError(503, f"cannot reach the Dagster webserver at {settings.dagster_url}: "
                                  f"{type(err).__name__}") from err
