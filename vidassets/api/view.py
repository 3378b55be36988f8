"""`GET /v1/videos/{id}/view`: the transcript page — the video with its WebVTT track, the transcript with speaker
colours (click a line to seek), the summary and the moderation verdict. Server-rendered, no build step.

A browser has no API key: `POST /v1/videos/{id}/view-token` gives a link with a signed token that expires; the page
keeps it in a cookie scoped to this video and passes it to the track URL.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from vidassets.api import results
from vidassets.api.auth import make_view_token
from vidassets.api.status import describe, head

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html"])
)
SPEAKER_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")


def add_view_route(app: FastAPI, viewer: Callable[..., str], owned: Callable[..., Any], cookie: str) -> None:
    from vidassets.api.app import ServicesDep

    @app.get("/v1/videos/{video_id}/view", response_class=HTMLResponse, tags=["results"])
    def view(video_id: str, request: Request, user: Annotated[str, Depends(viewer)], svc: ServicesDep) -> HTMLResponse:
        """The transcript page (HTML). Open the `view_url` from POST /v1/videos/{id}/view-token in a browser."""
        ref = owned(svc, video_id, user)
        ttl = svc.settings.view_token_ttl_s
        token, _ = make_view_token(svc.view_secret, user, ref.video_id, ttl)
        transcript = results.transcript_manifest(svc.store, ref.video_id) or {}
        segments = results.speaker_segments(transcript)
        video_url = svc.presigner.generate_presigned_url(
            "get_object", Params={"Bucket": ref.bucket, "Key": ref.key}, ExpiresIn=ttl
        )
        html = TEMPLATES.get_template("view.html").render(
            video=describe(svc.instance, svc.store, ref, head(svc.s3, ref)),
            summary=results.summary(svc.store, ref.video_id),
            moderation=results.moderation(svc.store, ref.video_id),
            segments=segments,
            speakers=sorted({(s["speaker"], s["colour"]) for s in segments}, key=lambda item: item[1]),
            colours=SPEAKER_COLOURS,
            language=transcript.get("language") or "en",
            video_url=video_url,
            track_url=f"/v1/videos/{ref.video_id}/transcript?format=vtt&token={token}",
        )
        response = HTMLResponse(html, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
        response.set_cookie(cookie, token, max_age=ttl, httponly=True, samesite="strict",
                            path=f"/v1/videos/{ref.video_id}", secure=request.url.scheme == "https")
        return response
