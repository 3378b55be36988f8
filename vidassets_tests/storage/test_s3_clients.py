"""One boto3 client per process and configuration: building one costs ~0.2 CPU-s (botocore parses its endpoint and
service JSON), which was most of a sensor tick's CPU; a changed endpoint or credential must still get a new one."""

from dataclasses import replace

from vidassets.storage.s3 import s3_client
from vidassets.storage.s3_options import S3Options


def test_one_client_per_options_and_aws_environment(monkeypatch):
    options = S3Options(endpoint="http://127.0.0.1:9", region="us-east-1")
    first = s3_client(options)
    assert s3_client(S3Options(endpoint="http://127.0.0.1:9", region="us-east-1")) is first
    assert s3_client(replace(options, endpoint="http://127.0.0.1:10")) is not first
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "rotated")  # a credential the SDK reads from the environment
    assert s3_client(options) is not first
