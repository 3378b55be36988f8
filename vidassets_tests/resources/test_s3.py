"""The `s3` resource shares the process's boto3 client (dagster-aws builds a new one per call)."""

from vidassets.resources.s3 import SharedS3Resource


def test_the_dagster_resource_shares_its_client_and_follows_the_endpoint_variable(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:11")
    client = SharedS3Resource(region_name="us-east-1").get_client()
    assert SharedS3Resource(region_name="us-east-1").get_client() is client
    assert client.meta.endpoint_url == "http://127.0.0.1:11"
    assert SharedS3Resource(region_name="eu-west-1").get_client() is not client
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:12")
    assert SharedS3Resource(region_name="us-east-1").get_client().meta.endpoint_url == "http://127.0.0.1:12"


def test_a_rotated_credential_in_the_environment_gets_a_new_client(monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "first")
    client = SharedS3Resource(region_name="us-east-1").get_client()
    assert SharedS3Resource(region_name="us-east-1").get_client() is client
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "rotated")
    assert SharedS3Resource(region_name="us-east-1").get_client() is not client
