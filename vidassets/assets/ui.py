"""Helpers for what the Dagster UI shows."""

import base64

import dagster as dg


def markdown_image(data: bytes, alt: str, mime: str = "image/png") -> dg.MetadataValue:
    """An image embedded in markdown metadata (the UI renders data: URIs inline)."""
    return dg.MetadataValue.md(f"![{alt}](data:{mime};base64,{base64.b64encode(data).decode()})")
