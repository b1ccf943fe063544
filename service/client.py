"""A small typed client of the service's GraphQL API, on httpx2 (the HTTP library the project
already pins), for scripts and for `lineage remote`.

Each method sends one operation of service/client.graphql by its hash first (automatic
persisted queries, service.persisted), and the document with its hash when the service answers
`PersistedQueryNotFound`; a deployment that runs registered queries only registers them with
`lineage persisted-queries build --client`. Answers are frozen dataclasses; an expected failure
(a problem of the schema: NotFound, RuleViolation, ...) is raised as the exception of its
name, carrying the service's Chinese message and the articles it cites; a request the service
refused whole (401, 429, a limit) is `Refused`, one that never got an answer `Unreachable`.

    with Client("http://127.0.0.1:8000", token="lin_...") as lineage:
        analysis = lineage.impact_analysis("D-CITY-001", declassify=True)
        print(analysis.total, [entry.marking_after for entry in analysis.impacts])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import httpx2

from service import persisted

DOCUMENTS = Path(__file__).with_name("client.graphql")
OPERATIONS = {o.name: o for o in persisted.operations(DOCUMENTS.read_text(), DOCUMENTS.name)}


# Failures


class ClientError(Exception):
    """Anything the client could not get an answer for; `message` is a sentence for people."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unreachable(ClientError):
    """No answer: the service could not be reached, or did not answer within the timeout."""


class Refused(ClientError):
    """The service refused the request whole, before it ran: `code` as its errors give it
    (UNAUTHENTICATED, RATE_LIMITED, QUERY_TOO_COSTLY, PERSISTED_QUERY_NOT_REGISTERED, ...)."""

    def __init__(self, message: str, code: str, status: int, retry_after: float | None = None):
        super().__init__(message)
        self.code = code
        self.status = status
        self.retry_after = retry_after


