"""Expected failures. Each carries a whole sentence in Chinese for people and, where a rule of
the regulations is broken, the articles (D-n, X-n) it breaks."""

from __future__ import annotations


class LineageError(Exception):
    """Base of the expected failures: the request is refused and nothing is written."""

    def __init__(self, message: str, articles: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.articles = articles


class InvalidValue(LineageError):
    """A value is malformed or out of range."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class UnknownId(LineageError):
    def __init__(self, kind: str, id: str) -> None:
        super().__init__(f"{_KIND_LABEL.get(kind, kind)}「{id}」不存在。")
        self.kind = kind
        self.id = id


class DuplicateId(LineageError):
    def __init__(self, kind: str, id: str) -> None:
        super().__init__(f"{_KIND_LABEL.get(kind, kind)}「{id}」已存在，标识不能重复。")
        self.kind = kind
        self.id = id


class RuleViolation(LineageError):
    """A rule of the regulations forbids the request; `rule` names it, `articles` cite it."""

    def __init__(self, rule: str, message: str, articles: tuple[str, ...]) -> None:
        super().__init__(message, articles)
        self.rule = rule


class NotVisible(UnknownId):
    """An id that names nothing the actor may know of: it does not exist, or lies outside the
    actor's knowledge scope. Both read the same, so that a refusal reveals nothing (D-10)."""

    def __init__(self, kind: str, id: str) -> None:
        super().__init__(kind, id)
        self.message = (
            f"{_KIND_LABEL.get(kind, kind)}「{id}」不存在，或不在您的知悉范围内（D-10）。"
        )
        self.args = (self.message,)


class AccessDenied(LineageError):
    """The actor may not do this: it lacks a role, or acts in another's name. `requirement`
    names what is missing (a role such as OFFICIAL, or ACT_AS_SELF)."""

    def __init__(self, requirement: str, message: str, articles: tuple[str, ...] = ()) -> None:
        super().__init__(message, articles)
        self.requirement = requirement


class CycleRefused(RuleViolation):
    def __init__(self, child: str, parent: str) -> None:
        super().__init__(
            "ACYCLIC_LINEAGE",
            f"「{child}」不能派生自「{parent}」：「{parent}」本身已由「{child}」派生，"
            "派生关系不能成环。",
            ("D-3", "D-7"),
        )
        self.child = child
        self.parent = parent


class CycleClosed(CycleRefused):
    """CycleRefused with the cycle itself: `path` runs from the child back to it, each item
    derived from the next, by the ids the reader sees (placeholders for the items it may not
    read, service.redaction): the caller is told where the cycle lies without being told
    what it may not know (D-10)."""

    def __init__(self, path: tuple[str, ...]) -> None:
        super().__init__(path[0], path[1])
        self.path = path
        self.message = (
            f"「{path[0]}」不能派生自「{path[1]}」：派生关系将成环（{' → '.join(path)}，"
            "每一项派生自其后一项）。派生事项产生于其依据之后，不能成为其依据的依据（D-3, D-7）。"
        )
        self.args = (self.message,)


class Conflict(LineageError):
    """The request was decided on a version of a node that is no longer the current one:
    someone else decided on it meanwhile. Nothing is written; read it again and decide anew."""

    def __init__(self, kind: str, id: str, expected: int, current: int) -> None:
        super().__init__(
            f"{_KIND_LABEL.get(kind, kind)}「{id}」已被他人修改：本次请求依据的是第 {expected} 版，"
            f"现为第 {current} 版。请重新读取，按其现状重新决定。"
        )
        self.kind = kind
        self.id = id
        self.expected = expected
        self.current = current


class StoreUnavailable(LineageError):
    """The store cannot be reached or refuses the credentials."""


class StoreInterrupted(StoreUnavailable):
    """The store's server could not be reached during a request, or went away while it ran:
    what the request's open transaction did is rolled back by the server, and the request
    may be sent again once the server is back."""


class CommitUnknown(StoreInterrupted):
    """The connection broke while a transaction committed: it may or may not have been
    written, and only reading the store once it is back can tell (service.idempotency)."""


class StoreVersionError(LineageError):
    """The store was written by a newer version of this service."""


_KIND_LABEL = {
    "item": "事项",
    "keypoint": "密点",
    "scope_rule": "保密事项范围条目",
    "organisation": "机关、单位",
    "person": "人员",
    "record": "书面记录",
    "derivation": "派生关系",
    "citation": "引用关系",
    "process_item_of": "过程稿关系",
    "notice": "变更通知",
    "change": "变更",
    "proposal": "建议",
    "user": "用户",
    "token": "令牌",
    "user_of_person": "对应该人员的用户",
    "idempotency_key": "幂等键",
    "grant": "扩大知悉范围的申请",
}
