"""The API from the command line: `vidassets upload` (presigned PUT with a progress bar) and `vidassets status`."""

from __future__ import annotations

import mimetypes
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from vidassets.settings import API_KEY, API_URL, load_settings

API_URL_ENV = API_URL.name
API_KEY_ENV = API_KEY.name
CHUNK = 1 << 20


class ApiError(RuntimeError):
    pass


def content_type_for(path: Path) -> str:
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed if guessed and guessed.startswith("video/") else "video/mp4"


class Progress:
    """`name  [#########...........]  45%  12.3/27.0 MB` on stderr, redrawn in place."""

    def __init__(self, name: str, total: int, width: int = 30) -> None:
        self.name, self.total, self.width, self.done = name, max(total, 1), width, 0
        self.tty = sys.stderr.isatty()

    def advance(self, count: int) -> None:
        self.done += count
        if self.tty or self.done >= self.total:
            filled = int(self.width * self.done / self.total)
            bar = "#" * filled + "." * (self.width - filled)
            end = "\n" if self.done >= self.total else ""
            sys.stderr.write(f"\r{self.name[:40]:<40} [{bar}] {100 * self.done / self.total:3.0f}%  "
                             f"{self.done / 1e6:.1f}/{self.total / 1e6:.1f} MB{end}")
            sys.stderr.flush()


def _chunks(path: Path, on_chunk: Callable[[int], None]) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            on_chunk(len(block))
            yield block


class ApiClient:
    def __init__(self, url: str, key: str, timeout: float = 60) -> None:
        self.http = httpx.Client(base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {key}"},
                                 timeout=timeout)

    @classmethod
    def from_env(cls) -> ApiClient | None:
        client = load_settings().client
        return cls(client.url, client.key) if client.url and client.key else None

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail")
            except ValueError:
                detail = response.text[:300]
            raise ApiError(f"{method} {path}: HTTP {response.status_code}: {detail}")
        return response.json() if response.content else None

    def upload(self, path: Path, priority: int | None = None) -> dict[str, Any]:
        size = path.stat().st_size
        body: dict[str, Any] = {"filename": path.name, "content_type": content_type_for(path), "size": size}
        if priority is not None:
            body["priority"] = priority
        ticket = self.call("POST", "/v1/uploads", json=body)
        progress = Progress(path.name, size)
        headers = {**ticket["headers"], "Content-Length": str(size)}
        response = httpx.put(ticket["upload_url"], content=_chunks(path, progress.advance), headers=headers,
                             timeout=None)
        if response.status_code >= 300:
            raise ApiError(f"PUT of {path.name} to storage: HTTP {response.status_code}: {response.text[:300]}")
        return ticket

    def video(self, video_id: str) -> dict[str, Any]:
        return self.call("GET", f"/v1/videos/{video_id}")
