"""GraphQL types, mapped explicitly from graph values. Nothing here is a graph value itself, so
the public contract changes only when this module does."""

from __future__ import annotations

import base64
import enum
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import date, datetime
from typing import overload

import numpy as np
import numpy.typing as npt
import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from graph import model, propagation, rules
from graph.errors import InvalidValue
from graph.lineage import distinct_rows
from graph.phrase import Names
from service import workbook
from service.api.context import Context
from service.api.cursors import decode_place, encode_cursor
from service.impact import (
    ImpactReport,
    StaleAnalysis,
    Tally,
    read_impacts,
    tally_counted,
    unread,
)
from service.impact_sheet import impact_table
from service.redaction import Redactor
from service.usecases import MAX_PAGE, requirement_of


@strawberry.enum(description="密级, from highest to lowest.")
class Level(enum.Enum):
    TOP_SECRET = "TOP_SECRET"
    SECRET = "SECRET"
    CONFIDENTIAL = "CONFIDENTIAL"


@strawberry.enum(
    description="保密期限 forms: years, a date, a condition, 长期, or none marked (X-11)."
)
class PeriodKind(enum.Enum):
    YEARS = "YEARS"
    UNTIL_DATE = "UNTIL_DATE"
    UNTIL_CONDITION = "UNTIL_CONDITION"
    LONG_TERM = "LONG_TERM"
    UNMARKED = "UNMARKED"


@strawberry.enum
class ItemKind(enum.Enum):
    SOURCE = "SOURCE"
    DERIVED = "DERIVED"


@strawberry.enum
class ItemStatus(enum.Enum):
    CLASSIFIED = "CLASSIFIED"
    DECLASSIFIED_WORK_SECRET = "DECLASSIFIED_WORK_SECRET"
    DECLASSIFIED_PUBLIC = "DECLASSIFIED_PUBLIC"
    NOT_CLASSIFIED = "NOT_CLASSIFIED"


@strawberry.enum(description="The four cases of D-7.")
class BasisCase(enum.Enum):
    IDENTICAL = "IDENTICAL"
    INVOLVES_KEYPOINT = "INVOLVES_KEYPOINT"
    SUMMARY = "SUMMARY"
    ORIGINATOR_REQUIREMENT = "ORIGINATOR_REQUIREMENT"


@strawberry.enum
class Direction(enum.Enum):
    UPSTREAM = "UPSTREAM"
    DOWNSTREAM = "DOWNSTREAM"
    BOTH = "BOTH"


@strawberry.enum(description="What a contribution to a classification comes from.")
class Ground(enum.Enum):
    ITEM = "ITEM"
    KEYPOINT = "KEYPOINT"
    SCOPE_RULE = "SCOPE_RULE"


@strawberry.enum
class RecordKind(enum.Enum):
    ORIGINAL = "ORIGINAL"
    DERIVED = "DERIVED"
    CHANGE = "CHANGE"
    DECLASSIFICATION = "DECLASSIFICATION"
    EXPIRY = "EXPIRY"
    REVIEW = "REVIEW"


@strawberry.type
class Period:
    kind: PeriodKind
    years: int | None
    start: date | None
    until: date | None
    condition: str | None
    text: str = strawberry.field(description="As in the marking: 10年, 长期, 2030年12月31日.")


@strawberry.type
class Classification:
    level: Level
    level_label: str = strawberry.field(description="绝密, 机密 or 秘密.")
    period: Period
    marking: str = strawberry.field(description="The standard marking, e.g. 机密★10年.")
    expiry: date | None = strawberry.field(
        description="When the period ends; null for 长期 and for a condition."
    )


@strawberry.type(description="知悉范围 (D-10).")
class KnowledgeScope:
    persons: list[strawberry.ID]
    organisations: list[strawberry.ID]


@strawberry.type
class Organisation:
    id: strawberry.ID
    name: str
    authority: Level | None = strawberry.field(
        description="Original classification authority; derived classification ignores it (D-5)."
    )
    superior_id: strawberry.ID | None = strawberry.field(
        description="上级机关、单位: may declassify what it issued or its subordinates did (X-9)."
    )
    successor_id: strawberry.ID | None = strawberry.field(
        description="Set when it was dissolved or merged: the successor decides in its place (X-7)."
    )


@strawberry.type
class Person:
    id: strawberry.ID
    name: str
    organisation_id: strawberry.ID


