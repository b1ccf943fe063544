"""The client's address, for the audit trail: the peer's, unless the peer is a proxy the
operator trusts (LINEAGE_TRUSTED_PROXIES), whose X-Forwarded-For then says who the client is.

Anyone can send X-Forwarded-For; only a trusted proxy's is read, and of it only what the
trusted proxies appended: walking from the right, the first address that is not itself a
trusted proxy is the client (whatever lies left of it the client may have written itself).
`lineage serve` runs uvicorn without its own proxy-header handling, which would otherwise
put a forwarded address in the peer's place before this is asked.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.types import Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def client_address(scope: Scope, trusted: Sequence[Network]) -> str:
    """`host:port` of the peer, or through trusted proxies the client's address with the
    proxy that forwarded it: `203.0.113.9（经 10.0.0.2:51234 转发）`."""
    client = scope.get("client")
    if not client:
        return ""
    host, port = client[0], client[1]
    peer = f"{host}:{port}"
    if not trusted or not _within(_parsed(host), trusted):
        return peer
    hops = [
        hop.strip()
        for name, value in scope.get("headers", ())
        if name == b"x-forwarded-for"
        for hop in value.decode("latin-1").split(",")
    ]
    hops = [hop for hop in hops if hop]
    if not hops:
        return peer
    for hop in reversed(hops):
        if not _within(_parsed(hop), trusted):
            return f"{_printable(hop)}（经 {peer} 转发）"
    # Every hop a trusted proxy: the farthest one is all that is known of the client.
    return f"{_printable(hops[0])}（经 {peer} 转发）"


def _parsed(text: str) -> Address | None:
    """An address as proxies write it: bare, `[v6]`, `[v6]:port` or `v4:port`."""
    value = text.strip()
    if value.startswith("["):
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:
        value = value.partition(":")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return mapped or address


def _within(address: Address | None, trusted: Sequence[Network]) -> bool:
    return address is not None and any(
        address.version == network.version and address in network for network in trusted
    )


def _printable(text: str) -> str:
    return "".join(c for c in text if c.isprintable())[:60]