class Problem(ClientError):
    """An expected failure of the schema (`Problem { message }`): nothing was written."""

    def __init__(self, message: str, fields: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.fields = dict(fields)
        self.articles: tuple[str, ...] = tuple(fields.get("articles") or ())


class InvalidInput(Problem):
    """A value is malformed or out of range (`field` names it)."""

    @property
    def field(self) -> str:
        return str(self.fields.get("field", ""))


class NotFound(Problem):
    """No node with this id, or one the caller may not read: the two look the same (D-10)."""


class AlreadyExists(Problem):
    """A node with this id exists already."""


class RuleViolation(Problem):
    """A rule of the regulations forbids this: `rule` and `articles` name it."""

    @property
    def rule(self) -> str:
        return str(self.fields.get("rule", ""))


class AccessDenied(Problem):
    """The caller may not do this: `requirement` says what is missing."""

    @property
    def requirement(self) -> str:
        return str(self.fields.get("requirement", ""))


class Conflict(Problem):
    """Someone decided on the item after the version sent: read it again, decide anew."""


_PROBLEMS: dict[str, type[Problem]] = {
    c.__name__: c
    for c in (InvalidInput, NotFound, AlreadyExists, RuleViolation, AccessDenied, Conflict)
}


# Answers


@dataclass(frozen=True)
class Item:
    id: str
    kind: str
    title: str
    document_number: str
    organisation_id: str
    status: str
    status_label: str
    marking: str | None
    expiry: date | None
    version: int

    @classmethod
    def of(cls, value: Mapping[str, Any]) -> Item:
        expiry = value.get("expiry")
        return cls(
            id=value["id"],
            kind=value["kind"],
            title=value["title"],
            document_number=value["documentNumber"],
            organisation_id=value["organisationId"],
            status=value["status"],
            status_label=value["statusLabel"],
            marking=value.get("marking"),
            expiry=None if expiry is None else date.fromisoformat(expiry),
            version=value["version"],
        )


@dataclass(frozen=True)
class ImpactEntry:
    """A descendant that would have to act; a placeholder (`redacted`) says only that it is
    there (D-10)."""

    id: str
    redacted: bool
    actions: tuple[str, ...]
    action_labels: tuple[str, ...]
    marking_after: str | None
    status_after: str | None
    path: tuple[str, ...]
    articles: tuple[str, ...]
    summary: str | None


@dataclass(frozen=True)
class ImpactAnalysis:
    item: Item
    proposed_marking: str | None
    status_after: str
    total: int
    to_declassify: int
    to_change: int
    to_review: int
    redacted: int
    impacts: tuple[ImpactEntry, ...]
    # Where the next page starts (`impact_analysis(..., after=end_cursor)`), if one follows.
    end_cursor: str | None = None


@dataclass(frozen=True)
class LineageNode:
    """An item of a lineage; a placeholder (`redacted`, `item` None) keeps only its place."""

    id: str
    depth: int
    redacted: bool
    item: Item | None


@dataclass(frozen=True)
class LineageEdge:
    """DERIVED_FROM: the child was derived from the parent, in the D-7 case."""

    child_id: str
    parent_id: str
    case: str


@dataclass(frozen=True)
class Lineage:
    root: str
    nodes: tuple[LineageNode, ...]
    edges: tuple[LineageEdge, ...]


@dataclass(frozen=True)
class LineageGraph:
    root: str
    node_count: int
    redacted: int
    data: Any = field(repr=False)


@dataclass(frozen=True)
class Notice:
    id: str
    change_id: str
    source_id: str
    item_id: str
    organisation_id: str
    actions: tuple[str, ...]
    action_labels: tuple[str, ...]
    marking_before: str | None
    marking_after: str | None
    status_after: str
    path: tuple[str, ...]
    articles: tuple[str, ...]
    text: str
    due_on: date
    status: str
    status_label: str

    @classmethod
    def of(cls, value: Mapping[str, Any]) -> Notice:
        return cls(
            id=value["id"],
            change_id=value["changeId"],
            source_id=value["sourceId"],
            item_id=value["itemId"],
            organisation_id=value["organisationId"],
            actions=tuple(value["actions"]),
            action_labels=tuple(value["actionLabels"]),
            marking_before=value.get("markingBefore"),
            marking_after=value.get("markingAfter"),
            status_after=value["statusAfter"],
            path=tuple(value["path"]),
            articles=tuple(value["articles"]),
            text=value["text"],
            due_on=date.fromisoformat(value["dueOn"]),
            status=value["status"],
            status_label=value["statusLabel"],
        )


@dataclass(frozen=True)
class NoticePage:
    notices: tuple[Notice, ...]
    has_next_page: bool
    end_cursor: str | None


@dataclass(frozen=True)
class Record:
    id: str
    summary: str
    articles: tuple[str, ...]

    @classmethod
    def of(cls, value: Mapping[str, Any]) -> Record:
        return cls(value["id"], value["summary"], tuple(value["articles"]))


@dataclass(frozen=True)
class Declassified:
    change_id: str
    record: Record
    notice_count: int
    notices: tuple[Notice, ...]


@dataclass(frozen=True)
class Applied:
    notice: Notice
    item: Item
    record: Record


T = TypeVar("T")


class Client:
    """The service at `url` (its base, e.g. http://127.0.0.1:8000), as the user of `token`.
    `persisted=False` sends every document in full."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 30.0,
        persisted: bool = True,
        transport: httpx2.BaseTransport | None = None,
    ) -> None:
        self.endpoint = url.rstrip("/") + "/graphql"
        self.persisted = persisted
        self._http = httpx2.Client(
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            transport=transport,
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # The operations

    def item(self, id: str) -> Item | None:
        """The item, or None for one that does not exist or the caller may not read."""
        found = self.execute("Item", {"id": id})["item"]
        return None if found is None else Item.of(found)

    def lineage(self, id: str, *, direction: str = "BOTH", depth: int | None = None) -> Lineage:
        """The item's lineage, node by node (`lineage_graph` is the fast path for a large one)."""
        variables = {"id": id, "direction": direction, "depth": depth}
        found = _success(self.execute("Lineage", variables)["lineage"])
        return Lineage(
            found["root"],
            tuple(
                LineageNode(
                    n["id"],
                    n["depth"],
                    n["redacted"],
                    None if n["item"] is None else Item.of(n["item"]),
                )
                for n in found["nodes"]
            ),
            tuple(LineageEdge(e["childId"], e["parentId"], e["case"]) for e in found["edges"]),
        )

    def lineage_graph(
        self, id: str, *, direction: str = "BOTH", depth: int | None = None
    ) -> LineageGraph:
        """The item's lineage laid out for drawing (nodes and edges in `data`)."""
        variables = {"id": id, "direction": direction, "depth": depth}
        found = _success(self.execute("LineageGraph", variables)["lineageGraph"])
        return LineageGraph(found["root"], found["nodeCount"], found["redacted"], found["data"])

    def impact_analysis(
        self,
        item_id: str,
        *,
        declassify: bool = False,
        level: str | None = None,
        afterwards: str = "WORK_SECRET",
        keypoint_ids: Sequence[str] = (),
        first: int = 100,
        after: str | None = None,
    ) -> ImpactAnalysis:
        """The dry run of a change of a source: what each descendant would have to do."""
        change = {
            "itemId": item_id,
            "declassify": declassify,
            "level": level,
            "afterwards": afterwards,
            "keypointIds": list(keypoint_ids),
        }
        variables = {"change": change, "first": first, "after": after}
        found = _success(self.execute("ImpactAnalysis", variables)["impactAnalysis"])
        proposed = found.get("classificationAfter")
        page = found["entries"]
        return ImpactAnalysis(
            item=Item.of(found["item"]),
            proposed_marking=None if proposed is None else proposed["marking"],
            status_after=found["statusAfter"],
            total=found["total"],
            to_declassify=found["toDeclassify"],
            to_change=found["toChange"],
            to_review=found["toReview"],
            redacted=found["redacted"],
            impacts=tuple(
                ImpactEntry(
                    id=e["id"],
                    redacted=e["redacted"],
                    actions=tuple(e["actions"]),
                    action_labels=tuple(e["actionLabels"]),
                    marking_after=e.get("markingAfter"),
                    status_after=e.get("statusAfter"),
                    path=tuple(e["path"]),
                    articles=tuple(e["articles"]),
                    summary=e.get("summary"),
                )
                for e in (edge["node"] for edge in page["edges"])
            ),
            end_cursor=page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None,
        )

    def notices(
        self,
        *,
        organisation_id: str | None = None,
        item_id: str | None = None,
        source_id: str | None = None,
        statuses: Sequence[str] = (),
        first: int = 50,
        after: str | None = None,
    ) -> NoticePage:
        """A page of change notices the caller may read, filtered."""
        filter_ = {
            "organisationId": organisation_id,
            "itemId": item_id,
            "sourceId": source_id,
            "statuses": list(statuses),
        }
        variables = {"filter": filter_, "first": first, "after": after}
        found = _success(self.execute("Notices", variables)["notices"])
        return NoticePage(
            tuple(Notice.of(edge["node"]) for edge in found["edges"]),
            found["pageInfo"]["hasNextPage"],
            found["pageInfo"]["endCursor"],
        )

    def declassify(
        self,
        item_id: str,
        *,
        handler_id: str,
        reason: str,
        basis: str,
        official_id: str | None = None,
        afterwards: str = "WORK_SECRET",
        keypoint_ids: Sequence[str] = (),
        decided_on: date | None = None,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> Declassified:
        """Declassifies a source (or some of its keypoints) and sends the notices."""
        decision = {
            "itemId": item_id,
            "handlerId": handler_id,
            "reason": reason,
            "basis": basis,
            "officialId": official_id,
            "afterwards": afterwards,
            "keypointIds": list(keypoint_ids),
            "decidedOn": None if decided_on is None else decided_on.isoformat(),
            "expectedVersion": expected_version,
        }
        answer = self.execute("Declassify", {"input": decision}, idempotency_key=idempotency_key)
        found = _success(answer["declassify"])
        return Declassified(
            found["change"]["id"],
            Record.of(found["record"]),
            found["noticeCount"],
            tuple(Notice.of(n) for n in found["notices"]),
        )

    def apply_notice(
        self,
        notice_id: str,
        *,
        handler_id: str,
        official_id: str | None = None,
        decided_on: date | None = None,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> Applied:
        """Applies a notice to its item, as its holder decides (D-13)."""
        decision = {
            "noticeId": notice_id,
            "handlerId": handler_id,
            "officialId": official_id,
            "decidedOn": None if decided_on is None else decided_on.isoformat(),
            "expectedVersion": expected_version,
        }
        answer = self.execute("ApplyNotice", {"input": decision}, idempotency_key=idempotency_key)
        found = _success(answer["applyNotice"])
        return Applied(
            Notice.of(found["notice"]), Item.of(found["item"]), Record.of(found["record"])
        )

    # The protocol

    def execute(
        self,
        operation: str,
        variables: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """The `data` of one operation of service/client.graphql, by its name."""
        known = OPERATIONS[operation]
        body: dict[str, Any] = {"operationName": known.name, "variables": dict(variables or {})}
        headers = {} if idempotency_key is None else {"Idempotency-Key": idempotency_key}
        if self.persisted:
            hashed = {"persistedQuery": {"version": 1, "sha256Hash": known.digest}}
            status, answer = self._post({**body, "extensions": hashed}, headers)
            code = _code(answer)
            if code == persisted.NOT_SUPPORTED:
                self.persisted = False  # the service keeps none: send documents from now on
            elif code == persisted.NOT_FOUND:
                status, answer = self._post(
                    {**body, "query": known.body, "extensions": hashed}, headers
                )
                return _data(status, answer)
            else:
                return _data(status, answer)
        status, answer = self._post({**body, "query": known.body}, headers)
        return _data(status, answer)

    def _post(self, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, Any]:
        try:
            response = self._http.post(self.endpoint, json=body, headers=headers)
        except httpx2.TimeoutException as error:
            raise Unreachable(
                f"服务在规定时间内没有回答（{self.endpoint}）：请稍后重试。"
            ) from error
        except httpx2.TransportError as error:
            raise Unreachable(
                f"无法连接服务 {self.endpoint}：{error}。请确认地址正确、服务正在运行。"
            ) from error
        try:
            answer = response.json()
        except ValueError as error:
            raise Refused(
                f"服务的回答不是 JSON（HTTP {response.status_code}）：请确认地址指向血缘服务。",
                "NOT_JSON",
                response.status_code,
            ) from error
        if response.status_code == 429 and isinstance(answer, dict):
            retry = response.headers.get("retry-after")
            errors = answer.get("errors") or [{}]
            raise Refused(
                str(errors[0].get("message", "请求过于频繁。")),
                "RATE_LIMITED",
                429,
                float(retry) if retry and retry.isdigit() else None,
            )
        return response.status_code, answer


def _code(answer: Any) -> str | None:
    if not isinstance(answer, dict):
        return None
    for error in answer.get("errors") or ():
        code = (error.get("extensions") or {}).get("code")
        if code:
            return str(code)
    return None


def _data(status: int, answer: Any) -> dict[str, Any]:
    """The answer's data, or Refused with its first error's message and code."""
    if not isinstance(answer, dict):
        raise Refused(f"服务的回答无法识别（HTTP {status}）。", "UNEXPECTED", status)
    errors = answer.get("errors")
    data = answer.get("data")
    if errors or not isinstance(data, dict):
        first = (errors or [{}])[0]
        message = str(first.get("message") or f"服务拒绝了请求（HTTP {status}）。")
        raise Refused(message, _code(answer) or "ERROR", status)
    return data


def _success(value: Mapping[str, Any]) -> Mapping[str, Any]:
    """A result union's success, or its problem raised."""
    kind = _PROBLEMS.get(str(value.get("__typename")))
    if kind is not None:
        raise kind(str(value.get("message", "")), value)
    return value
