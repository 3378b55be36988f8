"""Requests the platform sends to tenant-chosen URLs (webhooks) go only to public addresses, or to what the operator
allowed, and end by a deadline. Dagster-free: webhook registration and delivery both use it.

One check, used at registration and again at every send (`check_destination`):
- the URL parses (httpx's parser, the same one the host is taken from), is http(s), has no userinfo, a port in
  1..65535 and a host that is an IP literal or an LDH DNS name: no percent-encoding, no zone id, no numeric
  shorthand such as `0177.0.0.1`, `2130706433`, `0x7f.1` or `127.1` (resolvers read those as IPv4);
- the host is resolved and EVERY address must be public: not loopback, private, link-local, CGNAT, multicast,
  reserved, unspecified, documentation or benchmarking ranges; IPv4-mapped (`::ffff:a.b.c.d`), NAT64
  (`64:ff9b::/96`) and 6to4 (`2002::/16`) addresses are judged by the IPv4 address they carry, Teredo and local-use
  NAT64 are refused. The operator's allow-list (`AllowList`, `VIDASSETS_WEBHOOK_ALLOW_PRIVATE`) exempts named
  ranges or host names, optionally on one port only.

`post` then connects to an address that was checked (never resolving the name again: no DNS rebinding), sends the
name as Host and TLS SNI (the certificate is verified for the name), follows no redirect, ignores proxy variables,
reads only the status line and headers, and holds to one overall deadline for resolution, connect, TLS, request and
response: every socket wait is cut to the time left and a watchdog shuts the socket at the deadline, so a receiver
that drips a byte at a time cannot hold the sender longer.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_CHARS = 2048
_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)")

# Checked by name (the first match names the reason) before `is_global`, which misses some of them.
_NOT_PUBLIC: tuple[tuple[IPNetwork, str], ...] = tuple((ipaddress.ip_network(net), why) for net, why in (
    ("0.0.0.0/8", "unspecified (this network)"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "shared (CGNAT)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "6to4 relay anycast"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("::/96", "IPv4-compatible (deprecated)"),
    ("64:ff9b:1::/48", "local-use NAT64"),
    ("100::/64", "discard-only"),
    ("2001::/32", "Teredo"),
    ("2001::/23", "IETF protocol assignments"),
    ("2001:db8::/32", "documentation"),
    ("fc00::/7", "unique local (private)"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local"),
    ("ff00::/8", "multicast"),
))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NEVER = ("unspecified", "multicast")  # no receiver lives there, whatever the allow-list says


class Refused(ValueError):
    """The URL may not be sent to (a permanent answer: malformed, not http(s), or not a public destination)."""


class SendFailed(OSError):
    """The send did not complete (DNS, connect, TLS, protocol, deadline): worth retrying later."""


# ------------------------------------------------------------------------------------------ allow-list

@dataclass(frozen=True)
class AllowEntry:
    """A network or a host name (`*.suffix` matches names under it) the operator allows, on one port or any."""

    network: IPNetwork | None = None
    host: str | None = None
    port: int | None = None

    def matches_host(self, host: str, port: int) -> bool:
        if self.host is None or self.port not in (None, port):
            return False
        if self.host.startswith("*."):
            return host.endswith(self.host[1:])
        return host == self.host

    def matches_address(self, address: IPAddress, port: int) -> bool:
        return (self.network is not None and self.port in (None, port)
                and address.version == self.network.version and address in self.network)


@dataclass(frozen=True)
class AllowList:
    """Non-public destinations the operator allows for in-house receivers; empty: public addresses only."""

    entries: tuple[AllowEntry, ...] = ()

    def allows_host(self, host: str, port: int) -> bool:
        return any(entry.matches_host(host, port) for entry in self.entries)

    def allows_address(self, address: IPAddress, port: int) -> bool:
        return any(entry.matches_address(form, port) for entry in self.entries for form in _forms(address))


def parse_allow_list(raw: str, name: str = "VIDASSETS_WEBHOOK_ALLOW_PRIVATE") -> AllowList:
    """`127.0.0.0/8,::1,10.1.2.3:8443,[fd00::/8]:443,hooks.internal,*.svc.cluster.local:8080` -> an `AllowList`.

    Each entry is a network (an address is a /32 or /128) or a host name, with `:port` to allow that port only;
    an IPv6 entry with a port is bracketed. A malformed entry is an error naming the setting."""
    entries = []
    for entry in (part.strip() for part in raw.split(",")):
        if not entry:
            continue
        try:
            entries.append(_parse_entry(entry.lower()))
        except ValueError as err:
            raise ValueError(f"{name}: {entry!r} is not a network, address or host name "
                             f"with an optional :port ({err})") from None
    return AllowList(tuple(entries))


def _parse_entry(entry: str) -> AllowEntry:
    port: int | None = None
    if entry.startswith("["):
        inside, bracket, rest = entry[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError("unbalanced brackets")
        if rest:
            port = _port(rest[1:])
        return AllowEntry(network=ipaddress.ip_network(inside, strict=False), port=port)
    if entry.count(":") == 1:
        entry, raw_port = entry.split(":")
        port = _port(raw_port)
    try:
        return AllowEntry(network=ipaddress.ip_network(entry, strict=False), port=port)
    except ValueError:
        pass
    name = entry.removeprefix("*.")
    if not _is_dns_name(name):
        raise ValueError("not a host name")
    return AllowEntry(host=entry.rstrip("."), port=port)


def _port(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise ValueError(f"port {raw!r}")
    return int(raw)


# ------------------------------------------------------------------------------------------ the check

@dataclass(frozen=True)
class Destination:
    """A checked URL: where to connect (`addresses`, every one allowed) and what to send as Host/SNI (`host`)."""

    url: httpx.URL
    scheme: str
    host: str  # ASCII (IDNA) host name or IP literal, lowercased
    port: int
    addresses: tuple[str, ...]


def parse_url(url: str) -> tuple[httpx.URL, str, int]:
    """The URL, its ASCII host and port, or `Refused` naming what is wrong with it (resolves nothing)."""
    if len(url) > MAX_URL_CHARS:
        raise Refused(f"url is longer than {MAX_URL_CHARS} characters")
    try:
        parsed = httpx.URL(url)
        host = parsed.raw_host.decode("ascii").lower()
        port = parsed.port
        parsed.host  # noqa: B018 - decodes IDNA A-labels: `xn--zz` is refused here, not sent to DNS
    except (httpx.InvalidURL, ValueError) as err:  # IDNA errors are UnicodeErrors, i.e. ValueErrors
        raise Refused(f"url {url!r} is not a valid URL: {err}") from None
    if parsed.scheme not in ("http", "https"):
        raise Refused(f"url {url!r}: must be an absolute http(s) URL")
    if parsed.userinfo:
        raise Refused(f"url {url!r}: a user name or password in the URL is not allowed")
    if not host:
        raise Refused(f"url {url!r}: must be an absolute http(s) URL with a host")
    if "%" in host:
        raise Refused(f"url {url!r}: host {host!r} has percent-encoding or an IPv6 zone id")
    if port is not None and not 1 <= port <= 65535:
        raise Refused(f"url {url!r}: port {port} is out of range")
    if _literal(host) is None and not _is_dns_name(host):
        if _looks_numeric(host):
            raise Refused(f"url {url!r}: host {host!r} is a numeric shorthand; write an IPv4 address as a.b.c.d")
        raise Refused(f"url {url!r}: host {host!r} is not a valid host name or IP address")
    return parsed, host, port or (443 if parsed.scheme == "https" else 80)


def check_destination(url: str, allow: AllowList, timeout_s: float) -> Destination:
    """The URL checked and resolved; `Refused` when it may not be sent to, `SendFailed` when the name does not
    resolve (within `timeout_s`)."""
    parsed, host, port = parse_url(url)
    literal = _literal(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        addresses = _resolve(host, port, timeout_s)
    host_allowed = literal is None and allow.allows_host(host, port)
    for address in addresses:
        why = _why_not_public(address)
        if why is None:
            continue
        if not any(word in why for word in _NEVER) and (host_allowed or allow.allows_address(address, port)):
            continue
        if literal is not None:
            raise Refused(f"url {url!r}: {address} is {why}, not a public address")
        # Neither the address nor the category: a tenant learns nothing about the platform's own network.
        raise Refused(f"url {url!r}: host {host!r} does not resolve to public addresses only")
    return Destination(parsed, parsed.scheme, host, port, tuple(str(a) for a in addresses))


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _is_dns_name(host: str) -> bool:
    name = host.removesuffix(".")
    labels = name.split(".")
    return (0 < len(name) <= 253 and all(_LABEL.fullmatch(label) for label in labels)
            and not _looks_numeric(name))


def _looks_numeric(host: str) -> bool:
    """A host whose last label is a number is read as an IPv4 address by resolvers and browsers (WHATWG)."""
    last = host.removesuffix(".").rsplit(".", 1)[-1]
    return bool(_NUMERIC_LABEL.fullmatch(last))


def _resolve(host: str, port: int, timeout_s: float) -> list[IPAddress]:
    """getaddrinfo has no timeout: it runs in a thread of its own (fork-safe, unlike a pool) that is given up on."""
    answer: dict[str, Any] = {}

    def lookup() -> None:
        try:
            answer["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError) as err:
            answer["error"] = err

    thread = threading.Thread(target=lookup, name="outbound-dns", daemon=True)
    thread.start()
    thread.join(max(timeout_s, 0.001))
    if thread.is_alive():
        raise SendFailed(f"host {host!r} did not resolve within {timeout_s:g} s")
    if "error" in answer:
        raise SendFailed(f"host {host!r} does not resolve: {answer['error']}")
    found: list[IPAddress] = []
    for info in answer["infos"]:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    if not found:
        raise SendFailed(f"host {host!r} does not resolve")
    return found


def _forms(address: IPAddress) -> tuple[IPAddress, ...]:
    """The address and the IPv4 address it carries (IPv4-mapped, NAT64, 6to4), if any."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return (address, address.ipv4_mapped)
        if address in _NAT64:
            return (address, ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address.sixtofour is not None:
            return (address, address.sixtofour)
    return (address,)


def _why_not_public(address: IPAddress) -> str | None:
    """None for a public address, else what it is (`loopback`, `private`, ...)."""
    forms = _forms(address)
    if len(forms) == 2:
        carried = _why_not_public(forms[1])
        if carried is not None:
            return f"{carried} (it carries {forms[1]})"
        if address.ipv4_mapped is not None or address in _NAT64:
            return None  # judged by the IPv4 address it reaches
    for network, why in _NOT_PUBLIC:
        if address.version == network.version and address in network:
            return why
    if not address.is_global or address.is_multicast or address.is_reserved:
        return "not globally routable"
    return None


# ------------------------------------------------------------------------------------------ the send

def post(url: str, body: bytes, headers: dict[str, str], allow: AllowList, deadline_s: float,
         ssl_context: ssl.SSLContext | None = None) -> int:
    """POST `body` to `url` (checked now, connected to a checked address) and return the status code.
    `Refused`: may not be sent there; `SendFailed`: no answer by the deadline or the connection failed.
    `ssl_context` defaults to httpx's (certifi CAs, hostname checked)."""
    deadline = time.monotonic() + deadline_s
    destination = check_destination(url, allow, deadline_s)
    backend = _PinnedBackend(destination, deadline)
    request_headers = [("Host", destination.url.netloc.decode("ascii")), ("Content-Length", str(len(body))),
                       *headers.items()]
    target = httpcore.URL(scheme=destination.scheme.encode(), host=destination.host.encode(),
                          port=destination.port, target=destination.url.raw_path)
    timeout = {name: max(deadline - time.monotonic(), 0.001) for name in ("connect", "read", "write", "pool")}
    try:
        with httpcore.ConnectionPool(ssl_context=ssl_context or _ssl_context(), network_backend=backend,
                                     max_connections=1, retries=0) as pool, \
                pool.stream("POST", target, headers=request_headers, content=body,
                            extensions={"timeout": timeout}) as response:
            return response.status  # the body is never read
    except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol,
            ssl.SSLError, OSError) as err:
        if time.monotonic() >= deadline:
            raise SendFailed(f"no answer within the {deadline_s:g} s deadline") from None
        raise SendFailed(f"{type(err).__name__}: {err}") from None
    finally:
        backend.close()


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()  # the CA bundle httpx verifies with


