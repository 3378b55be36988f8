"""dagster-aws's S3 resource with one boto3 client per process: its own `get_client` builds a new session and
client on every call, and building one parses botocore's endpoint and service JSON (~0.2 CPU-s); a sensor tick
asked for three, most of its CPU."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from dagster_aws.s3 import S3Resource

SHARED_CLIENTS = 16  # configurations kept (tests start many servers; a deployment has one)
_clients: OrderedDict[Hashable, Any] = OrderedDict()
_clients_lock = threading.Lock()


class SharedS3Resource(S3Resource):
    """`S3Resource` whose client is built once per process, configuration and `AWS_*` environment (the SDK reads
    endpoint and credentials there, so a changed one gets a new client). boto3 clients are thread-safe; the
    process id is in the key, so a forked child (a prefork worker) never shares its parent's connections."""

    def get_client(self) -> Any:
        key = (os.getpid(), self.model_dump_json(),
               tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_"))))
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = super().get_client()
                while len(_clients) > SHARED_CLIENTS:
                    _clients.popitem(last=False)
            _clients.move_to_end(key)
            return client
