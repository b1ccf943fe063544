"""The audit trail: one event for every write and every read of item content, and for every
refused or unauthenticated request: who, what, when, from where, with what outcome. Events
are only ever appended; no operation of the service alters or deletes one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from graph.errors import InvalidValue


class Outcome(Enum):
    OK = "OK"  # done (a write), or shown (a read)
    REFUSED = "REFUSED"  # a rule or a bad value refused it; nothing was written
    DENIED = "DENIED"  # the actor lacks a role or is outside a knowledge scope
    UNAUTHENTICATED = "UNAUTHENTICATED"  # no valid credentials
    ERROR = "ERROR"  # an unexpected failure

    @property
    def label(self) -> str:
        return _OUTCOME_LABEL[self]


_OUTCOME_LABEL = {
    Outcome.OK: "成功",
    Outcome.REFUSED: "被规则拒绝",
    Outcome.DENIED: "无权限",
    Outcome.UNAUTHENTICATED: "未通过身份认证",
    Outcome.ERROR: "出错",
}


@dataclass(frozen=True)
class AuditEvent:
    """`action` names what was asked (`query item`, `mutation declassify`, `cli import`);
    `items` the items whose content was shown or written; `asked` the ids the request named
    (its ID-typed arguments and input fields: items, keypoints, notices, records, persons,
    organisations…), whether or not anything came of them, so that a reader probing ids
    leaves a trace; `detail` the rule or reason of a refusal; `request_id` the id of the HTTP
    request or WebSocket connection it was written for (service.request_ids: the client's
    X-Request-Id or one made for it; empty for the command line, the daily run and events
    written before it was recorded), to find its log lines. Never an item's content: ids
    only."""

    id: str
    at: datetime
    action: str
    outcome: Outcome
    user_id: str | None = None
    person_id: str | None = None
    organisation_id: str | None = None
    address: str = ""
    items: tuple[str, ...] = ()
    detail: str = ""
    asked: tuple[str, ...] = ()
    request_id: str = ""

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise InvalidValue("at", "审计时间须带时区。")
        # Stored as `|a|b|` and hashed as read back (graph.chain): an id must survive that.
        if any(not i or "|" in i for i in (*self.items, *self.asked)):
            raise InvalidValue("items", "审计事件所记的 id 不能为空，也不能含「|」。")


@dataclass(frozen=True)
class AuditQuery:
    """Events newest first; `organisations` None: of every actor (and of requests without
    one), otherwise only of actors of these organisations. `before` is the (time, id) of the
    last event of the previous page."""

    user_id: str | None = None
    # Events that showed or wrote the item, or whose request named it (`asked`).
    item_id: str | None = None
    organisations: tuple[str, ...] | None = None
    outcome: Outcome | None = None
    since: datetime | None = None
    until: datetime | None = None
    before: tuple[datetime, str] | None = None
    limit: int = 50
