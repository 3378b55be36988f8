"""Helpers for what the Dagster UI shows."""

import base64
import os

import dagster as dg


def markdown_image(data: bytes, alt: str, mime: str = "image/png") -> dg.MetadataValue:
    """An image embedded in markdown metadata (the UI renders data: URIs inline)."""
    return dg.MetadataValue.md(f"![{alt}](data:{mime};base64,{base64.b64encode(data).decode()})")


def model_tag(**variables: str) -> str:
    """Short names of the models chosen by environment variables (`NAME=default`), for asset `code_version`s:
    configuring another model marks existing partitions stale in the UI."""
    return "+".join(
        os.path.basename((os.environ.get(name) or default).rstrip("/")) for name, default in variables.items()
    )
