"""Fixtures shared by the tiers: the session's Bolt server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.bolt import BoltServer, session_server


@pytest.fixture(scope="session")
def bolt_server() -> Iterator[BoltServer]:
    yield from session_server()
