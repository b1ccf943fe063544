"""Intake from document systems (OA): a signed JSON request, "document X was derived from
Y, Z with keypoints …", decided by the same use case as `deriveItem`.

Signing follows Standard Webhooks: the system signs `{webhook-id}.{webhook-timestamp}.{body}`
with HMAC-SHA256 under its secret (`whsec_` and the key in base64) and sends
`webhook-signature: v1,<base64 digest>` (several, space-separated, while a secret is
rotated). A timestamp more than `LINEAGE_INTAKE_TOLERANCE_SECONDS` from the service's clock
is refused, so a captured request cannot be sent again later. Each system is registered by
the operator (`lineage intake add SYSTEM --user USER`): its secret is kept in the store (a
memo, never exported; HMAC needs the secret itself, not a digest) and it acts as that user,
whose roles, knowledge scope and audit trail apply: it is the classification official who
decides (D-11), and what it may not read answers as what does not exist (D-10).

A request is idempotent by the caller's `documentId`: the first answer is kept with a digest
of the body, in the transaction that writes the item; the same body again gets that answer,
another body under the same document id 409. A refused request takes nothing, and may be
sent again once mended. Every call is recorded in the audit trail.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from graph.access import Actor
from graph.errors import (
    AccessDenied,
    Conflict,
    DuplicateId,
    InvalidValue,
    LineageError,
    RuleViolation,
    UnknownId,
)
from graph.model import KnowledgeScope, Level, PeriodKind, check_id, check_text
from graph.store.base import GraphReader, GraphStore, GraphWriter
from graph.trail import Outcome
from service.accounts import Unauthenticated, actor_in
from service.auditing import event
from service.forwarding import client_address
from service.redaction import Mode, Redactor, names_in
from service.register import NamedBasis, bases_with_keypoints, basis_item, case_of
from service.usecases import DeriveItem, PeriodSpec, derivation, now

log = logging.getLogger(__name__)

SYSTEM_PREFIX = "intake-system:"
DOCUMENT_PREFIX = "intake-document:"
SECRET_PREFIX = "whsec_"
PROBLEM = "application/problem+json"


# --- the systems ----------------------------------------------------------------------------


@dataclass(frozen=True)
class System:
    id: str
    user_id: str
    secret: bytes
    created_at: datetime


def add_system(store: GraphStore, system_id: str, user_id: str) -> str:
    """Registers (or registers again, with a new secret) a system acting as `user_id`;
    returns its secret, to be given to the system once."""
    check_id(system_id, "system")
    key = secrets.token_bytes(32)

    def work(tx: GraphWriter) -> None:
        user = tx.users([user_id]).get(user_id)
        if user is None:
            raise UnknownId("user", user_id)
        if not user.active:
            raise InvalidValue("user", f"用户「{user_id}」已被吊销。")
        value = {
            "user": user_id,
            "secret": base64.b64encode(key).decode(),
            "created_at": now().isoformat(),
        }
        tx.put_memo(SYSTEM_PREFIX + system_id, json.dumps(value))

    store.write(work)
    return SECRET_PREFIX + base64.b64encode(key).decode()


def _system(tx: GraphReader, system_id: str) -> System | None:
    held = tx.memo(SYSTEM_PREFIX + system_id)
    if held is None:
        return None
    value = json.loads(held)
    return System(
        system_id,
        str(value["user"]),
        base64.b64decode(value["secret"]),
        datetime.fromisoformat(value["created_at"]),
    )


def systems(store: GraphStore) -> list[System]:
    def work(tx: GraphReader) -> list[System]:
        found = tx.memos(SYSTEM_PREFIX, None, 1000)
        out = [_system(tx, key.removeprefix(SYSTEM_PREFIX)) for key, _ in found]
        return [s for s in out if s is not None]

    return store.read(work)


def remove_system(store: GraphStore, system_id: str) -> None:
    def work(tx: GraphWriter) -> None:
        if tx.memo(SYSTEM_PREFIX + system_id) is None:
            raise InvalidValue("system", f"文书系统「{system_id}」未登记。")
        tx.remove_memos([SYSTEM_PREFIX + system_id])

    store.write(work)


def signature(secret: bytes, message_id: str, timestamp: str, body: bytes) -> str:
    """The `v1,…` signature of Standard Webhooks, as a system computes it."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(secret, signed, hashlib.sha256).digest()).decode()