@strawberry.type(
    description="密点 (D-4): defined by a source, with its own level and period. A keypoint is "
    "content of its source: a reader who may not read the source sees it as a placeholder, "
    "with opaque ids and its title withheld, and its classification (D-10)."
)
class Keypoint:
    id: strawberry.ID = strawberry.field(description="Its id, or an opaque one (`redacted`).")
    item_id: strawberry.ID = strawberry.field(
        description="The source that defines it; an opaque id for a placeholder."
    )
    title: str
    classification: Classification
    declassified: bool
    redacted: bool = strawberry.field(
        description="A placeholder: the reader may not read the source that defines it."
    )


@strawberry.type(description="保密事项范围 entry (D-14, D-15).")
class ScopeRule:
    id: strawberry.ID
    title: str
    document: str
    level: Level
    years: int | None
    long_term: bool
    issuer: str


@strawberry.type(description="A DERIVED_FROM edge: the derived item, its basis, the D-7 case.")
class Basis:
    child_id: strawberry.ID
    parent_id: strawberry.ID
    case: BasisCase
    case_label: str
    keypoint_ids: list[strawberry.ID]


@strawberry.type
class Contribution:
    ground: Ground
    ref_id: strawberry.ID = strawberry.field(
        description="The basis, keypoint or rule; an opaque id for a basis the reader may not "
        "know (D-10)."
    )
    title: str
    via_item_id: strawberry.ID | None
    case: BasisCase | None
    classification: Classification
    governs_level: bool
    governs_period: bool
    articles: list[str]
    redacted: bool = strawberry.field(
        description="A basis outside the reader's knowledge scope: its title is withheld."
    )


@strawberry.type(description="What the rules require now, and why.")
class Explanation:
    required: Classification | None = strawberry.field(
        description="The required classification; null: must not be derived-classified (D-14)."
    )
    matches_current: bool
    summary: str
    articles: list[str]
    contributions: list[Contribution]
    notes: list[str]
    scope_limit: KnowledgeScope | None = strawberry.field(
        description="The widest knowledge scope the originators allow (D-10)."
    )


@strawberry.type(description="定密依据 in a written record (D-11).")
class BasisCitation:
    kind: Ground
    ref_id: strawberry.ID
    title: str
    document_number: str
    marking: str
    redacted: bool = strawberry.field(
        description="A basis outside the reader's knowledge scope: title and number withheld."
    )


@strawberry.type(
    description="The written record of a decision (D-11, D-13, X-17); an expiry (X-11) has "
    "neither handler nor official."
)
class Record:
    id: strawberry.ID
    kind: RecordKind
    handler_id: strawberry.ID | None
    official_id: strawberry.ID | None
    decided_on: date
    effective_on: date = strawberry.field(
        description="From this date the item was as recorded (history, item(asOf))."
    )
    recorded_at: datetime
    status: ItemStatus
    classification: Classification | None
    scope: KnowledgeScope
    bases: list[BasisCitation]
    summary: str
    articles: list[str]
    reasoning: str | None = strawberry.field(description="依据和理由 (X-17).")
    consultation: str | None = strawberry.field(description="论证或征求意见情况 (X-20, X-21).")


