"""`S3Options`: how to reach S3, as plain values (no environment read here, no heavy imports, so
`vidassets.settings` can build it cheaply at package import)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class S3Options:
    """How to reach S3; `vidassets.settings` builds it from the standard AWS variables."""

    endpoint: str | None = None  # an S3-compatible endpoint URL; None: AWS
    region: str | None = None  # None: the SDK's own default
    max_attempts: int = 12  # attempts per request, the first one included (`AWS_MAX_ATTEMPTS`)
    # Explicit credentials (tests, the dev stack); None: the AWS SDKs' own chains find them.
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts={self.max_attempts}: expected 1 or more attempts per request")

    def with_endpoint(self, endpoint: str | None) -> S3Options:
        """The same options with another endpoint (the address outside clients use, for presigned URLs)."""
        return replace(self, endpoint=endpoint or self.endpoint)
