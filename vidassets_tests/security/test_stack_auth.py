"""Every shipped stack authenticates its servers. Against the real SeaweedFS the tests and `vidassets up` run (the
embedded default): unsigned GET, PUT and LIST are refused, with a key pair generated for the data folder. For
docker/compose.yaml and deploy/k8s (no Docker or cluster here): the files give S3 that same identity mechanism
(`weed mini` with the key pair in its environment), publish none of SeaweedFS's internal ports, put the Dagster
webserver behind a basic-auth proxy that the API also goes through, and reach PostgreSQL only through PgBouncer,
which authenticates with the database's own password (test_pgbouncer.py runs that config for real)."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path
from urllib.parse import urlparse

import httpx
import yaml

from vidassets.devstack.seaweed import CREDENTIALS_FILE, LEGACY_ACCESS_KEY_ID

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker" / "compose.yaml"
SEAWEED_INTERNAL_PORTS = {"9333", "19333", "8080", "18080", "8888", "18888", "23646"}  # master, volume, filer, admin
BUCKET = "sec-stack"


def test_embedded_s3_refuses_unsigned_requests(s3_server):
    client = s3_server.client()
    client.create_bucket(Bucket=BUCKET)
    client.put_object(Bucket=BUCKET, Key="uploads/victim/20260101000000-0a1b2c3d/talk.mp4", Body=b"victim bytes")
    base = f"{s3_server.endpoint_url}/{BUCKET}"
    unsigned = {
        "GET": httpx.get(f"{base}/uploads/victim/20260101000000-0a1b2c3d/talk.mp4"),
        "PUT": httpx.put(f"{base}/uploads/attacker/x.mp4", content=b"attacker bytes"),
        "LIST": httpx.get(base, params={"list-type": "2", "prefix": "uploads/"}),
        "LIST BUCKETS": httpx.get(s3_server.endpoint_url),
        "DELETE": httpx.delete(f"{base}/uploads/victim/20260101000000-0a1b2c3d/talk.mp4"),
    }
    for what, response in unsigned.items():
        assert response.status_code == 403, (what, response.status_code, response.text[:300])
        assert b"victim bytes" not in response.content
    keys = [item["Key"] for item in client.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == ["uploads/victim/20260101000000-0a1b2c3d/talk.mp4"], "nothing was written or deleted"
    wrong = httpx.get(f"{base}/uploads/victim/20260101000000-0a1b2c3d/talk.mp4",
                      headers={"Authorization": "AWS4-HMAC-SHA256 Credential=nobody/20260101/us-east-1/s3/aws4_request,"
                               " SignedHeaders=host, Signature=" + "0" * 64})
    assert wrong.status_code in (400, 403) and b"victim bytes" not in wrong.content


def test_embedded_credentials_are_generated_for_the_data_folder(s3_server):
    saved = s3_server.data_dir / CREDENTIALS_FILE
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    pair = json.loads(saved.read_text())
    env = s3_server.env()
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == (pair["access_key_id"],
                                                                      pair["secret_access_key"])
    assert pair["access_key_id"] != LEGACY_ACCESS_KEY_ID and len(pair["secret_access_key"]) >= 32


def _networks(service: dict) -> set[str]:
    """The compose networks a service joins (none listed: the project's default network)."""
    networks = service.get("networks", ["default"])
    return set(networks) if isinstance(networks, list) else set(networks.keys())


def test_compose_seaweedfs_internals_are_reachable_only_by_the_s3_relay():
    """The filer, master and volume servers take unauthenticated requests (the filer move and bucket wipe of
    test_webhook_seaweedfs.py): SeaweedFS is alone on an internal network with the S3 relay, which forwards the
    S3 port only; the API, the workers (which send webhooks), the runs and the rest share no network with it."""
    compose = yaml.safe_load(COMPOSE.read_text())
    services, networks = compose["services"], compose["networks"]
    weed = services["seaweedfs"]
    [storage] = _networks(weed)
    assert storage != "default" and networks[storage]["internal"] is True, "no route out of the storage network"
    assert not {"ports", "expose", "network_mode"} & set(weed), "nothing published or shared from SeaweedFS"
    assert {name for name, service in services.items() if storage in _networks(service)} == {"seaweedfs", "s3"}
    relay = services["s3"]
    assert _networks(relay) == {"default", storage}
    assert relay["command"][-2:] == ["TCP-LISTEN:8333,fork,reuseaddr", "TCP:seaweedfs:8333"], "the S3 port only"
    assert all("network_mode" not in service for service in services.values()), "no namespace shared with weed"
    for name, service in services.items():  # everything else reaches S3 as s3:8333, through the relay
        endpoint = (service.get("environment") or {}).get("AWS_ENDPOINT_URL")
        if endpoint:
            assert urlparse(endpoint).hostname == "s3" and urlparse(endpoint).port == 8333, name


def _published(service: dict) -> list[str]:
    return [str(port) for port in service.get("ports", [])]


def test_compose_servers_authenticate_and_internal_ports_stay_private():
    text = COMPOSE.read_text()
    services = yaml.safe_load(text)["services"]
    s3 = services["s3"]
    weed = services["seaweedfs"]
    assert weed["command"][:2] == ["weed", "mini"]  # the identity-from-environment mechanism tested above
    required = {"AWS_ACCESS_KEY_ID": "${VIDASSETS_S3_ACCESS_KEY:?",
                "AWS_SECRET_ACCESS_KEY": "${VIDASSETS_S3_SECRET_KEY:?"}
    for name in ("seaweedfs", "code-location", "api"):
        env = services[name]["environment"]
        for variable, source in required.items():
            assert env[variable].startswith(source), (name, variable, "one required identity, no default")
    for name, service in services.items():
        for port in _published(service):
            assert port.startswith("127.0.0.1:"), (name, port, "published on loopback only")
            assert port.rsplit(":", 1)[-1] not in SEAWEED_INTERNAL_PORTS, (name, port)
    assert _published(s3) == ["127.0.0.1:8333:8333"], "only the S3 gateway"
    assert "ports" not in services["webserver"], "the webserver is reached only through the proxy"
    proxy = services["dagster-proxy"]
    assert _published(proxy) == ["127.0.0.1:3000:3000"]
    [mount] = proxy["volumes"]
    caddyfile = (COMPOSE.parent / mount.split(":")[0]).read_text()
    assert re.search(r"basic_auth\s*\{\s*\{\$DAGSTER_UI_USER\} \{\$DAGSTER_UI_PASSWORD_HASH\}", caddyfile)
    assert "reverse_proxy webserver:3000" in caddyfile
    assert proxy["environment"]["DAGSTER_UI_PASSWORD"].startswith("${DAGSTER_UI_PASSWORD:?")
    dagster_url = urlparse(services["api"]["environment"]["VIDASSETS_DAGSTER_URL"])
    assert dagster_url.hostname == "dagster-proxy" and dagster_url.username and dagster_url.password
    example = (COMPOSE.parent / "env.example").read_text()
    for variable in ("VIDASSETS_S3_ACCESS_KEY", "VIDASSETS_S3_SECRET_KEY", "DAGSTER_UI_USER", "DAGSTER_UI_PASSWORD",
                     "VIDASSETS_PG_PASSWORD"):
        assert f"\n{variable}=" in example


def test_k8s_webserver_only_behind_its_auth_proxy():
    docs = {doc["kind"]: doc for doc in yaml.safe_load_all((REPO / "deploy/k8s/webserver.yaml").read_text())}
    containers = {c["name"]: c for c in docs["Deployment"]["spec"]["template"]["spec"]["containers"]}
    args = containers["webserver"]["args"]
    assert args[args.index("-h") + 1] == "127.0.0.1", "unreachable from outside the pod"
    port = args[args.index("-p") + 1]
    proxy_ports = {p["name"]: p["containerPort"] for p in containers["auth-proxy"]["ports"]}
    [service_port] = docs["Service"]["spec"]["ports"]
    assert proxy_ports[service_port["targetPort"]] != int(port), "the Service points at the proxy"
    caddyfile = docs["ConfigMap"]["data"]["Caddyfile"]
    assert "basic_auth" in caddyfile and f"reverse_proxy 127.0.0.1:{port}" in caddyfile


def test_docs_never_bind_the_webserver_to_every_interface_without_the_proxy():
    readme = (REPO / "README.md").read_text()
    assert "dagster-webserver -h 0.0.0.0" not in readme
    dockerfile = (REPO / "docker" / "Dockerfile.dagster").read_text()
    assert "authenticating" in dockerfile and "proxy" in dockerfile


def test_vidassets_up_writes_the_generated_pair_to_a_private_env_file(s3_server, tmp_path):
    from vidassets.devstack.run import _write_env_file

    path = tmp_path / "env"
    path.write_text("old")
    path.chmod(0o644)
    _write_env_file(path, s3_server, "redis://127.0.0.1:6379/0")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert f"export AWS_ACCESS_KEY_ID={s3_server.env()['AWS_ACCESS_KEY_ID']}\n" in path.read_text()


PG_PASSWORD = "${VIDASSETS_PG_PASSWORD:?"
PGBOUNCER_INI = REPO / "docker" / "pgbouncer" / "pgbouncer.ini"


def _ini(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines()
             if "=" in line and not line.lstrip().startswith(";"))
    return {key.strip(): value.strip() for key, value in pairs}


def test_pgbouncer_authenticates_and_pools_by_session():
    settings = _ini(PGBOUNCER_INI)
    assert settings["auth_type"] == "scram-sha-256", "no trust, any, plain or md5"
    assert settings["auth_file"] == "userlist.txt" and "auth_query" not in settings
    assert settings["pool_mode"] == "session", "the webserver's session SET and LISTEN need session pooling"
    assert settings["server_reset_query"] == "DISCARD ALL"
    assert "admin_users" not in settings and "stats_users" not in settings, "no console users"
    assert settings["log_connections"] == "0"


def test_compose_reaches_postgres_only_through_pgbouncer():
    compose = yaml.safe_load(COMPOSE.read_text())
    services, networks = compose["services"], compose["networks"]
    postgres, pooler = services["postgres"], services["pgbouncer"]
    [database] = _networks(postgres)
    assert database != "default" and networks[database]["internal"] is True
    assert {name for name, service in services.items() if database in _networks(service)} == {"postgres", "pgbouncer"}
    assert not {"ports", "expose"} & set(postgres) and "ports" not in pooler
    assert postgres["environment"]["POSTGRES_PASSWORD"].startswith(PG_PASSWORD), "no default password"
    assert pooler["environment"]["DAGSTER_PG_PASSWORD"].startswith(PG_PASSWORD), "the same secret as PostgreSQL"
    assert pooler["environment"]["PGBOUNCER_UPSTREAM_HOST"] == "postgres"
    assert pooler["build"]["dockerfile"] == "docker/Dockerfile.pgbouncer"
    for name, service in services.items():
        env = service.get("environment") or {}
        if "DAGSTER_PG_HOST" in env:  # docker/dagster.yaml reads these: the instance points at the pooler
            assert (env["DAGSTER_PG_HOST"], env["DAGSTER_PG_PORT"]) == ("pgbouncer", "6432"), name
            assert env["DAGSTER_PG_PASSWORD"].startswith(PG_PASSWORD), name
        if "VIDASSETS_API_DB_URL" in env:
            url = urlparse(env["VIDASSETS_API_DB_URL"])
            assert (url.hostname, url.port, url.password) == ("pgbouncer", 6432, "${VIDASSETS_PG_PASSWORD}"), name
    assert "dagster:dagster@" not in COMPOSE.read_text()
    instance = (COMPOSE.parent / "dagster.yaml").read_text()
    assert "hostname: {env: DAGSTER_PG_HOST}" in instance and "port: {env: DAGSTER_PG_PORT}" in instance


def test_images_are_pinned_by_version():
    compose = yaml.safe_load(COMPOSE.read_text())["services"]
    manifests = [doc for path in sorted((REPO / "deploy" / "k8s").glob("*.yaml"))
                 for doc in yaml.safe_load_all(path.read_text()) if doc]
    k8s = [c["image"] for doc in manifests if doc["kind"] == "Deployment"
           for c in doc["spec"]["template"]["spec"]["containers"]]
    ours = {"vidassets-worker", "vidassets-dagster"}  # built from this repository, tagged per release
    for image in [service["image"] for service in compose.values()] + k8s:
        name, _, tag = image.partition(":")
        if name in ours:
            continue
        assert tag and tag != "latest", f"{image}: pin a version"
    assert compose["pgbouncer"]["image"] == "vidassets-pgbouncer:1.18.0"
    dockerfile = (REPO / "docker" / "Dockerfile.pgbouncer").read_text()
    assert "pgbouncer=1.18.0-" in dockerfile and re.search(r"^FROM debian:\d+\.\d+-slim$", dockerfile, re.M)


def test_k8s_pgbouncer_uses_the_database_secret():
    docs = {doc["kind"]: doc for doc in yaml.safe_load_all((REPO / "deploy/k8s/pgbouncer.yaml").read_text())}
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["image"] == "vidassets-pgbouncer:1.18.0"
    env = {e["name"]: e for e in container["env"]}
    assert env["DAGSTER_PG_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == "postgresql-password"
    assert "value" not in env["DAGSTER_PG_PASSWORD"]
    assert pod["securityContext"]["runAsNonRoot"] is True and container["securityContext"]["readOnlyRootFilesystem"]
    [port] = container["ports"]
    [service_port] = docs["Service"]["spec"]["ports"]
    assert service_port["targetPort"] == port["name"] and service_port["port"] == port["containerPort"] == 6432
    instance = (REPO / "deploy" / "dagster-k8s.yaml").read_text()
    assert "vidassets-pgbouncer" in instance and "hostname: {env: DAGSTER_PG_HOST}" in instance
