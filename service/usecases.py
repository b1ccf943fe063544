"""Use cases: plain values in, one transaction per call, graph values out.

Each mutation validates everything first and then writes inside the same store transaction,
so a refused request leaves the graph exactly as it was.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, timezone

from graph import rules
from graph.access import Actor, Role
from graph.errors import Conflict, InvalidValue, NotVisible, RuleViolation, UnknownId
from graph.grant import Grant, GrantKind
from graph.model import (
    BasisCase,
    BasisCitation,
    Citation,
    Classification,
    DecisionRecord,
    Derivation,
    Direction,
    Item,
    ItemKind,
    ItemStatus,
    Keypoint,
    KnowledgeScope,
    Level,
    LongTerm,
    Organisation,
    Period,
    PeriodKind,
    Person,
    RecordKind,
    ScopeRule,
    Unmarked,
    UntilCondition,
    UntilDate,
    Years,
    add_years,
    check_id,
    check_text,
)
from graph.phrase import Names, Phrase
from graph.store.base import GraphReader, GraphStore, GraphWriter, ItemQuery
from graph.traversal import Subgraph, lineage
from service import grants
from service.permissions import deciding_official, readable_items, require_handler, require_role
from service.redaction import Redactor, names_in

MAX_PAGE = 500
MAX_KEYPOINTS = 200
MAX_BASES = 200


@dataclass(frozen=True)
class PeriodSpec:
    """A period as a request gives it; `start` defaults to the item's date."""

    kind: PeriodKind
    years: int | None = None
    start: date | None = None
    until: date | None = None
    condition: str | None = None

    def to_period(self, default_start: date) -> Period:
        start = self.start or default_start
        match self.kind:
            case PeriodKind.YEARS:
                if self.years is None:
                    raise InvalidValue("period.years", "按年计的保密期限须给出年数（years）。")
                return Years(self.years, start)
            case PeriodKind.UNTIL_DATE:
                if self.until is None:
                    raise InvalidValue("period.until", "解密时间须给出日期（until）。")
                return UntilDate(self.until)
            case PeriodKind.UNTIL_CONDITION:
                condition = check_text(self.condition or "", "period.condition", limit=200)
                return UntilCondition(condition)
            case PeriodKind.LONG_TERM:
                return LongTerm()
            case PeriodKind.UNMARKED:
                return Unmarked(start)


@dataclass(frozen=True)
class NewOrganisation:
    id: str
    name: str
    authority: Level | None = None
    superior_id: str | None = None


@dataclass(frozen=True)
class NewPerson:
    id: str
    name: str
    organisation_id: str


@dataclass(frozen=True)
class NewKeypoint:
    title: str
    level: Level
    period: PeriodSpec
    id: str | None = None


@dataclass(frozen=True)
class RegisterSource:
    title: str
    document_number: str
    organisation_id: str
    issued_on: date
    level: Level
    period: PeriodSpec
    scope: KnowledgeScope
    handler_id: str
    # The classification official: the actor itself; None names the actor (D-11).
    official_id: str | None
    keypoints: tuple[NewKeypoint, ...] = ()
    scope_limit: KnowledgeScope | None = None
    scope_rule_ids: tuple[str, ...] = ()
    process_item_of: str | None = None
    id: str | None = None
    joint_organisation_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class NewScopeRule:
    id: str
    title: str
    document: str
    level: Level
    years: int | None = None
    long_term: bool = False
    issuer: str = ""


@dataclass(frozen=True)
class BasisSpec:
    parent_id: str
    case: BasisCase
    keypoint_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeriveItem:
    title: str
    document_number: str
    organisation_id: str
    issued_on: date
    bases: tuple[BasisSpec, ...]
    scope: KnowledgeScope
    handler_id: str
    official_id: str | None
    scope_rule_ids: tuple[str, ...] = ()
    level: Level | None = None
    period: PeriodSpec | None = None
    originator_consultation: str | None = None
    process_item_of: str | None = None
    id: str | None = None


@dataclass(frozen=True)
class Decided:
    """The outcome of a registration or derivation: the item as written and its record."""

    item: Item
    record: DecisionRecord
    requirement: rules.Requirement | None = None


