"""One webhook attempt over HTTP, guarded against server-side request forgery (SPEC §15).

A client chooses the URL we POST to, so without a guard the server would call, on their behalf,
whatever it can reach: the cloud metadata service (169.254.169.254), the database, the admin on
localhost. The rule: https to public addresses only, unless ``WEBHOOK_ALLOW_PRIVATE_URLS`` is on.

The host is resolved once; every address it resolves to must be public, and the connection goes to
one of those very addresses. Resolving again to connect would let a DNS server that answers
differently the second time (DNS rebinding) turn a checked name into a private address. TLS still
verifies the certificate against the host name, and the request carries the original ``Host``.
Redirects are never followed: a 3xx is an answer like any other non-2xx.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

USER_AGENT = "WalletManager-Webhooks/1"
EXCERPT_BYTES = 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}
# DNS64 writes IPv4 addresses into this prefix for IPv6-only networks; judge the IPv4 address inside.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


# What a host that does not resolve, or resolves to any non-public address, is told: the same words
# either way, without the name's addresses, so the form is no oracle for the internal network's DNS.
HOST_NOT_ALLOWED = "the URL's host is not allowed (webhooks go only to hosts on public addresses)"


class WebhookURLRefused(Exception):
    """A URL that webhooks may not be sent to; the message says why, for the endpoint's owner."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class DeliveryResult:
    """What one attempt got: an HTTP status, or an ``error`` when no response arrived."""

    status_code: int | None
    duration_ms: int
    response_excerpt: str = ""
    error: str = ""

    @property
    def delivered(self) -> bool:
        """A 2xx answer delivers the event (SPEC §15); anything else is retried."""
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    request_path: str
    # The addresses the host resolved to, all checked, in the resolver's order of preference.
    addresses: tuple[tuple[int, tuple], ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == _DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


def is_public_address(address: IPAddress) -> bool:
    """Whether ``address`` is on the public internet: not this machine, a private or shared
    (CGNAT) network, link-local (cloud metadata), multicast, reserved or unspecified, nor an IPv6
    form of such an IPv4 address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public_address(embedded)
    # is_global alone lets multicast through, hence the explicit list.
    return address.is_global and not (
        address.is_multicast
        or address.is_reserved
        or address.is_loopback
        or address.is_link_local
        or address.is_private
        or address.is_unspecified
    )


def _resolve_checked(url: str, allow_private: bool | None) -> _Target:
    if allow_private is None:
        allow_private = settings.WEBHOOK_ALLOW_PRIVATE_URLS
    if any(character.isspace() or ord(character) < 32 or ord(character) == 127 for character in url):
        raise WebhookURLRefused("the URL contains spaces or control characters")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise WebhookURLRefused("only https URLs are accepted")
    if scheme == "http" and not allow_private:
        raise WebhookURLRefused("only https URLs are accepted, not http")
    if parts.username is not None or parts.password is not None:
        raise WebhookURLRefused("a user name or password in the URL is not accepted")
    host = parts.hostname
    if not host:
        raise WebhookURLRefused("the URL has no host")
    try:
        port = _DEFAULT_PORTS[scheme] if parts.port is None else parts.port
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise WebhookURLRefused("the URL's port is not a number from 1 to 65535")
    try:
        resolved = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise WebhookURLRefused(HOST_NOT_ALLOWED) from None
    addresses = tuple((family, sockaddr) for family, _type, _proto, _name, sockaddr in resolved)
    if not addresses:
        raise WebhookURLRefused(HOST_NOT_ALLOWED)
    if not allow_private:
        for _family, sockaddr in addresses:
            if not is_public_address(ipaddress.ip_address(sockaddr[0])):
                raise WebhookURLRefused(HOST_NOT_ALLOWED)
    request_path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Target(scheme=scheme, host=host, port=port, request_path=request_path, addresses=addresses)


def url_check(url: str, *, allow_private: bool | None = None) -> None:
    """Raise ``WebhookURLRefused`` unless webhooks may be sent to ``url`` now: http(s) without user
    info, a host that resolves, and (unless private URLs are allowed) https with every address
    public. ``allow_private`` defaults to ``settings.WEBHOOK_ALLOW_PRIVATE_URLS``."""
    _resolve_checked(url, allow_private)


class _CheckedAddressConnection(http.client.HTTPConnection):
    """An HTTP(S) connection to addresses resolved and checked beforehand: it never resolves the
    host itself, and wraps the socket in TLS verified against the host name when asked to."""

    def __init__(self, target: _Target, *, deadline: float, tls: ssl.SSLContext | None) -> None:
        super().__init__(target.host, target.port)
        self._target = target
        self._deadline = deadline
        self._tls = tls

    def connect(self) -> None:
        last_error: OSError | None = None
        for family, sockaddr in self._target.addresses:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the attempt's time ran out while connecting")
            sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            try:
                sock.settimeout(remaining)
                sock.connect(sockaddr)
            except OSError as error:
                sock.close()
                last_error = error
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.sock = self._tls.wrap_socket(sock, server_hostname=self.host) if self._tls else sock
            return
        assert last_error is not None  # _resolve_checked never returns a target without addresses
        raise last_error


def _error_text(error: Exception) -> str:
    if isinstance(error, TimeoutError):
        return "timeout"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"TLS certificate refused: {error.verify_message}"
    if isinstance(error, ssl.SSLError):
        return f"TLS error: {error.reason or error}"
    if isinstance(error, http.client.RemoteDisconnected):
        return "connection closed without a response"
    if isinstance(error, ConnectionResetError):
        return "connection reset"
    if isinstance(error, http.client.HTTPException):
        return f"invalid HTTP response: {type(error).__name__}"
    return f"network error: {getattr(error, 'strerror', None) or error}"


def _request_headers(given: dict[str, str], *, host: str) -> dict[str, str]:
    """Ours as defaults, the caller's over them (names compare without case), the checked Host last."""
    names = {name.lower() for name in given}
    defaults = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    return (
        {name: value for name, value in defaults.items() if name.lower() not in names}
        | {name: value for name, value in given.items() if name.lower() != "host"}
        | {"Host": host}
    )


def post(
    url: str,
    *,
    body: bytes,
    headers: dict[str, str],
    timeout: float = 10.0,
    allow_private: bool | None = None,
) -> DeliveryResult:
    """POST ``body`` (JSON) with ``headers`` to ``url`` once and report what came back.

    Never raises for the network or the receiver: a refused URL, a timeout or a broken connection
    come back as ``error``. ``timeout`` bounds the whole attempt, from connecting to reading the first
    ``EXCERPT_BYTES`` of the answer (the rest is not read); the time the system resolver takes counts
    towards it, but the resolver keeps its own time limits.
    """
    started = time.monotonic()

    def result(status_code: int | None = None, excerpt: str = "", error: str = "") -> DeliveryResult:
        duration_ms = round((time.monotonic() - started) * 1000)
        return DeliveryResult(status_code=status_code, duration_ms=duration_ms, response_excerpt=excerpt, error=error)

    try:
        target = _resolve_checked(url, allow_private)
    except WebhookURLRefused as refused:
        return result(error=f"URL refused: {refused.reason}")
    tls = ssl.create_default_context() if target.scheme == "https" else None
    connection = _CheckedAddressConnection(target, deadline=started + timeout, tls=tls)
    # The socket's timeout bounds each read; this bounds the attempt against a receiver that answers
    # a byte at a time. Shutting the socket down wakes the blocked read.
    deadline_passed = threading.Event()

    def end_attempt() -> None:
        deadline_passed.set()
        if connection.sock is not None:
            try:
                connection.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed: the attempt ended on its own

    watchdog = threading.Timer(max(timeout - (time.monotonic() - started), 0), end_attempt)
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.request(
            "POST",
            target.request_path,
            body=body,
            headers=_request_headers(headers, host=target.host_header),
        )
        response = connection.getresponse()
        excerpt = response.read(EXCERPT_BYTES).decode("utf-8", errors="replace")
        return result(response.status, excerpt)
    except (OSError, http.client.HTTPException) as error:
        return result(error="timeout" if deadline_passed.is_set() else _error_text(error))
    finally:
        watchdog.cancel()
        connection.close()
