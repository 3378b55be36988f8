"""`GET /v1/search`: the moments in the caller's own videos where a phrase is said or shown.

Which videos are the caller's is the API's one ownership rule (`objects.owner_of` over the caller's prefix, as
`GET /v1/videos` lists them); only those videos' warehouse rows are read, so another user's text can neither match
nor cost anything. The query is checked by `vidassets.search.engine.parse_query` (422 otherwise) and reaches
DuckDB as a parameter only. Semantic search loads MiniLM into the API process on first use (once per process).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from vidassets.analytics.warehouse import Warehouse
from vidassets.api.app import Services, ServicesDep, UserDep
from vidassets.api.objects import owner_of, user_prefix
from vidassets.api.status import list_objects
from vidassets.search.engine import DEFAULT_LIMIT, MAX_LIMIT, MAX_QUERY_CHARS, SearchError, search
from vidassets.video_ids import video_id_for

router = APIRouter(tags=["search"])


def user_video_ids(svc: Services, user: str) -> set[str]:
    """Every video id of `user`: objects under their prefix that the ownership rule gives to them."""
    return {
        video_id_for(obj.bucket, obj.key)
        for obj in list_objects(svc.s3, svc.settings.bucket, user_prefix(svc.settings, user))
        if owner_of(svc.settings, obj.bucket, obj.key) == user
    }


def _sentence_encoder() -> Any:
    from vidassets.model_config import current_model_config
    from vidassets.resources.models import ModelLoader

    return ModelLoader(current_model_config()).sentence_encoder()


@router.get("/v1/search")
def search_moments(
    user: UserDep, svc: ServicesDep,
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS, description="words or a phrase")],
    semantic: Annotated[bool, Query(description="rank by meaning (MiniLM embeddings) instead of by words")] = False,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> dict[str, Any]:
    """Where `q` is said (transcript segments) or shown (on-screen text) in your videos, best first: video, kind
    (`speech`/`screen`), start and end in seconds, the text (PII-redacted where it was), a score and a link to the
    transcript page at that moment (`/v1/videos/{id}/view#t=<seconds>`; open it with a view token)."""
    video_ids = user_video_ids(svc, user)
    encoder = _sentence_encoder() if semantic and video_ids else None
    try:
        matches = search(Warehouse(svc.store), q, video_ids=video_ids, semantic=encoder is not None, limit=limit,
                         encoder=encoder)
    except SearchError as err:
        raise HTTPException(422, str(err)) from err
    return {"query": q, "semantic": semantic, "matches": [m.as_dict() for m in matches]}