@dataclass(frozen=True)
class Lineage:
    root: str
    items: dict[str, Item]
    subgraph: Subgraph
    # The keypoints its edges involve and the items that define them, for telling which of
    # them a reader may know (service.redaction).
    names: Names
    # CITES edges of its items (D-14: cited, not a basis); an item at the far end of one that
    # lies outside the lineage is one of its nodes, a step beyond the item it is linked to.
    citations: tuple[Citation, ...] = ()


# Decisions are dated in China's time (UTC+8 all year), wherever the server's clock runs.
CHINA = timezone(timedelta(hours=8), "CST")


def now() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    return datetime.now(CHINA).date()


def require_version(item: Item, expected: int | None) -> None:
    """Refuses a decision made on another version of `item` than the current one (Conflict);
    None: the caller did not say which it saw."""
    if expected is not None and item.version != expected:
        raise Conflict("item", item.id, expected, item.version)


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def assigned_id(given: str | None, prefix: str, actor: Actor) -> str:
    """The id of a new item, keypoint or proposal: one the service makes. A caller that
    chose its own could find out, from a refusal, that an item it may not know has that id
    (D-10); only the operator (an import, the demo data) keeps the ids it brings."""
    if given is None:
        return new_id(prefix)
    if not actor.system:
        raise InvalidValue("id", "标识由本系统分配，不能自行指定：请以文号称呼事项。")
    return check_id(given, "id")


# Mutations


@dataclass(frozen=True)
class Registered:
    """A new organisation, and the request for its superior if one was named: a superior's
    supervisors read what it holds, so the link waits for a second person (service.grants)."""

    organisation: Organisation
    grant: grants.Described | None = None


def register_organisation(store: GraphStore, command: NewOrganisation, actor: Actor) -> Registered:
    require_role(actor, Role.ADMINISTRATOR)
    organisation = Organisation(
        check_id(command.id, "id"),
        check_text(command.name, "name", limit=200),
        command.authority,
    )
    superior_id = check_id(command.superior_id, "superiorId") if command.superior_id else None
    if superior_id == organisation.id:
        raise InvalidValue("superiorId", "机关、单位不能是其自身的上级。")

    def work(tx: GraphWriter) -> Registered:
        tx.add_organisation(organisation)
        if superior_id is None:
            return Registered(organisation)
        grant = Grant(
            grants.new_grant_id(),
            GrantKind.SUPERIOR,
            grants.requester_of(actor),
            now(),
            organisation_id=organisation.id,
            target_id=superior_id,
        )
        return Registered(organisation, grants.describe(tx, grants.file(tx, grant)))

    return store.write(work)


def record_succession(
    store: GraphStore, organisation_id: str, successor_id: str, actor: Actor
) -> grants.Described:
    """Asks to record that an organisation was dissolved or merged and which one took over
    its functions: once a second person approves (service.grants), that one reads what the
    first one's persons read and decides on what it classified (X-7 ¶2, D-10)."""
    require_role(actor, Role.ADMINISTRATOR, Role.SUPERVISOR)
    if organisation_id == successor_id:
        raise InvalidValue("successorId", "承继机关、单位不能是其自身。")
    grant = Grant(
        grants.new_grant_id(),
        GrantKind.SUCCESSION,
        grants.requester_of(actor),
        now(),
        organisation_id=check_id(organisation_id, "organisationId"),
        target_id=check_id(successor_id, "successorId"),
    )
    return store.write(lambda tx: grants.describe(tx, grants.file(tx, grant)))


def register_person(store: GraphStore, command: NewPerson, actor: Actor) -> Person:
    require_role(actor, Role.ADMINISTRATOR)
    person = Person(
        check_id(command.id, "id"),
        check_text(command.name, "name", limit=100),
        check_id(command.organisation_id, "organisationId"),
    )
    store.write(lambda tx: tx.add_person(person))
    return person


