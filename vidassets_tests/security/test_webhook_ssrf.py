"""Webhook SSRF (issue 17): a tenant's webhook URL never reaches the platform's inside. Every URL from the issue,
and the usual encodings of the same places, is a 422 naming the problem (never a 500, nothing stored); a name that
resolves to loopback is refused; a URL that passed registration is checked again at send; a name is resolved once
and the connection goes to the address that was checked (DNS rebinding)."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from vidassets.api import outbound, webhooks
from vidassets.procs import LOOPBACK
from vidassets_tests.security import webhook_stack
from vidassets_tests.security.webhook_stack import Listener

hook_stack = webhook_stack.hook_stack  # the module's fixture

REFUSED = [  # (url, words of the reason)
    # The list.
    ("http://169.254.169.254/latest/meta-data/iam/security-credentials/", "link-local"),
    ("http://[::1]:3000/graphql", "loopback"),
    ("http://0177.0.0.1/", "not a valid URL"),
    ("http://2130706433/", "numeric shorthand"),
    ("http://redis:6379/", "does not resolve to public addresses only"),
    ("http://metadata.google.internal/computeMetadata/v1/", "does not resolve to public addresses only"),
    ("https://user:pass@127.0.0.1:9/", "user name or password"),
    ("http://a\x00b/", "not a valid URL"),
    ("http://xn--zz/", "not a valid URL"),
    ("http://[::1", "not a valid URL"),
    ("http://a\u2100b.com/", "not a valid URL"),
    # Other spellings of loopback, private and metadata addresses.
    ("http://0x7f.1/", "numeric shorthand"),
    ("http://127.1/", "numeric shorthand"),
    ("http://0x7f000001/", "numeric shorthand"),
    ("http://127.0.0.1./", "numeric shorthand"),
    ("http://%31%32%37.0.0.1/", "percent-encoding"),
    ("http://[::ffff:127.0.0.1]:8888/", "loopback (it carries 127.0.0.1)"),
    ("http://[::ffff:a9fe:a9fe]/", "link-local (it carries 169.254.169.254)"),
    ("http://[64:ff9b::a9fe:a9fe]/", "link-local (it carries 169.254.169.254)"),
    ("http://[2002:a00:1::]/", "private (it carries 10.0.0.1)"),
    ("http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "Teredo"),
    ("http://[::127.0.0.1]/", "IPv4-compatible"),
    ("http://[fe80::1%25lo]/", "zone id"),
    ("http://[fd00::1]/", "unique local"),
    ("http://100.64.0.1/", "CGNAT"),
    ("http://10.0.0.1/", "private"),
    ("http://172.16.0.1/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://224.0.0.1/", "multicast"),
    ("http://0.0.0.0:8888/", "unspecified"),
    ("http://[::]:8888/", "unspecified"),
    ("http://240.0.0.1/", "reserved"),
    ("http://localhost:3000/", "does not resolve to public addresses only"),  # /etc/hosts: loopback
    ("http://example.org:0/", "out of range"),
    ("ftp://example.org/", "http(s)"),
    ("file:///etc/passwd", "http(s)"),
    ("http:///nohost", "http(s)"),
]


@pytest.mark.parametrize(("url", "reason"), REFUSED, ids=[repr(url) for url, _ in REFUSED])
def test_refused_at_registration(hook_stack, url, reason):
    headers = hook_stack.auth("mallory")
    response = hook_stack.register(hook_stack.strict_api, headers, url)
    assert response.status_code == 422, response.text
    assert reason in response.json()["detail"]
    assert hook_stack.hooks_of(headers) == []


def test_a_refusal_never_tells_what_a_name_resolves_to(hook_stack):
    """Same words for a name that does not exist and one that resolves to loopback: no probing of internal DNS."""
    headers = hook_stack.auth("mallory")
    for url in ("http://localhost:3000/", "http://no-such-host.invalid/"):
        detail = hook_stack.register(hook_stack.strict_api, headers, url).json()["detail"]
        assert detail.endswith("does not resolve to public addresses only") and "127.0.0.1" not in detail


def test_public_destinations_are_accepted(hook_stack):
    headers = hook_stack.auth("pat")
    urls = ["http://93.184.215.14/hooks", "https://[2606:4700:4700::1111]/hooks", "http://[::ffff:8.8.8.8]/x",
            "http://[64:ff9b::808:808]/nat64"]
    for url in urls:
        response = hook_stack.register(hook_stack.strict_api, headers, url)
        assert response.status_code == 201, response.text
    assert sorted(hook["url"] for hook in hook_stack.hooks_of(headers)) == sorted(urls)


def test_allow_list_names_a_port_and_nothing_else_on_that_host(hook_stack, s3_server):
    """Loopback allowed for the in-house receiver's port: the receiver registers; SeaweedFS's S3, filer and master
    on the same address do not."""
    headers = hook_stack.auth("ines")
    assert hook_stack.register(hook_stack.pinned_api, headers, hook_stack.receiver.url).status_code == 201
    for port in (s3_server.s3_port, s3_server.ports["filer.port"], s3_server.ports["master.port"]):
        response = hook_stack.register(hook_stack.pinned_api, headers, f"http://{LOOPBACK}:{port}/")
        assert response.status_code == 422 and "loopback" in response.json()["detail"]
    assert hook_stack.register(hook_stack.strict_api, headers, hook_stack.receiver.url).status_code == 422


def test_checked_again_at_send(hook_stack):
    """A URL accepted under an allow-list that no longer holds is refused when sent: failed with the reason at
    once (not retried), the receiver never hears of it. Back under the allow-list the next event is delivered."""
    headers = hook_stack.auth("rita")
    hook = hook_stack.register(hook_stack.pinned_api, headers, hook_stack.receiver.url).json()
    before = len(hook_stack.receiver.received)
    hook_stack.event("rita")
    report = webhooks.deliver_due(hook_stack.engine, hook_stack.strict)
    assert (report.failed, report.delivered, report.retrying) == (1, 0, 0)
    entry = hook_stack.deliveries("rita")[hook["id"]]
    assert entry["status"] == "failed" and entry["attempts"] == 1
    assert entry["last_error"].startswith("not sent:") and "loopback" in entry["last_error"]
    assert len(hook_stack.receiver.received) == before

    hook_stack.event("rita")
    assert webhooks.deliver_due(hook_stack.engine, hook_stack.pinned).delivered == 1
    assert len(hook_stack.receiver.received) == before + 1


def test_rebinding_name_is_resolved_once_and_the_checked_address_connected(monkeypatch):
    """A name that answers an allowed address to the check and another one to the connect (DNS rebinding): the
    send goes to the checked address, with the name as Host. The control shows the flip would reach the victim
    with a check followed by an ordinary client."""
    real_getaddrinfo = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host, port, *args, **kwargs):
        if host != "rebind.test":
            return real_getaddrinfo(host, port, *args, **kwargs)
        lookups.append(host)
        address = "127.0.0.1" if len(lookups) == 1 else "127.0.0.2"
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]

    with Listener("127.0.0.1") as allowed, Listener("127.0.0.2", allowed.port) as victim:
        allow = outbound.parse_allow_list(f"127.0.0.1:{allowed.port}")
        url = f"http://rebind.test:{allowed.port}/hook"
        monkeypatch.setattr(socket, "getaddrinfo", rebinding)
        assert outbound.post(url, b"{}", {}, allow, 3) == 200
        assert lookups == ["rebind.test"] and len(allowed.received) == 1 and victim.received == []
        assert allowed.received[0].headers["Host"] == f"rebind.test:{allowed.port}"

        lookups.clear()
        outbound.check_destination(url, allow, 3)  # control: check, then connect by name
        httpx.post(url, content=b"{}", trust_env=False)
        assert len(victim.received) == 1, "the flip reaches the victim when the name is resolved twice"


def test_redirects_are_not_followed():
    with Listener() as target, Listener(status=302) as redirector:
        redirector.location = target.url
        allow = outbound.parse_allow_list(f"{LOOPBACK}")
        assert outbound.post(redirector.url, b"{}", {}, allow, 3) == 302
        assert len(redirector.received) == 1 and target.received == []


def _certificate(tmp_path: Path, name: str) -> tuple[Path, Path, Path]:
    """A test CA and a server certificate for `name` signed by it: (ca.pem, cert.pem, key.pem)."""
    now = datetime.now(UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vidassets test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
          .not_valid_after(now + timedelta(hours=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = (tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


def test_tls_goes_to_the_checked_address_with_the_name_as_sni_and_certificate(tmp_path, monkeypatch):
    """https to a name: the connection is pinned to the checked address, yet SNI and the certificate check use the
    name; a certificate for another name is refused."""
    ca, cert, key = _certificate(tmp_path, "hooks.test")
    real_getaddrinfo = socket.getaddrinfo

    def hooks_test_is_loopback(host, port, *args, **kwargs):
        return real_getaddrinfo(LOOPBACK if host in ("hooks.test", "other.test") else host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", hooks_test_is_loopback)
    server_names: list[str | None] = []
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    server_context.sni_callback = lambda _sock, name, _ctx: server_names.append(name)
    client_context = ssl.create_default_context(cafile=str(ca))
    with Listener() as listener:
        listener.server.socket = server_context.wrap_socket(listener.server.socket, server_side=True)
        allow = outbound.parse_allow_list(f"{LOOPBACK}:{listener.port}")
        url = f"https://hooks.test:{listener.port}/hooks"
        assert outbound.post(url, b"{}", {}, allow, 5, ssl_context=client_context) == 200
        assert server_names == ["hooks.test"]
        assert listener.received[0].headers["Host"] == f"hooks.test:{listener.port}"
        with pytest.raises(outbound.SendFailed, match="certificate"):
            outbound.post(f"https://other.test:{listener.port}/hooks", b"{}", {}, allow, 5,
                          ssl_context=client_context)
        with pytest.raises(outbound.SendFailed, match="certificate"):  # the shipped CAs do not know the test CA
            outbound.post(url, b"{}", {}, allow, 5)
        assert len(listener.received) == 1


def test_a_bad_allow_list_stops_the_api_naming_the_setting(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "VIDASSETS_WEBHOOK_ALLOW_PRIVATE": "10.0.0.0/8,not a host"}
    done = subprocess.run([sys.executable, "-m", "vidassets.cli", "api", "--port", "1"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "VIDASSETS_WEBHOOK_ALLOW_PRIVATE: 'not a host'" in done.stderr
