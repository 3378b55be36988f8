"""dagster-aws's S3 resource with the process's shared boto3 client (`storage.s3.shared_client`): its own
`get_client` builds a new session and client on every call, and a sensor tick made three of them."""

from __future__ import annotations

from typing import Any

from dagster_aws.s3 import S3Resource

from vidassets.storage.s3 import shared_client


class SharedS3Resource(S3Resource):
    """`S3Resource` whose client is built once per process and configuration."""

    def get_client(self) -> Any:
        return shared_client(("dagster-aws", self.model_dump_json()), super().get_client)
