"""The FastAPI application (`create_app`): every `/v1` route, authenticated with `Authorization: Bearer <key>`.

A user only ever sees objects under their own prefix: another user's video answers 404, exactly like a video that
does not exist. OpenAPI docs at `/docs`.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Annotated, Any

import dagster as dg
import sqlalchemy as sa
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict

from vidassets.api import results, webhooks
from vidassets.api.auth import (
    AuthError,
    KeyInfo,
    ViewGrant,
    active_key,
    check_view_token,
    key_for,
    make_view_token,
    server_secret,
)
from vidassets.api.db import engine_for
from vidassets.api.headers import SecurityHeaders
from vidassets.api.objects import owner_of, user_prefix
from vidassets.api.reprocess import ReprocessError, submit_reprocess
from vidassets.api.settings import ApiSettings
from vidassets.api.status import STATUSES, VideoRef, describe, head, list_objects, locate
from vidassets.api.uploads import UploadRejected, UploadRequest, check_upload, issue_upload
from vidassets.storage import Store
from vidassets.storage.s3 import s3_client
from vidassets.video_ids import video_id_for

VIEW_COOKIE = "vidassets_view"
MAX_LIST_LIMIT = 100
MAX_SCANNED_PER_PAGE = 1000


@dataclass
class Services:
    settings: ApiSettings
    engine: sa.Engine
    instance: dg.DagsterInstance
    s3: Any
    store: Store
    view_secret: bytes
    presigner: Any  # signs the URLs handed to clients: upload PUTs, the page's video (public S3 endpoint)


def services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(services)]
_bearer = HTTPBearer(auto_error=False, description="An API key from `vidassets keys create --user NAME`")


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


def current_key(
    svc: ServicesDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> KeyInfo:
    if credentials is None:
        raise _unauthorized("missing API key: send `Authorization: Bearer <key>`")
    try:
        return key_for(svc.engine, credentials.credentials)
    except AuthError as err:
        raise _unauthorized(str(err)) from err


KeyDep = Annotated[KeyInfo, Depends(current_key)]


def current_user(key: KeyDep) -> str:
    return key.user


UserDep = Annotated[str, Depends(current_user)]


@dataclass(frozen=True)
class Viewer:
    """Who is looking at a video: a key holder (`grant` None) or a browser with a view token (`from_query`: the
    token came in the URL, not the page's cookie)."""

    user: str
    key: KeyInfo | None = None
    grant: ViewGrant | None = None
    from_query: bool = False


def viewer(
    video_id: str, request: Request, svc: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    token: Annotated[str | None, Query(description="a view token from POST /v1/videos/{id}/view-token")] = None,
) -> Viewer:
    """A key, or a view token for this video (query `token` or the page's cookie) whose key is still active."""
    if credentials is not None:
        key = current_key(svc, credentials)
        return Viewer(key.user, key=key)
    from_query = token is not None
    token = token or request.cookies.get(VIEW_COOKIE)
    if not token:
        raise _unauthorized("missing API key or view token")
    try:
        grant = check_view_token(svc.view_secret, token, video_id)
    except AuthError as err:
        raise _unauthorized(str(err)) from err
    if not active_key(svc.engine, grant.key_id, grant.user):
        raise _unauthorized("the API key this view token was made with was revoked")
    return Viewer(grant.user, grant=grant, from_query=from_query)


ViewerDep = Annotated[Viewer, Depends(viewer)]


def owned(svc: Services, video_id: str, user: str) -> VideoRef:
    ref = locate(svc.instance, svc.s3, svc.settings, video_id, user, svc.engine)
    if ref is None:
        raise HTTPException(404, f"no video {video_id!r} for this user")
    return ref


class WebhookRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str


def _encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode()


def _decode_cursor(cursor: str, prefix: str) -> str:
    try:
        key = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as err:
        raise HTTPException(422, f"cursor {cursor!r} is not a cursor this API returned") from err
    if not key.startswith(prefix):
        raise HTTPException(422, f"cursor {cursor!r} is not a cursor this API returned")
    return key


def create_app(settings: ApiSettings | None = None, instance: dg.DagsterInstance | None = None) -> FastAPI:
    """The API over the Dagster instance (`DAGSTER_HOME` unless given) and the environment's S3 and database."""
    settings = settings or ApiSettings.from_env()
    engine = engine_for(settings.db_url)
    s3 = s3_client(settings.s3)
    svc = Services(settings, engine, instance or dg.DagsterInstance.get(), s3,
                   Store.for_root(settings.storage_root, settings.s3), server_secret(engine),
                   s3_client(settings.s3.with_endpoint(settings.s3_public_url)) if settings.s3_public_url else s3)
    app = FastAPI(
        title="vidassets API",
        version="1",
        description="Upload videos through presigned S3 URLs, follow their processing, read transcripts and "
        "summaries, and get signed webhooks when they end.",
        # Refused (413) before the body is read or parsed, with or without a key: by Content-Length, and by
        # counting a chunked body as it streams in.
        max_body_size=settings.max_body_bytes,
    )
    app.state.services = svc
    app.add_middleware(SecurityHeaders)
    if settings.cors_origins:
        # Bearer keys, not cookies, authenticate a browser app: no credentialed CORS.
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                           allow_methods=["GET", "POST", "DELETE"], allow_headers=["authorization", "content-type"],
                           max_age=3600)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "body"
            problems.append(f"{where}: {error.get('msg')}")
        return JSONResponse(status_code=422, content={"detail": "invalid request: " + "; ".join(problems)})

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/uploads", status_code=201, tags=["uploads"])
    def create_upload(body: UploadRequest, key: KeyDep, svc: ServicesDep) -> dict[str, Any]:
        """A presigned PUT URL for one video under your prefix. PUT the bytes with exactly the returned headers
        before `expires_at`; the platform picks the object up within seconds. The first object PUT there is the
        video: a later PUT to the same URL is only processed when you ask (reprocess)."""
        try:
            safe_name = check_upload(body, svc.settings, key)
            return issue_upload(svc.engine, svc.presigner, svc.settings, key, body, safe_name)
        except UploadRejected as err:
            raise HTTPException(err.status_code, str(err)) from err

    @app.get("/v1/videos", tags=["videos"])
    def list_videos(
        user: UserDep, svc: ServicesDep,
        status: Annotated[str | None, Query(description=f"one of {', '.join(STATUSES)}")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIST_LIMIT)] = 20,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """Your videos, oldest first, `limit` per page; pass `next_cursor` back as `cursor` for the next page."""
        if status is not None and status not in STATUSES:
            raise HTTPException(422, f"status {status!r}: one of {', '.join(STATUSES)}")
        prefix = user_prefix(svc.settings, user)
        start_after = _decode_cursor(cursor, prefix) if cursor else None
        videos: list[dict[str, Any]] = []
        last_key: str | None = None
        exhausted = True
        for scanned, obj in enumerate(list_objects(svc.s3, svc.settings.bucket, prefix, start_after)):
            if len(videos) >= limit or scanned >= MAX_SCANNED_PER_PAGE:
                exhausted = False
                break
            last_key = obj.key
            if owner_of(svc.settings, obj.bucket, obj.key) != user:
                continue  # not `<user>/<upload id>/<name>`: nothing the API issued
            ref = VideoRef(video_id_for(obj.bucket, obj.key), obj.bucket, obj.key, user)
            video = describe(svc.instance, svc.store, ref, obj)
            if status is None or video["status"] == status:
                videos.append(video)
        next_cursor = _encode_cursor(last_key) if last_key and not exhausted else None
        return {"videos": videos, "next_cursor": next_cursor}

    @app.get("/v1/videos/{video_id}", tags=["videos"])
    def get_video(video_id: str, user: UserDep, svc: ServicesDep) -> dict[str, Any]:
        """Status (uploaded, queued, processing + current_step, completed, rejected + reasons, failed + error),
        timestamps, media details from the warehouse, and links to the results."""
        ref = owned(svc, video_id, user)
        return describe(svc.instance, svc.store, ref, head(svc.s3, ref))

    @app.get("/v1/videos/{video_id}/transcript", tags=["results"])
    def get_transcript(
        video_id: str, who: ViewerDep, svc: ServicesDep,
        format: Annotated[str, Query(pattern="^(json|srt|vtt|txt)$")] = "json",  # noqa: A002 - the API's word
    ) -> Response:
        """The diarized transcript as WhisperX JSON, SRT, WebVTT or plain text (speaker labels included; with
        your voice ids and names for them once the speaker registry has the video)."""
        ref = owned(svc, video_id, who.user)
        found = results.transcript(svc.store, ref.video_id, format, labels=results.labels_for(svc, who.user, ref))
        if found is None:
            raise _not_ready(svc, ref, "transcript")
        body, media_type = found
        return Response(body, media_type=media_type)

    @app.get("/v1/videos/{video_id}/summary", tags=["results"])
    def get_summary(video_id: str, user: UserDep, svc: ServicesDep) -> dict[str, Any]:
        """Title, summary and topics, and which method and model wrote them."""
        ref = owned(svc, video_id, user)
        found = results.summary(svc.store, ref.video_id)
        if found is None:
            raise _not_ready(svc, ref, "summary")
        return found

    @app.post("/v1/videos/{video_id}/reprocess", status_code=202, tags=["videos"])
    def reprocess(video_id: str, user: UserDep, svc: ServicesDep) -> dict[str, Any]:
        """A new pipeline run of this video (queued like any other run), of the object as it is now. 409 while
        a run of it is queued or running."""
        ref = owned(svc, video_id, user)
        obj = head(svc.s3, ref)
        if obj is None:
            raise HTTPException(409, f"video {video_id}: the uploaded object is gone; upload it again")
        try:
            run_id = submit_reprocess(svc.settings, ref, obj, svc.instance, svc.engine)
        except ReprocessError as err:
            raise HTTPException(err.status_code, str(err)) from err
        return {"video_id": video_id, "run_id": run_id, "status_url": f"/v1/videos/{video_id}"}

    @app.post("/v1/videos/{video_id}/view-token", tags=["results"])
    def view_token(video_id: str, key: KeyDep, svc: ServicesDep) -> dict[str, Any]:
        """A short-lived link to the transcript page that works in a browser without the key, until it expires
        or this key is revoked (loading the page never extends it)."""
        ref = owned(svc, video_id, key.user)
        token, expires = make_view_token(svc.view_secret, key.user, ref.video_id, svc.settings.view_token_ttl_s,
                                         key_id=key.key_id)
        return {"view_url": f"/v1/videos/{video_id}/view?token={token}", "expires_at": expires}

    @app.post("/v1/webhooks", status_code=201, tags=["webhooks"])
    def register_webhook(body: WebhookRequest, user: UserDep, svc: ServicesDep) -> dict[str, Any]:
        """Register a callback URL; the response holds the signing secret, shown only once. The URL must be
        http(s) without a user name, and its host must resolve to public addresses only (unless the operator
        allowed it): 422 otherwise; 409 past the per-user limit of webhooks."""
        try:
            return webhooks.register(svc.engine, svc.settings, user, body.url)
        except webhooks.TooManyWebhooks as err:
            raise HTTPException(409, str(err)) from err
        except webhooks.BadWebhook as err:
            raise HTTPException(422, str(err)) from err

    @app.get("/v1/webhooks", tags=["webhooks"])
    def list_webhooks(user: UserDep, svc: ServicesDep) -> dict[str, Any]:
        return {"webhooks": webhooks.list_hooks(svc.engine, user)}

    @app.delete("/v1/webhooks/{webhook_id}", status_code=204, tags=["webhooks"])
    def delete_webhook(webhook_id: str, user: UserDep, svc: ServicesDep) -> Response:
        if not webhooks.delete_hook(svc.engine, user, webhook_id):
            raise HTTPException(404, f"no webhook {webhook_id!r} for this user")
        return Response(status_code=204)

    @app.get("/v1/webhooks/deliveries", tags=["webhooks"])
    def list_deliveries(
        user: UserDep, svc: ServicesDep, limit: Annotated[int, Query(ge=1, le=500)] = 50
    ) -> dict[str, Any]:
        """The delivery log, newest first: attempts, last HTTP status or error, delivered time."""
        return {"deliveries": webhooks.list_deliveries(svc.engine, user, limit)}

    from vidassets.api.speakers import speakers_router
    from vidassets.api.view import add_view_route

    app.include_router(speakers_router(services, current_user, owned))
    add_view_route(app, viewer, owned, VIEW_COOKIE)
    from vidassets.api.search import router as search_router

    app.include_router(search_router)
    return app


def _not_ready(svc: Services, ref: VideoRef, what: str) -> HTTPException:
    video = describe(svc.instance, svc.store, ref, head(svc.s3, ref))
    status = video["status"]
    if status == "rejected":
        why = f"it was rejected by moderation ({'; '.join(video['reasons'])})"
    elif status == "failed":
        why = f"processing failed: {video['error']}"
    elif status == "completed":
        why = "it has no speech" if what == "summary" or video.get("has_audio") is False else "it is not written"
    else:
        why = f"it is {status}" + (f" ({video['current_step']})" if video.get("current_step") else "")
    return HTTPException(409 if status not in ("completed",) else 404, f"no {what} for video {ref.video_id}: {why}")