@strawberry.type(description="A source or derived item (事项).")
class Item:
    id: strawberry.ID
    kind: ItemKind
    title: str
    document_number: str = strawberry.field(description="文号.")
    organisation_id: strawberry.ID = strawberry.field(description="The originating organisation.")
    issued_on: date = strawberry.field(description="制发日期.")
    status: ItemStatus
    status_label: str
    classification: Classification | None = strawberry.field(
        description="Kept after declassification, so the old marking stays visible (X-23)."
    )
    marking: str | None
    expiry: date | None
    scope: KnowledgeScope
    scope_limit: KnowledgeScope | None
    joint_organisation_ids: list[strawberry.ID] = strawberry.field(
        description="Organisations that classified it jointly with the lead organisation (X-8)."
    )
    version: int = strawberry.field(
        description="1 when registered, one more with each decision on it (a change, "
        "declassification, notice applied, expiry or review). Give it back as expectedVersion "
        "so that a decision is not made on a state someone else has changed meanwhile."
    )
    classification_value: strawberry.Private[model.Classification | None]

    @strawberry.field(description="The keypoints it defines (a source) or involves (derived).")
    async def keypoints(self, info: Info[Context, None]) -> list[Keypoint]:
        found = await info.context.keypoints_of.load(str(self.id))
        # A derived item involves its sources' keypoints, but a source that defines them may
        # lie outside the reader's knowledge scope (D-10): those are placeholders.
        sources = await info.context.items.load_many([k.item_id for k in found])
        redactor = info.context.redactor
        seen = [redactor.keypoint(k, source) for k, source in zip(found, sources, strict=True)]
        return sorted((keypoint(k, redacted=r) for k, r in seen), key=lambda k: str(k.id))

    @strawberry.field(description="Its DERIVED_FROM edges: the items it was derived from.")
    async def bases(self, info: Info[Context, None]) -> list[Basis]:
        context = info.context
        edges = await context.bases_of.load(str(self.id))
        names = await context.names(
            items=[e.parent_id for e in edges], keypoints=[k for e in edges for k in e.keypoint_ids]
        )
        redactor = context.redactor
        seen = [
            basis(
                edge,
                parent_id=redactor.ref(edge.parent_id, names.items.get(edge.parent_id)),
                keypoint_ids=[redactor.keypoint_ref(k, names) for k in edge.keypoint_ids],
            )
            for edge in edges
        ]
        return sorted(seen, key=lambda b: str(b.parent_id))

    @strawberry.field(description="CLASSIFIED_UNDER: scope-of-secrets rules applied (D-15).")
    async def scope_rules(self, info: Info[Context, None]) -> list[ScopeRule]:
        item_id = str(self.id)
        found = await info.context.read(lambda tx: tx.scope_rules(tx.classified_under(item_id)))
        return [scope_rule(r) for r in found.values()]

    @strawberry.field(
        description="For a derived item: the classification its bases require now, and why."
    )
    async def explanation(self, info: Info[Context, None]) -> Explanation | None:
        item_id = str(self.id)
        requirement = await info.context.read(lambda tx: requirement_of(tx, item_id))
        if requirement is None:
            return None
        return await explained(info.context, requirement, self.classification_value)

    @strawberry.field(description="Its written records (D-11), oldest first.")
    async def records(self, info: Info[Context, None]) -> list[Record]:
        item_id = str(self.id)
        found = await info.context.read(lambda tx: tx.records(item_id))
        return await records(info.context, found)

    @strawberry.field(description="PROCESS_ITEM_OF: the main item this draft was formed for.")
    async def process_item_of(self, info: Info[Context, None]) -> strawberry.ID | None:
        item_id = str(self.id)
        main = await info.context.read(lambda tx: tx.main_item_of(item_id))
        if main is None:
            return None
        return strawberry.ID(info.context.redactor.ref(main, await info.context.items.load(main)))

    @strawberry.field(description="Process items (过程稿) formed for this item (X-16, X-22).")
    async def process_items(self, info: Info[Context, None]) -> list[strawberry.ID]:
        item_id = str(self.id)
        found = await info.context.read(lambda tx: tx.process_items_of(item_id))
        items = await info.context.items.load_many(found)
        redactor = info.context.redactor
        # By the ids the reader sees: a placeholder's place says nothing of its id.
        return sorted(strawberry.ID(redactor.ref(i, v)) for i, v in zip(found, items, strict=True))


async def explained(
    context: Context, value: rules.Requirement, current: model.Classification | None
) -> Explanation:
    """An explanation as the reader may see it (`explanation`), with what it names loaded."""
    found = value.explanation
    names = await context.names(
        [found.summary, *found.notes, *(c.title for c in found.contributions)],
        items=[c.via_item_id or c.ref_id for c in found.contributions if c.ground is _ITEM]
        + [c.via_item_id for c in found.contributions if c.via_item_id],
        keypoints=[c.ref_id for c in found.contributions if c.ground is _KEYPOINT],
    )
    return explanation(value, current, context.redactor, names)


async def records(context: Context, values: list[model.DecisionRecord]) -> list[Record]:
    """Written records as the reader may see them (`record`), with what they name loaded."""
    names = await context.names(
        [r.summary for r in values], citations=[c for r in values for c in r.bases]
    )
    return [record(r, context.redactor, names) for r in values]


_ITEM, _KEYPOINT = rules.Ground.ITEM, rules.Ground.KEYPOINT


@strawberry.type
class LineageNode:
    id: strawberry.ID = strawberry.field(
        description="The item's id, or an opaque one for a placeholder."
    )
    depth: int = strawberry.field(
        description="Steps from the root: negative upstream (sources), positive downstream."
    )
    redacted: bool = strawberry.field(
        description="A placeholder: the item lies outside the reader's knowledge scope (D-10); "
        "only its place in the graph is shown."
    )
    item: Item | None = strawberry.field(description="Null for a placeholder.")


@strawberry.type
class Lineage:
    root: strawberry.ID
    nodes: list[LineageNode]
    edges: list[Basis]
    citations: list[LineageCitation] = strawberry.field(
        default_factory=list,
        description="CITES edges (D-14): an item cited by another that takes none of its "
        "content, so no basis: never part of the rules, the fan-out or impact analysis. An item "
        "at the far end outside the lineage is among `nodes`.",
    )


@strawberry.type(description="An item cited by another, not a basis of it (D-14).")
class LineageCitation:
    item_id: strawberry.ID = strawberry.field(description="The citing item.")
    cited_id: strawberry.ID
    note: str | None = strawberry.field(
        description="What was cited and why; shown only to a reader of both items (D-10)."
    )


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