def secret_bytes(text: str) -> bytes:
    """The key of a `whsec_…` secret."""
    try:
        return base64.b64decode(text.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError) as error:
        raise InvalidValue("secret", "签名密钥无效：应为 whsec_ 加 base64。") from error


# --- the request ----------------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, extra="forbid", populate_by_name=True)


class BasisBody(_Body):
    item_id: str | None = Field(default=None, max_length=200)
    document_number: str | None = Field(default=None, max_length=200)
    case: str | None = Field(default=None, max_length=50)
    keypoints: list[str] = Field(default_factory=list, max_length=200)


class ScopeBody(_Body):
    persons: list[str] = Field(default_factory=list, max_length=1000)
    organisations: list[str] = Field(default_factory=list, max_length=1000)


class PeriodBody(_Body):
    kind: PeriodKind
    years: int | None = None
    start: date | None = None
    until: date | None = None
    condition: str | None = Field(default=None, max_length=200)


class Derivation(_Body):
    """The JSON a document system sends: its own id of the document, the document, its
    bases named by item id or document number (文号), and the keypoints involved by title or
    id; level and period, if given, are checked like deriveItem's (D-8, D-9)."""

    document_id: str = Field(min_length=1, max_length=200)
    title: str = Field(max_length=500)
    document_number: str = Field(default="", max_length=100)
    organisation_id: str = Field(max_length=128)
    issued_on: date
    handler_id: str = Field(max_length=128)
    bases: list[BasisBody] = Field(max_length=200)
    keypoints: list[str] = Field(default_factory=list, max_length=200)
    scope: ScopeBody
    scope_rule_ids: list[str] = Field(default_factory=list, max_length=50)
    level: Level | None = None
    period: PeriodBody | None = None
    originator_consultation: str | None = Field(default=None, max_length=2000)


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    items: tuple[str, ...] = ()
    replayed: bool = False


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


def problem(status: int, code: str, message: str, **extra: Any) -> dict[str, Any]:
    """An RFC 9457 problem, with the rule and articles where one applies."""
    return {
        "type": f"urn:lineage:problem:{code.lower().replace('_', '-')}",
        "title": code,
        "status": status,
        "detail": message,
        **extra,
    }


def refused(error: LineageError) -> Refused:
    match error:
        case AccessDenied():
            return Refused(
                403,
                "ACCESS_DENIED",
                error.message,
                requirement=error.requirement,
                articles=list(error.articles),
            )
        case Conflict():
            return Refused(409, "CONFLICT", error.message, kind=error.kind, id=error.id)
        case RuleViolation():
            return Refused(
                422, "RULE_VIOLATION", error.message, rule=error.rule, articles=list(error.articles)
            )
        case UnknownId():
            return Refused(422, "NOT_FOUND", error.message, kind=error.kind, id=error.id)
        case DuplicateId():
            return Refused(409, "ALREADY_EXISTS", error.message, kind=error.kind, id=error.id)
        case InvalidValue():
            return Refused(422, "INVALID_INPUT", error.message, field=error.field)
        case _:
            return Refused(422, "INVALID_INPUT", error.message)


def fingerprint(request: Derivation) -> str:
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def derive(
    store: GraphStore, system: System, request: Derivation, redaction: Mode, key: bytes
) -> Answer:
    """The derivation, through deriveItem's use case, and the answer kept under the caller's
    document id in the same transaction; or the first answer to this document id again."""
    memo = f"{DOCUMENT_PREFIX}{system.id}:{request.document_id}"
    digest = fingerprint(request)

    def work(tx: GraphWriter) -> Answer:
        kept = tx.memo(memo)
        if kept is not None:
            return _replay(json.loads(kept), digest, request.document_id)
        user = tx.users([system.user_id]).get(system.user_id)
        if user is None or not user.active:
            raise Unauthenticated("文书系统所代表的用户不存在或已被吊销。")
        actor = actor_in(tx, user)
        redactor = Redactor(actor, redaction, key)
        command = _command(tx, actor, redactor, request)
        decided = derivation(command, actor, redactor)(tx)
        item, record = decided.item, decided.record
        summary = decided.requirement.explanation.summary if decided.requirement else None
        names = names_in(tx, [summary] if summary else [])
        body = {
            "documentId": request.document_id,
            "itemId": item.id,
            "recordId": record.id,
            "status": item.status.value,
            "marking": item.marking,
            "level": item.classification.level.value if item.classification else None,
            "expiry": item.classification.expiry.isoformat()
            if item.classification and item.classification.expiry
            else None,
            "articles": list(record.articles),
            "explanation": redactor.render(summary, names) if summary else None,
        }
        answer = Answer(201, body, (item.id,))
        tx.add_memo(
            memo,
            json.dumps(
                {"fingerprint": digest, "status": 201, "body": body, "items": [item.id]},
                ensure_ascii=False,
            ),
        )
        return answer

    try:
        return store.write(work)
    except DuplicateId as error:
        if not error.id.startswith(DOCUMENT_PREFIX):
            raise
        # Another request with this document id wrote first, while this one ran.
        return store.read(
            lambda tx: _replay(json.loads(tx.memo(memo) or "{}"), digest, request.document_id)
        )


