"""The client's address for the audit trail (service.forwarding): the peer's, whatever it
sends, unless the peer is a trusted proxy; then the right-most forwarded address that is not
itself a trusted proxy."""

from __future__ import annotations

import ipaddress
from typing import Any

from service.forwarding import client_address

TRUSTED = (ipaddress.ip_network("10.0.0.0/24"), ipaddress.ip_network("::1"))


def scope(peer: str, *forwarded: str) -> dict[str, Any]:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return {"type": "http", "client": (peer, 51234), "headers": headers}


def test_anyone_but_a_trusted_proxy_is_recorded_by_its_own_address() -> None:
    assert client_address(scope("203.0.113.9", "198.51.100.1"), TRUSTED) == "203.0.113.9:51234"
    assert client_address(scope("10.0.0.5", "198.51.100.1"), ()) == "10.0.0.5:51234"
    assert client_address(scope("testclient"), TRUSTED) == "testclient:51234"
    assert client_address({"type": "http", "headers": []}, TRUSTED) == ""


def test_through_trusted_proxies_the_right_most_address_not_theirs_is_the_client() -> None:
    via = "（经 10.0.0.5:51234 转发）"
    assert client_address(scope("10.0.0.5", "198.51.100.1"), TRUSTED) == f"198.51.100.1{via}"
    # What the client wrote itself stands left of what the proxies appended.
    spoofed = scope("10.0.0.5", "192.0.2.66, 198.51.100.1")
    assert client_address(spoofed, TRUSTED) == f"198.51.100.1{via}"
    # A second trusted proxy on the way, in a header of its own, and with a port.
    chained = scope("10.0.0.5", "198.51.100.1:4431", "10.0.0.7")
    assert client_address(chained, TRUSTED) == f"198.51.100.1:4431{via}"
    assert client_address(scope("::ffff:10.0.0.5", "2001:db8::1"), TRUSTED).startswith(
        "2001:db8::1（经"
    )
    assert client_address(scope("::1", "[2001:db8::2]:443"), TRUSTED).startswith("[2001:db8::2]")
    # Nothing forwarded: the proxy itself; only proxies: the farthest of them.
    assert client_address(scope("10.0.0.5"), TRUSTED) == "10.0.0.5:51234"
    assert client_address(scope("10.0.0.5", "10.0.0.7"), TRUSTED) == f"10.0.0.7{via}"
