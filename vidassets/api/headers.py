"""Browser-facing response headers: every response is `nosniff`, never framed, never sends a Referer; API
responses carry a Content-Security-Policy that allows nothing (the transcript page sets its own, narrower one
than a page needs, see `page_policy`). The interactive docs (`/docs`, `/redoc`) load Swagger's scripts, so they
keep the frame and sniffing rules but no CSP."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
ALWAYS = {
    b"x-content-type-options": b"nosniff",
    b"x-frame-options": b"DENY",
    b"referrer-policy": b"no-referrer",
}
DOCS_PATHS = ("/docs", "/redoc", "/openapi.json")


def page_policy(nonce: str, media_origins: list[str]) -> str:
    """The transcript page: its one inline script (by nonce), inline styles, the video from S3 and the track
    from this origin; nothing else, and never inside a frame."""
    media = " ".join(["'self'", *media_origins])
    return (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; media-src {media}; "
            "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


class SecurityHeaders:
    """ASGI middleware adding the headers above to every HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = dict(ALWAYS)
        if not str(scope.get("path", "")).startswith(DOCS_PATHS):
            wanted[b"content-security-policy"] = API_POLICY.encode()

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in wanted.items() if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
