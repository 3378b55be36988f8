"""The API under uvicorn, for `vidassets api` (production: several workers behind a proxy; locally: `make run`).

Access logs never show secrets: keys travel in headers, and view tokens in query strings are redacted.
"""

from __future__ import annotations

import copy
import logging
import re
from urllib.parse import unquote_plus

import uvicorn

_QUERY_PARAM_RE = re.compile(r"([?&;])([^=&;\s\"]*)=([^&;\s\"]*)")
SECRET_PARAMS = frozenset({"token"})


def redact_query(text: str) -> str:
    """Every query parameter named `token` gets the value `[redacted]`, however its name is encoded: the API
    percent-decodes `?%74oken=` to `token`, so the log must too (any letter case, to be safe)."""

    def one(match: re.Match[str]) -> str:
        name = unquote_plus(match.group(2))
        if name.strip().lower() in SECRET_PARAMS:
            return f"{match.group(1)}{match.group(2)}=[redacted]"
        return match.group(0)

    return _QUERY_PARAM_RE.sub(one, text)


class RedactTokens(logging.Filter):
    """`?token=…` -> `?token=[redacted]` in uvicorn's access log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_query(a) if isinstance(a, str) else a for a in record.args)
        record.msg = redact_query(str(record.msg))
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
