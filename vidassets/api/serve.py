"""The API under uvicorn, for `vidassets api` (production: several workers behind a proxy; locally: `make run`).

Access logs never show secrets: keys travel in headers, and view tokens in query strings are redacted.
"""

from __future__ import annotations

import copy
import logging
import re

import uvicorn

_TOKEN_RE = re.compile(r"(token=)[^&\s\"]+")


class RedactTokens(logging.Filter):
    """`?token=…` -> `?token=[redacted]` in uvicorn's access log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_TOKEN_RE.sub(r"\1[redacted]", a) if isinstance(a, str) else a for a in record.args)
        record.msg = _TOKEN_RE.sub(r"\1[redacted]", str(record.msg))
        return True


def log_config() -> dict:
    """uvicorn's logging config with RedactTokens on the access log (applies in every worker)."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_tokens"] = {"()": RedactTokens}
    config["handlers"]["access"]["filters"] = ["redact_tokens"]
    return config


def serve(*, host: str, port: int, workers: int) -> None:
    """The API under uvicorn in the foreground until stopped (`vidassets api` checks the settings first)."""
    uvicorn.run("vidassets.api.app:create_app", factory=True, host=host, port=port, workers=workers,
                proxy_headers=True, log_config=log_config())