# How many a connection holds in all: counted only when a client asks for `totalCount`,
# by the store where the list can be large (a COUNT, never every row read).
Counter = Callable[[], Awaitable[int]]

TOTAL_COUNT = (
    "How many there are in all, on every page: the same filter, whatever `first` and `after`."
)


def counted(value: int) -> Counter:
    """The counter of a list whose size is known already."""

    async def count() -> int:
        return value

    return count


@strawberry.type
class ItemEdge:
    cursor: str
    node: Item


@strawberry.type
class ItemConnection:
    edges: list[ItemEdge]
    page_info: PageInfo
    counter: strawberry.Private[Counter]

    @strawberry.field(description=TOTAL_COUNT)
    async def total_count(self) -> int:
        return await self.counter()


# Mapping from graph values


def period(value: model.Period) -> Period:
    return Period(
        kind=PeriodKind(model.period_kind(value).value),
        years=value.years if isinstance(value, model.Years) else None,
        start=value.start if isinstance(value, model.Years | model.Unmarked) else None,
        until=value.until if isinstance(value, model.UntilDate) else None,
        condition=value.condition if isinstance(value, model.UntilCondition) else None,
        text=model.period_text(value),
    )


def classification(value: model.Classification) -> Classification:
    return Classification(
        level=Level(value.level.value),
        level_label=value.level.label,
        period=period(value.period),
        marking=value.marking,
        expiry=value.expiry,
    )


def knowledge_scope(value: model.KnowledgeScope) -> KnowledgeScope:
    return KnowledgeScope(
        persons=[strawberry.ID(p) for p in sorted(value.persons)],
        organisations=[strawberry.ID(o) for o in sorted(value.organisations)],
    )


def organisation(value: model.Organisation) -> Organisation:
    return Organisation(
        id=strawberry.ID(value.id),
        name=value.name,
        authority=Level(value.authority.value) if value.authority else None,
        superior_id=strawberry.ID(value.superior_id) if value.superior_id else None,
        successor_id=strawberry.ID(value.successor_id) if value.successor_id else None,
    )


def person(value: model.Person) -> Person:
    return Person(
        id=strawberry.ID(value.id),
        name=value.name,
        organisation_id=strawberry.ID(value.organisation_id),
    )


def keypoint(value: model.Keypoint, *, redacted: bool = False) -> Keypoint:
    """A keypoint as the redactor let it through (service.redaction.Redactor.keypoint)."""
    return Keypoint(
        id=strawberry.ID(value.id),
        item_id=strawberry.ID(value.item_id),
        title=value.title,
        classification=classification(value.classification),
        declassified=value.declassified,
        redacted=redacted,
    )


def scope_rule(value: model.ScopeRule) -> ScopeRule:
    return ScopeRule(
        id=strawberry.ID(value.id),
        title=value.title,
        document=value.document,
        level=Level(value.level.value),
        years=value.years,
        long_term=value.long_term,
        issuer=value.issuer,
    )


def basis(
    value: model.Derivation,
    *,
    child_id: str | None = None,
    parent_id: str | None = None,
    keypoint_ids: list[str] | None = None,
) -> Basis:
    """An edge; the ids given replace ids the reader may not know."""
    return Basis(
        child_id=strawberry.ID(child_id or value.child_id),
        parent_id=strawberry.ID(parent_id or value.parent_id),
        case=BasisCase(value.case.value),
        case_label=value.case.label,
        keypoint_ids=[
            strawberry.ID(k) for k in (value.keypoint_ids if keypoint_ids is None else keypoint_ids)
        ],
    )


def item(value: model.Item) -> Item:
    return Item(
        id=strawberry.ID(value.id),
        kind=ItemKind(value.kind.value),
        title=value.title,
        document_number=value.document_number,
        organisation_id=strawberry.ID(value.organisation_id),
        issued_on=value.issued_on,
        status=ItemStatus(value.status.value),
        status_label=value.status.label,
        classification=classification(value.classification) if value.classification else None,
        marking=value.marking,
        expiry=value.classification.expiry if value.classification else None,
        scope=knowledge_scope(value.scope),
        scope_limit=knowledge_scope(value.scope_limit) if value.scope_limit else None,
        joint_organisation_ids=[strawberry.ID(o) for o in sorted(value.joint_organisation_ids)],
        version=value.version,
        classification_value=value.classification,
    )