def register_scope_rule(store: GraphStore, command: NewScopeRule, actor: Actor) -> ScopeRule:
    require_role(actor, Role.ADMINISTRATOR)
    if command.long_term and command.years is not None:
        raise InvalidValue("years", "长期的保密事项范围条目不能同时给出年数。")
    if command.years is not None and not 1 <= command.years <= command.level.statutory_years:
        raise _beyond_statutory(command.level, command.years)
    rule = ScopeRule(
        check_id(command.id, "id"),
        check_text(command.title, "title"),
        check_text(command.document, "document", limit=200),
        command.level,
        command.years,
        command.long_term,
        check_text(command.issuer, "issuer", limit=200, required=False),
    )
    store.write(lambda tx: tx.add_scope_rule(rule))
    return rule


def register_source(store: GraphStore, command: RegisterSource, actor: Actor) -> Decided:
    """Registers an item classified by its originator, with its keypoints (D-16); the actor
    is the classification official who decides (D-11)."""
    return store.write(source_registration(command, actor))


def source_registration(command: RegisterSource, actor: Actor) -> Callable[[GraphWriter], Decided]:
    """register_source's checks of the command alone, and the work that checks the rest and
    writes, to run in a transaction: the register's import (service.register) runs many in
    one."""
    official_id = deciding_official(actor, command.official_id)
    item_id = assigned_id(command.id, "S", actor)
    title = check_text(command.title, "title")
    number = check_text(command.document_number, "documentNumber", limit=100, required=False)
    period = command.period.to_period(command.issued_on)
    classification = Classification(command.level, period)
    check_original_period(classification, command.issued_on)
    if len(command.keypoints) > MAX_KEYPOINTS:
        raise InvalidValue("keypoints", f"密点过多：每个事项最多 {MAX_KEYPOINTS} 个。")
    keypoints: list[Keypoint] = []
    for spec in command.keypoints:
        keypoint = Keypoint(
            # Opaque: an id made of the item's would name the item beside the placeholder
            # that a reader who may not read it sees for the keypoint.
            assigned_id(spec.id, "K", actor),
            item_id,
            check_text(spec.title, "keypoints.title"),
            Classification(spec.level, spec.period.to_period(command.issued_on)),
        )
        check_keypoint_within(keypoint, classification, command.issued_on)
        keypoints.append(keypoint)
    _refuse_repeats([k.id for k in keypoints], "keypoints.id")
    if command.scope.is_empty:
        raise RuleViolation(
            "KNOWLEDGE_SCOPE",
            "知悉范围不能为空：应根据工作需要确定，能够限定到具体人员的限定到具体人员（D-10）。",
            ("D-10",),
        )

    def work(tx: GraphWriter) -> Decided:
        check_decision_makers(tx, command.organisation_id, command.handler_id, official_id)
        require_handler(tx, actor, command.handler_id)
        _require_scope_members(tx, command.scope, command.scope_limit)
        rule_map = _require_scope_rules(tx, command.scope_rule_ids)
        if command.process_item_of is not None:
            readable_items(tx, actor, [command.process_item_of])
        item = Item(
            id=item_id,
            kind=ItemKind.SOURCE,
            title=title,
            document_number=number,
            organisation_id=command.organisation_id,
            issued_on=command.issued_on,
            status=ItemStatus.CLASSIFIED,
            classification=classification,
            scope=command.scope,
            scope_limit=command.scope_limit,
            joint_organisation_ids=frozenset(command.joint_organisation_ids)
            - {command.organisation_id},
        )
        citations = tuple(
            BasisCitation(
                "SCOPE_RULE",
                rule.id,
                rule.title,
                rule.document,
                rule.classification_from(command.issued_on).marking,
            )
            for rule in rule_map.values()
        )
        record = DecisionRecord(
            id=new_id("R"),
            item_id=item_id,
            kind=RecordKind.ORIGINAL,
            handler_id=command.handler_id,
            official_id=official_id,
            decided_on=command.issued_on,
            recorded_at=now(),
            status=item.status,
            classification=classification,
            scope=command.scope,
            bases=citations,
            summary=Phrase.of(f"原定密：{classification.marking}，密点 {len(keypoints)} 个。"),
            articles=("D-11", "D-16"),
        )
        tx.add_item(item)
        for keypoint in keypoints:
            tx.add_keypoint(keypoint)
        tx.add_contained_keypoints(item_id, [k.id for k in keypoints])
        tx.add_classified_under(item_id, rule_map)
        if command.process_item_of is not None:
            tx.add_process_item_of(item_id, command.process_item_of)
        tx.add_record(record)
        return Decided(item, record)

    return work


