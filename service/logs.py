"""The service's logs: one JSON object a line, for the service's own records and uvicorn's
(its error log and its access log alike), each with the id of the request it was written for
(service.request_ids).

What goes in: ids, counts, codes, durations. Never an item's content (a title, a notice's
text): the log leaves the service's control (a collector, a ticket), and its readers are not
the item's. uvicorn's access line keeps the path without its query string, which a client
fills as it likes."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

from service import request_ids

# Extra fields a record may carry (`log.info(..., extra={"fields": {...}})`), put beside the
# message.
FIELDS = "fields"


class JsonFormatter(logging.Formatter):
    """A record as one JSON line: time (UTC), level, logger, message, request_id when the
    record was written for a request, its extra fields, and the exception's traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
        }
        line.update(self._message(record))
        request_id = request_ids.current()
        if request_id:
            line["request_id"] = request_id
        extra = getattr(record, FIELDS, None)
        if isinstance(extra, dict):
            line.update({k: v for k, v in extra.items() if k not in line})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(line, default=str).decode()

    def _message(self, record: logging.LogRecord) -> dict[str, Any]:
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            return _access(record.args)
        return {"message": record.getMessage()}


def _access(args: tuple[Any, ...]) -> dict[str, Any]:
    """uvicorn's access line (client, method, path with query, HTTP version, status) as
    fields, the query string left out."""
    try:
        client, method, full_path, version, status = args
    except ValueError:
        return {"message": " ".join(map(str, args))}
    path = str(full_path).partition("?")[0]
    return {
        "message": f"{method} {path} {status}",
        "client": client,
        "method": method,
        "path": path,
        "http_version": version,
        "status": status,
    }


class StandardError(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to `sys.stderr` as it is when a record is written, not as it was when logging was
    configured: whoever replaces standard error (a test's capture, a command runner) closes
    the old one, and a handler kept on it would fail every record after that."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass  # StreamHandler's own assignment; the stream is always the current one


def config(level: str = "INFO") -> dict[str, Any]:
    """The logging configuration of `lineage serve`, as uvicorn's `log_config` takes it: every
    logger, the root's and uvicorn's, writes JSON lines to standard error."""
    handler = {"()": StandardError, "formatter": "json"}
    uvicorn = {"handlers": ["json"], "level": level, "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"json": handler},
        "root": {"handlers": ["json"], "level": level},
        "loggers": {"uvicorn": uvicorn, "uvicorn.error": uvicorn, "uvicorn.access": uvicorn},
    }