def explanation(
    value: rules.Requirement,
    current: model.Classification | None,
    redactor: Redactor,
    names: Names,
) -> Explanation:
    """The explanation as the reader may see it: a basis or keypoint it may not know keeps its
    classification (it explains the item's own) under an opaque id, its title withheld, and
    the texts are rendered for the reader; `names` holds what they name."""
    required = value.classification

    def ref(id: str) -> strawberry.ID:
        return strawberry.ID(redactor.ref(id, names.items.get(id)))

    contributions = []
    for c in value.explanation.contributions:
        match c.ground:
            case rules.Ground.ITEM:
                ref_id, withheld = ref(c.ref_id), not redactor.readable(names.items.get(c.ref_id))
            case rules.Ground.KEYPOINT:
                ref_id = strawberry.ID(redactor.keypoint_ref(c.ref_id, names))
                withheld = not redactor.readable(names.owner(c.ref_id))
            case rules.Ground.SCOPE_RULE:
                ref_id, withheld = strawberry.ID(c.ref_id), False
        contributions.append(
            Contribution(
                ground=Ground(c.ground.value),
                ref_id=ref_id,
                title=redactor.render(c.title, names),
                via_item_id=ref(c.via_item_id) if c.via_item_id else None,
                case=BasisCase(c.case.value) if c.case else None,
                classification=classification(c.classification),
                governs_level=c.governs_level,
                governs_period=c.governs_period,
                articles=list(c.articles),
                redacted=withheld,
            )
        )
    return Explanation(
        required=classification(required) if required else None,
        matches_current=required == current,
        summary=redactor.render(value.explanation.summary, names),
        articles=list(value.explanation.articles),
        contributions=contributions,
        notes=[redactor.render(n, names) for n in value.explanation.notes],
        scope_limit=knowledge_scope(value.scope_limit) if value.scope_limit else None,
    )


def record(value: model.DecisionRecord, redactor: Redactor, names: Names) -> Record:
    """A written record as the reader may see it: a basis document or keypoint it may not
    know is cited by its marking only (Redactor.citations); `names` holds what it names."""
    return Record(
        id=strawberry.ID(value.id),
        kind=RecordKind(value.kind.value),
        handler_id=strawberry.ID(value.handler_id) if value.handler_id else None,
        official_id=strawberry.ID(value.official_id) if value.official_id else None,
        decided_on=value.decided_on,
        effective_on=value.effective,
        recorded_at=value.recorded_at,
        status=ItemStatus(value.status.value),
        classification=classification(value.classification) if value.classification else None,
        scope=knowledge_scope(value.scope),
        bases=[
            BasisCitation(
                kind=Ground(c.kind),
                ref_id=strawberry.ID(c.ref_id),
                title=c.title,
                document_number=c.document_number,
                marking=c.marking,
                redacted=withheld,
            )
            for c, withheld in redactor.citations(value.bases, names)
        ],
        summary=redactor.render(value.summary, names),
        articles=list(value.articles),
        reasoning=value.reasoning,
        consultation=value.consultation,
    )


@strawberry.enum(description="What a change notice asks of a descendant's holder.")
class ImpactAction(enum.Enum):
    CHANGE_LEVEL = "CHANGE_LEVEL"
    CHANGE_PERIOD = "CHANGE_PERIOD"
    CHANGE_SCOPE = "CHANGE_SCOPE"
    DECLASSIFY = "DECLASSIFY"
    REVIEW = "REVIEW"


@strawberry.type(
    description="One descendant that would have to act, and how; for a descendant outside the "
    "reader's knowledge scope, a placeholder that tells only that it is there (D-10)."
)
class ImpactEntry:
    id: strawberry.ID = strawberry.field(
        description="The descendant's id, or an opaque one for a placeholder."
    )
    redacted: bool
    item: Item | None = strawberry.field(
        description="The descendant as it is now; null for a placeholder."
    )
    actions: list[ImpactAction]
    action_labels: list[str]
    classification_after: Classification | None = strawberry.field(
        description="Its classification once it has acted; null for a placeholder, and for an "
        "item left without one."
    )
    after: Classification | None = strawberry.field(
        deprecation_reason="Use `classificationAfter`: `after` is an Item elsewhere "
        "(Notice.after, Change.after)."
    )
    status_after: ItemStatus | None = strawberry.field(description="Null for a placeholder.")
    marking_after: str | None
    path: list[strawberry.ID] = strawberry.field(
        description="A lineage path from the changed source to this item."
    )
    articles: list[str]
    summary: str | None
    kept_bases: list[strawberry.ID] = strawberry.field(
        description="Bases that stay classified: the item is downgraded or kept, not declassified."
    )


@strawberry.type
class ImpactEntryEdge:
    cursor: str
    node: ImpactEntry


@strawberry.type
class ImpactEntryConnection:
    edges: list[ImpactEntryEdge]
    page_info: PageInfo
    total_count: int = strawberry.field(description=TOTAL_COUNT)


