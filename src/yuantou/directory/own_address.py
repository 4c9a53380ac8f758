"""Is a URL the directory itself? A subscriber listed at the gateway's own address would make it relay every
search to itself, so such URLs are refused at ``/subscribe`` and skipped when relaying."""

from __future__ import annotations

import ipaddress
import socket
from functools import lru_cache
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def _port(url: str) -> int | None:
    parts = urlsplit(url)
    try:
        return parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None


def addresses(host: str) -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Every address ``host`` names (an IP literal, or what the resolver says); empty if it names none."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError, ValueError):
        return set()
    found = set()
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        found.add(address)
    return found


def _this_host(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Loopback or unspecified (``0.0.0.0`` connects to this host too)."""
    return address.is_loopback or address.is_unspecified


def same_endpoint(url: str, own_url: str) -> bool:
    """Whether ``url`` reaches the server at ``own_url``: the same port on an address of the same host."""
    port, own_port = _port(url), _port(own_url)
    if port is None or port != own_port:
        return False
    host, own_host = urlsplit(url).hostname or "", urlsplit(own_url).hostname or ""
    ours = addresses(own_host)
    theirs = addresses(host)
    if ours & theirs:
        return True
    return any(_this_host(a) for a in ours) and any(_this_host(a) for a in theirs)


@lru_cache(maxsize=4096)
def same_endpoint_cached(url: str, own_url: str) -> bool:
    """``same_endpoint`` remembered per URL, for the gateway's relays (a search that still came back would be
    refused anyway: it carries the gateway's own signature)."""
    return same_endpoint(url, own_url)
