"""The client's IP address (SPEC §13), the one every throttle, lockout and audit event uses.

``REMOTE_ADDR`` is the peer of the TCP connection: the client itself, or the last proxy in front of
us. ``X-Forwarded-For`` is whatever the client sent plus one address appended by each proxy it went
through, so only the addresses our own proxies appended can be believed: with ``NUM_PROXIES = N``
trusted proxies, the client is the N-th address from the right (the one the outermost trusted proxy
saw). With ``NUM_PROXIES = 0`` (the default) the header is ignored: a forged one moves nothing.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid(address: str | None) -> str | None:
    if not address:
        return None
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as a normalised string, or None when there is none to trust."""
    remote = _valid(request.META.get("REMOTE_ADDR"))
    proxies = settings.NUM_PROXIES
    if proxies <= 0:
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if not hops:
        return remote
    # Fewer hops than trusted proxies: the leftmost is the closest we have to the client, as DRF does.
    return _valid(hops[-min(proxies, len(hops))]) or remote