@strawberry.type(
    description="How many descendants held by one organisation would have to act, and how: "
    "counts over those the reader may know of, placeholders included (`hidden` of them), "
    "never which ones (D-10). An item with several actions counts in each."
)
class ImpactTally:
    organisation_id: strawberry.ID
    organisation_name: str
    total: int
    hidden: int = strawberry.field(description="Of `total`, outside the reader's scope.")
    to_declassify: int
    to_change: int = strawberry.field(description="Level, period or knowledge scope.")
    to_review: int


@strawberry.type(
    description="A dry run of a decision: nothing is written. From impactAnalysis, "
    "changeImpact and declassifyImpact, about a source and its descendants; from "
    "applyNoticeImpact, about the notice's item and what applying passes on (D-13)."
)
class ImpactAnalysis:
    item: Item = strawberry.field(description="The item decided on, as it is now.")
    item_after: Item = strawberry.field(
        description="The item as the decision would leave it: level, period, status, "
        "knowledge scope and scope limit."
    )
    classification_after: Classification | None = strawberry.field(
        description="The source's classification once the change is made, as its "
        "`Item.classification` would read."
    )
    proposed: Classification | None = strawberry.field(
        deprecation_reason="Use `classificationAfter`, the name it has on ImpactEntry and Notice."
    )
    status_after: ItemStatus
    declassified_keypoints: list[strawberry.ID]
    keypoints_after: list[Keypoint] = strawberry.field(
        description="The source's keypoints the decision changes or declassifies, as they "
        "would be (D-16, X-14)."
    )
    total: int = strawberry.field(
        description="How many descendants and process items would have to act, of those the "
        "reader may know of (placeholders included; none left out by redaction)."
    )
    to_declassify: int = strawberry.field(description="Of those the reader may read.")
    to_change: int
    to_review: int
    redacted: int = strawberry.field(
        description="How many of `total` are placeholders for descendants the reader may not "
        "read (D-10)."
    )
    all_to_declassify: int = strawberry.field(
        description="Of `total`, placeholders included: how many would be declassified. "
        "`toDeclassify` counts only those the reader may read; beside `redacted`, this says "
        "what the decision makes the holders of the others do (counts, nothing of any item)."
    )
    all_to_change: int = strawberry.field(
        description="Of `total`, placeholders included: how many would change level, period "
        "or knowledge scope."
    )
    all_to_review: int = strawberry.field(
        description="Of `total`, placeholders included: how many would be reviewed (X-16, X-22)."
    )
    report: strawberry.Private[ImpactReport]
    tallies: strawberry.Private[list[Tally]]
    # The entries shown: position in the report, item id, and whether the reader may read it.
    shown: strawberry.Private[Sequence[tuple[int, str, bool]]]
    redactor: strawberry.Private[Redactor]

    @strawberry.field(
        description="The descendants that would have to act, parents before children: `first` "
        "of them (at most 500) after skipping `offset`. The same graph gives the same order, "
        "so a client pages through a large analysis (see `total`) with offset += first.",
        deprecation_reason="Use `entries(first, after)`, a connection as every list is.",
    )
    async def impacts(
        self, info: Info[Context, None], first: int = 100, offset: int = 0
    ) -> list[ImpactEntry]:
        if not 1 <= first <= MAX_PAGE or offset < 0:
            raise GraphQLError(f"每页条数（first）应在 1 到 {MAX_PAGE} 之间，offset 不能为负数。")
        return await self._entries(info, offset, first)

    @strawberry.field(
        description="The descendants that would have to act, parents before children, a page "
        "of `first` (at most 500) after the cursor `after`; the same graph gives the same "
        "order. `totalCount` equals `total`."
    )
    async def entries(
        self, info: Info[Context, None], first: int = 50, after: str | None = None
    ) -> ImpactEntryConnection:
        if not 1 <= first <= MAX_PAGE:
            raise GraphQLError(f"每页条数（first）应在 1 到 {MAX_PAGE} 之间。")
        # A cursor is a place in the analysis's order: it means the same in a later analysis
        # of the same graph, as the deprecated `offset` did.
        try:
            start = decode_place(after, "impact") + 1 if after is not None else 0
        except InvalidValue as error:
            # A field of an answer, not a root: its problem is an error of the request.
            raise GraphQLError(error.message, extensions={"field": error.field}) from error
        found = await self._entries(info, start, first)
        cursors = [encode_cursor(str(start + n), "impact") for n in range(len(found))]
        return ImpactEntryConnection(
            edges=[ImpactEntryEdge(cursor=c, node=e) for c, e in zip(cursors, found, strict=True)],
            page_info=PageInfo(
                has_next_page=start + len(found) < len(self.shown),
                end_cursor=cursors[-1] if cursors else None,
            ),
            total_count=len(self.shown),
        )

    async def _entries(
        self, info: Info[Context, None], offset: int, first: int
    ) -> list[ImpactEntry]:
        impacts = self.report.impacts
        page = self.shown[offset : offset + first]
        await self._read(info, [position for position, _, readable in page if readable])
        read = [impacts[position] for position, _, readable in page if readable]
        names = await info.context.names(
            [i.explanation.summary for i in read if i.explanation is not None],
            items=[r for i in read for r in (*i.path, *i.kept_bases)],
        )
        out = []
        for position, item_id, readable in page:
            if readable:
                out.append(impact_entry(impacts[position], self.redactor, names))
            else:
                out.append(placeholder_entry(item_id, self.redactor))
        return out

    async def _read(self, info: Info[Context, None], positions: list[int]) -> None:
        """Reads, in one transaction, the items the impacts at `positions` need that the
        analysis has not read (service.impact.read_impacts): refused once they have changed."""
        impacts = self.report.impacts
        if not unread(impacts, positions):
            return
        try:
            await info.context.read(lambda tx: read_impacts(tx, impacts, positions))
        except StaleAnalysis as error:
            # A field of an answer, not a root: its problem is an error of the request.
            raise GraphQLError(error.message, extensions={"code": "STALE_ANALYSIS"}) from error

    @strawberry.field(
        description="The whole impact list as an XLSX workbook, base64-encoded: a row for each "
        "descendant of `total`, in the order of `entries`; a placeholder's row holds its id "
        "and nothing more (D-10)."
    )
    async def xlsx(self, info: Info[Context, None]) -> str:
        impacts = self.report.impacts
        await self._read(info, [position for position, _, readable in self.shown if readable])
        read = [impacts[position] for position, _, readable in self.shown if readable]
        names = await info.context.names(
            [i.explanation.summary for i in read if i.explanation is not None],
            items=[r for i in read for r in (*i.path, *i.kept_bases)],
        )
        table = impact_table(impacts, self.shown, self.redactor, names)
        return base64.b64encode(workbook.write([table])).decode("ascii")

    @strawberry.field(
        description="The counts of `total` per holding organisation (who would receive the "
        "notices), by organisation id. An organisation is registered openly in this service "
        "(`organisation(id)` names any), not content of an item: its name is shown, and the "
        "counts say nothing of which item."
    )
    async def by_organisation(self, info: Info[Context, None]) -> list[ImpactTally]:
        ids = [t.organisation_id for t in self.tallies]
        named = await info.context.read(lambda tx: tx.organisations(ids))
        return [
            ImpactTally(
                organisation_id=strawberry.ID(t.organisation_id),
                organisation_name=o.name if (o := named.get(t.organisation_id)) else "",
                total=t.total,
                hidden=t.hidden,
                to_declassify=t.to_declassify,
                to_change=t.to_change,
                to_review=t.to_review,
            )
            for t in self.tallies
        ]


