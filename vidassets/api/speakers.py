"""`/v1/speakers`: the voices in your own videos, and names for them (bound once: every video of yours with the
voice shows the name, past and future).

Tenants share one corpus registry (`analytics/voice_registry.py`) but never each other's view of it:
- a user sees only the appearances of a voice in videos the API says they own (`owned`: the upload record, the
  one ownership rule), and only their own names (one names file per user; the operator's are `_operator`);
- voice ids are shown per user, `v-` + 12 hex of HMAC(server secret, user, corpus id): two users with the same
  person in their videos get unrelated ids, so neither can tell the voice also occurs outside their videos (a
  corpus id is derived from the video that founded the voice, which may be another user's);
- merges and splits change the corpus registry every user's ids rest on: operator only (`vidassets speakers`).
Names are tenant values: 1-80 characters, no control or invisible formatting characters, escaped on the page.
"""


import hashlib
import hmac
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from vidassets.analytics import voice_registry as registry
from vidassets.analytics.warehouse import Warehouse
from vidassets.storage import Store

MAX_NAME_BODY = 4 * registry.MAX_NAME_CHARS  # pydantic bound before the name's own check


def tenant_voice_id(secret: bytes, user: str, voice_id: str) -> str:
    digest = hmac.new(secret, f"vidassets-voice\0{user}\0{voice_id}".encode(), hashlib.sha256).hexdigest()
    return f"v-{digest[:12]}"


def owned_videos(store: Store, user: str, is_owned: Callable[[str], bool]) -> list[dict[str, Any]]:
    """The registry rows of the user's videos: rows whose video the key rule gives to `user`, each confirmed by
    the API's ownership check (`is_owned`)."""
    rows = [r for r in registry.load_registry(Warehouse(store)) if r["owner"] == user]
    mine: dict[str, bool] = {}
    out = []
    for row in rows:
        if row["video_id"] not in mine:
            mine[row["video_id"]] = is_owned(row["video_id"])
        if mine[row["video_id"]]:
            out.append(row)
    return out


def user_labels(store: Store, secret: bytes, user: str, video_id: str) -> registry.Labels:
    """The labels of one of the user's videos as that user sees them: their voice ids and their names."""
    known = registry.names(store, user)
    return {r["speaker"]: (tenant_voice_id(secret, user, r["voice_id"]), known.get(r["voice_id"]))
            for r in registry.load_registry(Warehouse(store), video_id)}


class NameRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=MAX_NAME_BODY)


def speakers_router(services_dep: Any, user_dep: Any, owned: Callable[..., Any]) -> APIRouter:
    """The routes, given the app's dependencies (services, the key's user) and its ownership check."""
    router = APIRouter(prefix="/v1/speakers", tags=["speakers"])

    def voices_of(svc: Any, user: str) -> dict[str, dict[str, Any]]:
        def is_owned(video_id: str) -> bool:
            try:
                owned(svc, video_id, user)
            except HTTPException:
                return False
            return True

        rows = owned_videos(svc.store, user, is_owned)
        voices = registry.voices_in(svc.store, {r["video_id"] for r in rows}, user)
        out = {}
        for voice in voices:
            public = tenant_voice_id(svc.view_secret, user, voice["voice_id"])
            out[public] = {**voice, "voice_id": public, "_corpus_id": voice["voice_id"]}
        return out

    def shown(voice: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in voice.items() if not k.startswith("_")}

    def find(svc: Any, user: str, voice_id: str) -> dict[str, Any]:
        voice = voices_of(svc, user).get(voice_id)
        if voice is None:
            raise HTTPException(404, f"no voice {voice_id!r} in your videos")
        return voice

    @router.get("")
    def list_speakers(user: Annotated[str, Depends(user_dep)], svc: Annotated[Any, Depends(services_dep)]
                      ) -> dict[str, Any]:
        """Every voice in your videos (most videos first): its id, your name for it, where it speaks."""
        return {"speakers": [shown(v) for v in voices_of(svc, user).values()]}

    @router.get("/{voice_id}")
    def get_speaker(voice_id: str, user: Annotated[str, Depends(user_dep)],
                    svc: Annotated[Any, Depends(services_dep)]) -> dict[str, Any]:
        return shown(find(svc, user, voice_id))

    @router.put("/{voice_id}/name")
    def name_speaker(voice_id: str, body: NameRequest, user: Annotated[str, Depends(user_dep)],
                     svc: Annotated[Any, Depends(services_dep)]) -> dict[str, Any]:
        """Name the voice in every one of your videos, past and future (transcripts, subtitles, page)."""
        voice = find(svc, user, voice_id)
        try:
            name = registry.check_voice_name(body.name)
            written = registry.name_voice(svc.store, voice["_corpus_id"], name, user)
        except registry.RegistryError as err:
            raise HTTPException(422, str(err)) from err
        return {**shown(voice), "name": name, "videos_updated": len(written)}

    @router.delete("/{voice_id}/name")
    def unname_speaker(voice_id: str, user: Annotated[str, Depends(user_dep)],
                       svc: Annotated[Any, Depends(services_dep)]) -> dict[str, Any]:
        voice = find(svc, user, voice_id)
        written = registry.name_voice(svc.store, voice["_corpus_id"], None, user)
        return {**shown(voice), "name": None, "videos_updated": len(written)}

    return router