def _replay(kept: dict[str, Any], digest: str, document_id: str) -> Answer:
    if kept.get("fingerprint") != digest:
        raise Refused(
            409,
            "DOCUMENT_ID_REUSED",
            f"文书「{document_id}」已以另一内容报送：同一文书标识只能重发同一请求。",
        )
    return Answer(
        int(kept["status"]), dict(kept["body"]), tuple(kept.get("items", ())), replayed=True
    )


def _command(tx: GraphReader, actor: Actor, redactor: Redactor, request: Derivation) -> DeriveItem:
    named = []
    for index, basis in enumerate(request.bases):
        if (basis.item_id is None) == (basis.document_number is None):
            raise InvalidValue(
                f"bases[{index}]", "每项依据须给出 itemId 或 documentNumber 之一（D-11）。"
            )
        token = basis.item_id or basis.document_number or ""
        parent = basis_item(tx, actor, check_text(token, "bases.itemId", limit=200))
        named.append(
            NamedBasis(
                parent,
                case_of(basis.case, "bases.case") if basis.case else None,
                tuple(basis.keypoints),
            )
        )
    bases = bases_with_keypoints(tx, actor, redactor, named, request.keypoints, None)
    period = request.period
    return DeriveItem(
        title=request.title,
        document_number=request.document_number,
        organisation_id=request.organisation_id,
        issued_on=request.issued_on,
        bases=bases,
        scope=KnowledgeScope(
            frozenset(request.scope.persons), frozenset(request.scope.organisations)
        ),
        handler_id=request.handler_id,
        official_id=None,  # the system's user decides (D-11)
        scope_rule_ids=tuple(request.scope_rule_ids),
        level=request.level,
        period=PeriodSpec(period.kind, period.years, period.start, period.until, period.condition)
        if period
        else None,
        originator_consultation=request.originator_consultation,
    )


# --- over HTTP ------------------------------------------------------------------------------


def verify(
    system: System | None, headers: Any, body: bytes, tolerance: float, at: float | None = None
) -> tuple[System, str]:
    """The system and the message id of a request it signed within the tolerance; Refused
    (401) otherwise. An unknown system and a bad signature are refused alike."""
    message_id = headers.get("webhook-id") or ""
    stamp = headers.get("webhook-timestamp") or ""
    given = (headers.get("webhook-signature") or "").split()
    if not message_id or not stamp or not given:
        raise Refused(
            401,
            "UNSIGNED",
            "请求未签名：须带 webhook-id、webhook-timestamp 和 webhook-signature 头"
            "（Standard Webhooks）。",
        )
    try:
        sent = int(stamp)
    except ValueError:
        raise Refused(401, "STALE_TIMESTAMP", "webhook-timestamp 应为 Unix 秒数。") from None
    moment = time.time() if at is None else at
    if abs(moment - sent) > tolerance:
        raise Refused(
            401,
            "STALE_TIMESTAMP",
            f"请求时间戳与本系统时间相差超过 {tolerance:g} 秒：已过期或时钟不准，不予受理。",
        )
    expected = signature(system.secret, message_id, stamp, body) if system else "v1,"
    if system is None or not any(hmac.compare_digest(expected, g) for g in given):
        raise Refused(401, "BAD_SIGNATURE", "签名无效：密钥、webhook-id、时间戳或请求体不符。")
    return system, message_id


