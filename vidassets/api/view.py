"""`GET /v1/videos/{id}/view`: the transcript page — the video with its WebVTT track, the transcript with speaker
colours (click a line to seek), the summary and the moderation verdict. Server-rendered, no build step.

A browser has no API key: `POST /v1/videos/{id}/view-token` gives a link with a signed token that expires and
dies with the key that made it. The first load moves the token out of the URL: it answers 303 to the same page
without `?token=`, setting an HttpOnly cookie scoped to this video that expires with the token; the page and its
track then authenticate with the cookie. Loading the page never mints a new token, so a link lives exactly its
TTL. The cookie is `Secure` when the API's public URL (`VIDASSETS_API_PUBLIC_URL`) or the request is https.
"""

import math
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlparse

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from vidassets.analytics.voice_registry import labelled
from vidassets.api import results
from vidassets.api.auth import make_view_token
from vidassets.api.headers import page_policy
from vidassets.api.status import describe, head

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html"])
)
SPEAKER_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")


def add_view_route(app: FastAPI, viewer: Callable[..., Any], owned: Callable[..., Any], cookie: str) -> None:
    from vidassets.api.app import ServicesDep

    @app.get("/v1/videos/{video_id}/view", response_class=HTMLResponse, tags=["results"])
    def view(video_id: str, request: Request, who: Annotated[Any, Depends(viewer)], svc: ServicesDep) -> Response:
        """The transcript page (HTML). Open the `view_url` from POST /v1/videos/{id}/view-token in a browser."""
        ref = owned(svc, video_id, who.user)
        if who.grant is not None:
            token, expires = who.grant.token, who.grant.expires
        else:  # a key holder: a token from this key, as POST /view-token would give
            token, expires = make_view_token(svc.view_secret, who.user, ref.video_id, svc.settings.view_token_ttl_s,
                                             key_id=who.key.key_id)
        remaining = max(1, math.ceil(expires - time.time()))  # the cookie goes when the token does
        secure = request.url.scheme == "https" or (svc.settings.public_url or "").startswith("https://")

        def with_cookie(response: Response) -> Response:
            response.set_cookie(cookie, token, max_age=remaining, expires=remaining, httponly=True, samesite="lax",
                                path=f"/v1/videos/{ref.video_id}", secure=secure)
            return response

        if who.from_query:  # the token leaves the URL (history, logs, Referer) after the first load
            clean = request.url.remove_query_params("token")
            location = clean.path + (f"?{clean.query}" if clean.query else "")
            return with_cookie(RedirectResponse(location, status_code=303, headers={"Cache-Control": "no-store"}))
        transcript = labelled(results.transcript_manifest(svc.store, ref.video_id) or {},
                              results.labels_for(svc, who.user, ref))
        segments = results.speaker_segments(transcript)
        video_url = svc.presigner.generate_presigned_url(
            "get_object", Params={"Bucket": ref.bucket, "Key": ref.key}, ExpiresIn=remaining
        )
        nonce = secrets.token_urlsafe(16)
        video_origin = urlparse(video_url)
        html = TEMPLATES.get_template("view.html").render(
            video=describe(svc.instance, svc.store, ref, head(svc.s3, ref)),
            summary=results.summary(svc.store, ref.video_id),
            moderation=results.moderation(svc.store, ref.video_id),
            segments=segments,
            speakers=sorted({(s["speaker"], s["colour"]) for s in segments}, key=lambda item: item[1]),
            colours=SPEAKER_COLOURS,
            language=transcript.get("language") or "en",
            video_url=video_url,
            track_url=f"/v1/videos/{ref.video_id}/transcript?format=vtt",  # the cookie authenticates it
            nonce=nonce,
        )
        headers = {
            "Cache-Control": "no-store",
            "Content-Security-Policy": page_policy(nonce, [f"{video_origin.scheme}://{video_origin.netloc}"]),
        }
        return with_cookie(HTMLResponse(html, headers=headers))
