"""Pure media library (no Dagster): probe, frame sampling, audio extraction, contact sheets.

Everything here takes a local path plus a display `name` (e.g. the S3 key) so errors can say which upload
was bad without leaking scratch paths.
"""
