"""The service's JSON log lines (service.logs)."""

from __future__ import annotations

import io
import logging
import logging.config
import sys
from collections.abc import Iterator

import orjson
import pytest

from service import logs


@pytest.fixture
def configured() -> Iterator[None]:
    """The service's logging set on the root logger, and the test's given back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def test_a_record_is_one_json_line_with_its_fields(
    configured: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = io.StringIO()
    monkeypatch.setattr(sys, "stderr", written)
    logging.config.dictConfig(logs.config())
    logging.getLogger("lineage.test").info("解密 %d 项", 3, extra={logs.FIELDS: {"items": 3}})
    (line,) = written.getvalue().splitlines()
    record = orjson.loads(line)
    assert record["message"] == "解密 3 项"
    assert record["logger"] == "lineage.test"
    assert record["items"] == 3


def test_records_go_to_standard_error_as_it_is_when_written(
    configured: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Configured while standard error was a stream that was closed since (a command runner's,
    a test's capture), the log writes to the one in place, without a logging error."""
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    logging.config.dictConfig(logs.config())
    first.close()
    now = io.StringIO()
    monkeypatch.setattr(sys, "stderr", now)
    logging.getLogger("lineage.test").info("到期解密")
    assert "Logging error" not in now.getvalue()
    assert orjson.loads(now.getvalue())["message"] == "到期解密"