class Intake:
    """POST /intake/{system}/derivations."""

    def __init__(
        self, tolerance: float, redaction: Mode, key: bytes, trusted: tuple[Any, ...]
    ) -> None:
        self.tolerance = tolerance
        self.redaction = redaction
        self.key = key
        self.trusted = trusted

    async def handle(self, request: Request) -> Response:
        # Through the outbox, as the API writes: a derivation sent in is a decision whose
        # record goes to the organisations' webhooks (service.outbox).
        store: GraphStore = request.app.state.outbox
        audit = request.app.state.audit
        system_id = str(request.path_params["system"])
        address = client_address(request.scope, self.trusted)
        body = await request.body()
        actor: Actor | None = None
        asked: list[str] = []  # what it named, recorded whatever came of it (as GraphQL's)
        action = f"intake {system_id[:50]} derive"
        try:
            found = await run_in_threadpool(
                store.read, lambda tx: _system(tx, system_id) if _valid(system_id) else None
            )
            system, message_id = verify(found, request.headers, body, self.tolerance)
            actor = await run_in_threadpool(_actor_of, store, system.user_id)
            try:
                parsed = Derivation.model_validate_json(body)
            except ValidationError as error:
                first = error.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "body"
                raise Refused(
                    422,
                    "INVALID_INPUT",
                    f"请求体无效：{where}：{first['msg']}。",
                    field=where,
                ) from None
            asked = [
                parsed.document_id,
                *(b.item_id or b.document_number or "" for b in parsed.bases),
            ]
            answer = await run_in_threadpool(
                derive, store, system, parsed, self.redaction, self.key
            )
        except Refused as error:
            outcome = Outcome.UNAUTHENTICATED if error.status == 401 else Outcome.REFUSED
            await _record(audit, actor, action, outcome, error.code, address, [], asked)
            return _problem(error.status, error.code, error.message, **error.extra)
        except Unauthenticated as error:
            await _record(
                audit, actor, action, Outcome.UNAUTHENTICATED, str(error), address, [], asked
            )
            return _problem(401, "UNAUTHENTICATED", str(error))
        except LineageError as error:
            mapped = refused(error)
            outcome = Outcome.DENIED if mapped.status == 403 else Outcome.REFUSED
            detail = str(mapped.extra.get("rule") or mapped.code)
            await _record(audit, actor, action, outcome, detail, address, [], asked)
            return _problem(mapped.status, mapped.code, mapped.message, **mapped.extra)
        detail = f"document {parsed.document_id[:100]}, message {message_id[:100]}"
        if answer.replayed:
            detail += "；重发：返回首次结果"
        try:
            await _record(
                audit, actor, action, Outcome.OK, detail, address, list(answer.items), asked
            )
        except Exception:
            log.exception("未能记录一次文书报送。")
            return _problem(
                500, "AUDIT_FAILED", "审计记录无法写入：为保密起见，本次请求的结果不予返回。"
            )
        headers = {"Idempotent-Replayed": "true"} if answer.replayed else {}
        return JSONResponse(answer.body, status_code=answer.status, headers=headers)


def _valid(system_id: str) -> bool:
    try:
        check_id(system_id, "system")
    except InvalidValue:
        return False
    return True


def _actor_of(store: GraphStore, user_id: str) -> Actor:
    def work(tx: GraphReader) -> Actor:
        user = tx.users([user_id]).get(user_id)
        if user is None or not user.active:
            raise Unauthenticated("文书系统所代表的用户不存在或已被吊销。")
        return actor_in(tx, user)

    return store.read(work)


async def _record(
    audit: Any,
    actor: Actor | None,
    action: str,
    outcome: Outcome,
    detail: str,
    address: str,
    items: list[str],
    asked: list[str],
) -> None:
    try:
        await audit.record(
            event(actor, action, outcome, items=items, detail=detail, address=address, asked=asked)
        )
    except Exception:
        if outcome is Outcome.OK:
            raise
        log.exception("未能记录一次被拒绝的文书报送。")


def _problem(status: int, code: str, message: str, **extra: Any) -> Response:
    return JSONResponse(
        problem(status, code, message, **extra), status_code=status, media_type=PROBLEM
    )