def derive_item(
    store: GraphStore, command: DeriveItem, actor: Actor, redactor: Redactor | None = None
) -> Decided:
    """Derives an item from its bases and classifies it as the rules require (D-7..D-15); the
    actor is the classification official who decides, and must know every basis (D-10).

    The keypoints a basis involves are named as the actor sees them among the parent's
    (`redactor`; all by their own ids without one): a keypoint of a source it may not read,
    by its placeholder id. A proposed level, period or scope that breaks the rules is refused
    with its article, so nothing under- or over-classified is written.
    """
    return store.write(derivation(command, actor, redactor))


def derivation(
    command: DeriveItem, actor: Actor, redactor: Redactor | None = None
) -> Callable[[GraphWriter], Decided]:
    """derive_item's checks of the command alone, and the work that checks the rest and
    writes, to run in a transaction (as source_registration)."""
    official_id = deciding_official(actor, command.official_id)
    item_id = assigned_id(command.id, "D", actor)
    title = check_text(command.title, "title")
    number = check_text(command.document_number, "documentNumber", limit=100, required=False)
    if not command.bases:
        raise RuleViolation(
            "NOT_DERIVED",
            "未采用任何已定密事项的内容或密点的事项不应当派生定密；是否定密应当依照保密事项范围"
            "判断，按原定密登记（registerSource）（D-14）。",
            ("D-14",),
        )
    if len(command.bases) > MAX_BASES:
        raise InvalidValue("bases", f"依据过多：每个事项最多 {MAX_BASES} 项。")
    _refuse_repeats([b.parent_id for b in command.bases], "bases.parentId")
    if item_id in {b.parent_id for b in command.bases}:
        raise RuleViolation(
            "ACYCLIC_LINEAGE", f"事项「{item_id}」不能以自身为派生依据。", ("D-3", "D-7")
        )
    proposed_period = (
        command.period.to_period(command.issued_on) if command.period is not None else None
    )
    consultation = (command.originator_consultation or "").strip() or None

    def work(tx: GraphWriter) -> Decided:
        organisation = check_decision_makers(
            tx, command.organisation_id, command.handler_id, official_id
        )
        require_handler(tx, actor, command.handler_id)
        person_org = _require_scope_members(tx, command.scope, None)
        parents = readable_items(tx, actor, [b.parent_id for b in command.bases])
        for parent in parents.values():
            if command.issued_on < parent.issued_on:
                raise InvalidValue(
                    "issuedOn",
                    f"制发日期 {command.issued_on.isoformat()} 早于依据「{parent.id}」的制发日期 "
                    f"{parent.issued_on.isoformat()}：派生事项产生于执行或者办理已定密事项之后（D-3）。",
                )
        contained = tx.contained_keypoints(parents)
        names = names_in(tx, keypoints=[k for ids in contained.values() for k in ids])
        bases = [
            _basis(tx, spec, parents[spec.parent_id], contained, names, redactor)
            for spec in command.bases
        ]
        rule_map = _require_scope_rules(tx, command.scope_rule_ids)
        if command.process_item_of is not None:
            readable_items(tx, actor, [command.process_item_of])
        person_org |= _person_orgs(tx, (b.parent.scope_limit for b in bases))
        requirement = rules.required_classification(
            bases,
            list(rule_map.values()),
            issued_on=command.issued_on,
            organisation=organisation,
            person_org=person_org,
        )
        chosen = rules.check_proposal(
            requirement,
            level=command.level,
            period=proposed_period,
            scope=command.scope,
            person_org=person_org,
            originator_consultation=consultation,
        )
        item = Item(
            id=item_id,
            kind=ItemKind.DERIVED,
            title=title,
            document_number=number,
            organisation_id=command.organisation_id,
            issued_on=command.issued_on,
            status=ItemStatus.CLASSIFIED if chosen else ItemStatus.NOT_CLASSIFIED,
            classification=chosen,
            scope=command.scope,
            scope_limit=requirement.scope_limit,
        )
        summary = requirement.explanation.summary
        if consultation and chosen is not None and chosen != requirement.classification:
            summary += (
                f"经征求原定密机关、单位意见确定为「{chosen.marking}」：{consultation}"
                "（D-9, D-17）。"
            )
        record = DecisionRecord(
            id=new_id("R"),
            item_id=item_id,
            kind=RecordKind.DERIVED,
            handler_id=command.handler_id,
            official_id=official_id,
            decided_on=command.issued_on,
            recorded_at=now(),
            status=item.status,
            classification=chosen,
            scope=command.scope,
            bases=_citations(bases, rule_map, command.issued_on),
            summary=summary,
            articles=tuple(dict.fromkeys(("D-11", *requirement.explanation.articles))),
        )
        tx.add_item(item)
        tx.add_derivations(
            [
                Derivation(item_id, b.parent.id, b.case, tuple(k.id for k in b.keypoints))
                for b in bases
            ]
        )
        tx.add_contained_keypoints(item_id, _involved_keypoints(bases, contained))
        tx.add_classified_under(item_id, rule_map)
        if command.process_item_of is not None:
            tx.add_process_item_of(item_id, command.process_item_of)
        tx.add_record(record)
        return Decided(item, record, requirement)

    return work


