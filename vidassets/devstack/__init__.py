"""Local development stack: an embedded S3 server (SeaweedFS) plus the Dagster webserver and daemon.

Lets `make run` and the tests work on one machine with no cloud account, no Docker and no network.
"""
