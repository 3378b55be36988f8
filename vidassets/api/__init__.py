"""The HTTP API for applications: uploads through presigned URLs, status, results, users and webhooks.

Status is read from the Dagster instance and the warehouse; ownership from the S3 key prefix
(`<watch prefix><user>/<upload id>/<safe name>`). The only tables of its own hold API keys (hashes), webhook
registrations and the webhook delivery log.
"""