def _time_left(deadline: float, timeout: float | None, error: type[Exception]) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("delivery deadline passed")
    return left if timeout is None else min(timeout, left)


class _PinnedBackend(httpcore.NetworkBackend):
    """Connects only to the checked addresses of the checked host and port, and arms the deadline watchdog."""

    def __init__(self, destination: Destination, deadline: float) -> None:
        self._destination = destination
        self._deadline = deadline
        self._inner = httpcore.SyncBackend()
        self._watchdogs: list[threading.Timer] = []

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        if host != self._destination.host or port != self._destination.port:
            raise httpcore.ConnectError(f"{host}:{port} was not checked")
        error: Exception = httpcore.ConnectError("no address")
        for address in self._destination.addresses:
            try:
                stream = self._inner.connect_tcp(address, port, _time_left(self._deadline, timeout,
                                                                           httpcore.ConnectTimeout),
                                                 socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as err:
                error = err
                continue
            sock: socket.socket = stream.get_extra_info("socket")
            watchdog = threading.Timer(max(self._deadline - time.monotonic(), 0), _shut, (sock,))
            watchdog.daemon = True
            watchdog.start()
            self._watchdogs.append(watchdog)
            return _DeadlineStream(stream, self._deadline)
        raise error

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore.NetworkStream:
        raise httpcore.UnsupportedProtocol("no unix sockets")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def close(self) -> None:
        for watchdog in self._watchdogs:
            watchdog.cancel()


def _shut(sock: socket.socket) -> None:
    """Unblock whatever waits on the socket (a TLS handshake, a read) once the deadline has passed."""
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


class _DeadlineStream(httpcore.NetworkStream):
    """Every read, write and TLS handshake waits at most until the deadline."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: float) -> None:
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _time_left(self._deadline, timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _time_left(self._deadline, timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        tls = self._inner.start_tls(ssl_context, server_hostname,
                                    _time_left(self._deadline, timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(tls, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)
