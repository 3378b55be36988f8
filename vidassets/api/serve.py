"""`vidassets api`: the API under uvicorn (production: several workers behind a proxy; locally: `make run`).

Access logs never show secrets: keys travel in headers, and view tokens in query strings are redacted.
"""

from __future__ import annotations

import argparse
import copy
import logging
import re
import sys
from collections.abc import Sequence

import uvicorn

from vidassets.api.settings import ApiSettings

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


def api_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vidassets api", description="Serve the vidassets HTTP API (uvicorn).")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    args = parser.parse_args(argv)
    try:
        ApiSettings.from_env()  # a bad setting is one line naming it, before any worker starts
    except (ValueError, RuntimeError) as err:
        print(f"vidassets api: {err}", file=sys.stderr)
        return 2
    uvicorn.run("vidassets.api.app:create_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, proxy_headers=True, log_config=log_config())
    return 0