# Queries


def get_item(store: GraphStore, item_id: str) -> Item | None:
    return store.read(lambda tx: tx.items([item_id]).get(item_id))


@dataclass(frozen=True)
class Page:
    items: list[Item]
    has_next: bool


def find_items(store: GraphStore, query: ItemQuery) -> Page:
    """One page of items; `query.limit` is the page size, at most MAX_PAGE."""
    if not 1 <= query.limit <= MAX_PAGE:
        raise InvalidValue("first", f"每页条数应在 1 到 {MAX_PAGE} 之间。")
    # One more than the page tells whether another page follows.
    probe = replace(query, limit=query.limit + 1)
    found = store.read(lambda tx: tx.find_items(probe))
    return Page(found[: query.limit], len(found) > query.limit)


def count_items(store: GraphStore, query: ItemQuery) -> int:
    """How many items find_items pages through for `query`, counted by the store."""
    return store.read(lambda tx: tx.count_found_items(query))


def requirement_of(tx: GraphReader, item_id: str) -> rules.Requirement | None:
    """What the rules require of a derived item now, from its current bases; None for a source."""
    item = tx.items([item_id]).get(item_id)
    if item is None or item.kind is not ItemKind.DERIVED:
        return None
    edges = tx.parents([item_id])
    parents = tx.items(e.parent_id for e in edges)
    keypoint_map = tx.keypoints(k for e in edges for k in e.keypoint_ids)
    bases = [
        rules.Basis(parents[e.parent_id], e.case, tuple(keypoint_map[k] for k in e.keypoint_ids))
        for e in edges
    ]
    scope_rules = tx.scope_rules(tx.classified_under(item_id))
    person_org = _person_orgs(tx, [item.scope, *(b.parent.scope_limit for b in bases)])
    return rules.required_classification(
        bases,
        list(scope_rules.values()),
        issued_on=item.issued_on,
        organisation=tx.organisation(item.organisation_id),
        person_org=person_org,
    )


def get_lineage(
    store: GraphStore, item_id: str, direction: Direction, depth: int | None, actor: Actor
) -> Lineage:
    """The lineage of an item the actor may read, every node in it; what the actor may see
    of each is the reader's business (service.redaction)."""
    if depth is not None and depth < 1:
        raise InvalidValue("depth", "depth 应为正整数，或省略以取完整谱系。")

    def work(tx: GraphReader) -> Lineage:
        readable_items(tx, actor, [item_id])
        subgraph = lineage(item_id, direction, depth, parents=tx.parents, children=tx.children)
        citations = tuple(tx.citations(subgraph.depth))
        if citations:
            depths = dict(subgraph.depth)
            for citation in citations:
                if citation.cited_id not in depths:
                    depths[citation.cited_id] = depths[citation.item_id] - 1
                elif citation.item_id not in depths:
                    depths[citation.item_id] = depths[citation.cited_id] + 1
            subgraph = Subgraph(depths, subgraph.edges)
        items = tx.items(subgraph.depth)
        keypoint_ids = {k for e in subgraph.edges for k in e.keypoint_ids}
        keypoints = tx.keypoints(keypoint_ids) if keypoint_ids else {}
        owners = {k.item_id for k in keypoints.values()} - items.keys()
        names = Names({**items, **tx.items(owners)} if owners else items, keypoints)
        return Lineage(item_id, items, subgraph, names, citations)

    return store.read(work)