def placeholder_entry(item_id: str, redactor: Redactor) -> ImpactEntry:
    return ImpactEntry(
        id=strawberry.ID(redactor.opaque(item_id)),
        redacted=True,
        item=None,
        actions=[],
        action_labels=[],
        classification_after=None,
        after=None,
        status_after=None,
        marking_after=None,
        path=[],
        articles=[],
        summary=None,
        kept_bases=[],
    )


def impact_entry(value: propagation.Impact, redactor: Redactor, names: Names) -> ImpactEntry:
    """A descendant the reader may read; what it names that the reader may not is opaque."""
    after = value.after

    def ref(id: str) -> strawberry.ID:
        return strawberry.ID(redactor.ref(id, names.items.get(id)))

    summary = value.explanation.summary if value.explanation else None
    return ImpactEntry(
        id=strawberry.ID(value.item_id),
        redacted=False,
        item=item(redactor.show(value.before)),
        actions=[ImpactAction(a.value) for a in value.actions],
        action_labels=[a.label for a in value.actions],
        classification_after=classification(after.classification) if after.classification else None,
        after=classification(after.classification) if after.classification else None,
        status_after=ItemStatus(after.status.value),
        marking_after=after.marking,
        path=[ref(p) for p in value.path],
        articles=list(value.articles),
        summary=redactor.render(summary, names) if summary is not None else None,
        kept_bases=[ref(b) for b in value.kept_bases],
    )