# Validation helpers


def _beyond_statutory(level: Level, years: int) -> RuleViolation:
    return RuleViolation(
        "STATUTORY_PERIOD",
        f"{level.label}级保密期限 {years} 年超出法定最长期限 {level.statutory_years} 年"
        "（X-11：绝密三十年、机密二十年、秘密十年）。",
        ("X-11",),
    )


def check_original_period(classification: Classification, issued_on: date) -> None:
    level, period = classification.level, classification.period
    if isinstance(period, Years) and period.years > level.statutory_years:
        raise _beyond_statutory(level, period.years)
    if isinstance(period, UntilDate):
        if period.until <= issued_on:
            raise InvalidValue("period.until", "解密时间应晚于制发日期。")
        if period.until > add_years(issued_on, level.statutory_years):
            raise RuleViolation(
                "STATUTORY_PERIOD",
                f"解密时间 {period.until.isoformat()} 超出{level.label}级法定最长保密期限 "
                f"{level.statutory_years} 年（X-11）。",
                ("X-11",),
            )


def check_keypoint_within(keypoint: Keypoint, item: Classification, issued_on: date) -> None:
    check_original_period(keypoint.classification, issued_on)
    if keypoint.classification.level.rank > item.level.rank:
        raise RuleViolation(
            "KEYPOINT_LEVEL",
            f"密点「{keypoint.title}」的密级（{keypoint.classification.level.label}）"
            f"高于事项密级（{item.level.label}）：事项密级应不低于其密点的最高密级（D-8, D-16）。",
            ("D-8", "D-16"),
        )
    if keypoint.classification.end_key > item.explicit().end_key:
        raise RuleViolation(
            "KEYPOINT_PERIOD",
            f"密点「{keypoint.title}」的保密期限（{keypoint.classification.marking}）"
            f"长于事项的保密期限（{item.marking}）（D-9, D-16）。",
            ("D-9", "D-16"),
        )


def _refuse_repeats(values: Sequence[str], field: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise InvalidValue(field, f"「{value}」重复出现。")
        seen.add(value)


def _require_scope_rules(tx: GraphReader, ids: Sequence[str]) -> dict[str, ScopeRule]:
    _refuse_repeats(ids, "scopeRuleIds")
    found = tx.scope_rules(ids)
    for id in ids:
        if id not in found:
            raise UnknownId("scope_rule", id)
    return {id: found[id] for id in ids}


def check_decision_makers(
    tx: GraphReader, organisation_id: str, handler_id: str, official_id: str
) -> Organisation:
    """The handler proposes and the classification official decides: two persons of the
    deciding organisation (D-6, D-11)."""
    organisation = tx.organisation(organisation_id)
    if organisation is None:
        raise UnknownId("organisation", organisation_id)
    persons = tx.persons([handler_id, official_id])
    for id in (handler_id, official_id):
        if id not in persons:
            raise UnknownId("person", id)
    if handler_id == official_id:
        raise RuleViolation(
            "SEPARATE_DECIDER",
            "承办人与定密责任人不能是同一人：承办人拟定，定密责任人审核决定（D-11）。",
            ("D-11",),
        )
    for id, role in ((handler_id, "承办人"), (official_id, "定密责任人")):
        if persons[id].organisation_id != organisation_id:
            raise RuleViolation(
                "DECIDER_ORGANISATION",
                f"{role}「{persons[id].name}」不属于{organisation.name}：定密由本机关、本单位的"
                "承办人拟定、定密责任人决定（D-6, D-11）。",
                ("D-6", "D-11"),
            )
    return organisation


def _require_scope_members(
    tx: GraphReader, scope: KnowledgeScope, limit: KnowledgeScope | None
) -> dict[str, str]:
    """Checks that every person and organisation named exists; returns person -> organisation."""
    persons = scope.persons | (limit.persons if limit else frozenset())
    organisations = scope.organisations | (limit.organisations if limit else frozenset())
    found_persons = tx.persons(persons)
    for id in sorted(persons):
        if id not in found_persons:
            raise UnknownId("person", id)
    found_orgs = tx.organisations(organisations)
    for id in sorted(organisations):
        if id not in found_orgs:
            raise UnknownId("organisation", id)
    return {p.id: p.organisation_id for p in found_persons.values()}


def _person_orgs(tx: GraphReader, scopes: Iterable[KnowledgeScope | None]) -> dict[str, str]:
    ids = {p for scope in scopes if scope is not None for p in scope.persons}
    return {p.id: p.organisation_id for p in tx.persons(ids).values()}


def _basis(
    tx: GraphReader,
    spec: BasisSpec,
    parent: Item,
    contained: dict[str, list[str]],
    names: Names,
    redactor: Redactor | None,
) -> rules.Basis:
    _refuse_repeats(spec.keypoint_ids, "bases.keypointIds")
    if spec.case is BasisCase.IDENTICAL and spec.keypoint_ids:
        raise InvalidValue(
            "bases.keypointIds",
            "与已定密事项完全一致的派生事项包含其全部密点，不必另列密点（D-7(1)）。",
        )
    if spec.case is BasisCase.INVOLVES_KEYPOINT and not spec.keypoint_ids:
        raise RuleViolation(
            "KEYPOINT_REQUIRED",
            f"依据「{parent.id}」的情形为涉及密点，须列出所涉及的密点（D-7(2), D-8）。",
            ("D-7", "D-8"),
        )
    # The parent's keypoints by the ids the actor sees them by.
    seen = {
        k if redactor is None else redactor.keypoint_ref(k, names): names.keypoints[k]
        for k in contained.get(parent.id, ())
        if k in names.keypoints
    }
    involved = []
    for given in spec.keypoint_ids:
        keypoint = seen.get(given)
        if keypoint is None:
            known = tx.keypoints([given]).get(given)
            owner = tx.items([known.item_id]).get(known.item_id) if known else None
            if owner is None or not (redactor is None or redactor.readable(owner)):
                # Not there, or a keypoint of an item the actor may not read: alike (D-10).
                raise NotVisible("keypoint", given) if redactor else UnknownId("keypoint", given)
            raise RuleViolation(
                "KEYPOINT_OF_PARENT",
                f"密点「{given}」不是依据「{parent.id}」所含的密点：派生事项只能涉及"
                "其所依据事项的密点（D-7(2), D-8）。",
                ("D-7", "D-8"),
            )
        involved.append(keypoint)
    return rules.Basis(parent, spec.case, tuple(involved))


def _involved_keypoints(bases: Sequence[rules.Basis], contained: dict[str, list[str]]) -> list[str]:
    """CONTAINS_KEYPOINT of a derived item: the keypoints each basis names, or where a basis
    names none (it takes the parent as a whole), all that the parent contains."""
    out: dict[str, None] = {}
    for basis in bases:
        if basis.keypoints:
            out.update(dict.fromkeys(k.id for k in basis.keypoints))
        else:
            out.update(dict.fromkeys(contained.get(basis.parent.id, ())))
    return list(out)


def _citations(
    bases: Sequence[rules.Basis], rule_map: dict[str, ScopeRule], issued_on: date
) -> tuple[BasisCitation, ...]:
    """The 定密依据 of the record: each basis document with its number, level and period, the
    keypoints involved, and the scope rules (D-11)."""
    out: list[BasisCitation] = []
    for basis in bases:
        parent = basis.parent
        # A basis that is not (or no longer) a state secret is cited with its status, so that
        # the record says what it was (D-11), not a blank.
        out.append(
            BasisCitation(
                "ITEM",
                parent.id,
                parent.title,
                parent.document_number,
                parent.marking or parent.status.label,
            )
        )
        out.extend(
            BasisCitation(
                "KEYPOINT", k.id, k.title, parent.document_number, k.classification.marking
            )
            for k in basis.keypoints
        )
    out.extend(
        BasisCitation(
            "SCOPE_RULE",
            rule.id,
            rule.title,
            rule.document,
            rule.classification_from(issued_on).marking,
        )
        for rule in rule_map.values()
    )
    return tuple(out)