def impact_analysis(report: ImpactReport, redactor: Redactor) -> ImpactAnalysis:
    """The analysis as the reader may see it: counts by action over what it may read; the
    total, and counts by action in all and per holding organisation, over what it may know of
    (module service.redaction). Worked out over the impacts' columns (ImpactList.table):
    what the reader may read and who holds an item once per group of equal values, counts
    and order in arrays, so that 100,000 descendants cost no Python step each."""
    impacts = report.impacts
    table = impacts.table()
    count = len(table.ids)
    holders: dict[str, int] = {}
    group_readable = np.array([redactor.readable(e) for e in table.examples], dtype=bool)
    group_holder = np.array(
        [holders.setdefault(e.organisation_id, len(holders)) for e in table.examples],
        dtype=np.int64,
    )
    readable = np.zeros(count, dtype=bool)
    holder = np.zeros(count, dtype=np.int64)
    grouped = table.groups >= 0
    readable[grouped] = group_readable[table.groups[grouped]]
    holder[grouped] = group_holder[table.groups[grouped]]
    for position in np.flatnonzero(~grouped).tolist():
        known = impacts.known(table.ids[position])
        readable[position] = redactor.readable(known)
        holder[position] = holders.setdefault(_holder(known), len(holders))
    # Within a layer, by the ids the reader sees: a placeholder's place says nothing of the
    # id it stands for.
    if table.by_id and readable.all():
        order = np.argsort(table.layers, kind="stable")
    else:
        seen = readable.tolist()
        keys = [i if r else redactor.opaque(i) for i, r in zip(table.ids, seen, strict=True)]
        order = np.lexsort((np.array(keys, dtype=str), table.layers))
    if not redactor.placeholders:
        order = order[readable[order]]
    kinds = [set(k) for k in table.kinds]
    declassify = propagation.Action.DECLASSIFY
    review = propagation.Action.REVIEW
    read = np.bincount(table.actions[readable], minlength=len(kinds)).tolist()
    rows = np.stack([holder[order], table.actions[order], readable[order].astype(np.int64)], 1)
    distinct, inverse = distinct_rows(rows)
    counted = np.bincount(inverse, minlength=len(distinct)).tolist()
    names = list(holders)
    overall, tallies = tally_counted(
        ((names[h], table.kinds[a], bool(r)), n)
        for (h, a, r), n in zip(distinct.tolist(), counted, strict=True)
    )
    return ImpactAnalysis(
        item=item(redactor.show(report.before)),
        classification_after=classification(report.after.classification)
        if report.after.classification
        else None,
        # The decider's own proposal: its to see, whatever scope it would give the item.
        item_after=item(redactor.wrote(report.after)),
        keypoints_after=[keypoint(k) for k in report.keypoints],
        proposed=classification(report.after.classification)
        if report.after.classification
        else None,
        status_after=ItemStatus(report.after.status.value),
        declassified_keypoints=[strawberry.ID(k.id) for k in report.keypoints if k.declassified],
        total=len(order),
        report=report,
        to_declassify=sum(n for k, n in zip(kinds, read, strict=True) if declassify in k),
        to_change=sum(n for k, n in zip(kinds, read, strict=True) if k - {declassify, review}),
        to_review=sum(n for k, n in zip(kinds, read, strict=True) if review in k),
        redacted=int((~readable[order]).sum()),
        all_to_declassify=overall.to_declassify,
        all_to_change=overall.to_change,
        all_to_review=overall.to_review,
        tallies=tallies,
        shown=Shown(order, readable, table.ids),
        redactor=redactor,
    )


class Shown(Sequence[tuple[int, str, bool]]):
    """The entries an analysis shows its reader, in order: each one's position in the
    report, item id, and whether the reader may read it; built as a page asks for them."""

    def __init__(
        self, order: npt.NDArray[np.int64], readable: npt.NDArray[np.bool_], ids: list[str]
    ) -> None:
        self._order = order
        self._readable = readable
        self._ids = ids

    def __len__(self) -> int:
        return len(self._order)

    @overload
    def __getitem__(self, index: int) -> tuple[int, str, bool]: ...

    @overload
    def __getitem__(self, index: slice) -> list[tuple[int, str, bool]]: ...

    def __getitem__(
        self, index: int | slice
    ) -> tuple[int, str, bool] | list[tuple[int, str, bool]]:
        if isinstance(index, slice):
            positions = self._order[index].tolist()
            return [(p, self._ids[p], bool(self._readable[p])) for p in positions]
        position = int(self._order[index])
        return (position, self._ids[position], bool(self._readable[position]))

    def __iter__(self) -> Iterator[tuple[int, str, bool]]:
        ids, readable = self._ids, self._readable.tolist()
        return ((p, ids[p], readable[p]) for p in self._order.tolist())


def _holder(item: model.Item | None) -> str:
    return "" if item is None else item.organisation_id
