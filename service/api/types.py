"""GraphQL types, mapped explicitly from graph values. Nothing here is a graph value itself, so
the public contract changes only when this module does."""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import date, datetime

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from graph import model, propagation, rules
from service.api.context import Context
from service.impact import ImpactReport
from service.redaction import WITHHELD, Redactor
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


@strawberry.type(description="密点 (D-4): defined by a source, with its own level and period.")
class Keypoint:
    id: strawberry.ID
    item_id: strawberry.ID = strawberry.field(description="The source that defines it.")
    title: str
    classification: Classification
    declassified: bool


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
        # A derived item involves its source's keypoints: their content is its own, but the
        # source that defines them may lie outside the reader's knowledge scope (D-10).
        sources = await info.context.items.load_many([k.item_id for k in found])
        redactor = info.context.redactor
        return [
            keypoint(k, item_id=redactor.ref(k.item_id, source))
            for k, source in zip(found, sources, strict=True)
        ]

    @strawberry.field(description="Its DERIVED_FROM edges: the items it was derived from.")
    async def bases(self, info: Info[Context, None]) -> list[Basis]:
        edges = await info.context.bases_of.load(str(self.id))
        parents = await info.context.items.load_many([e.parent_id for e in edges])
        redactor = info.context.redactor
        return [
            basis(edge, parent_id=redactor.ref(edge.parent_id, parent))
            for edge, parent in zip(edges, parents, strict=True)
        ]

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
        refs = [
            c.via_item_id or c.ref_id
            for c in requirement.explanation.contributions
            if c.ground is not rules.Ground.SCOPE_RULE
        ]
        known = await _known(info.context, refs)
        return explanation(requirement, self.classification_value, info.context.redactor, known)

    @strawberry.field(description="Its written records (D-11), oldest first.")
    async def records(self, info: Info[Context, None]) -> list[Record]:
        item_id = str(self.id)
        found = await info.context.read(lambda tx: tx.records(item_id))
        refs = [c.ref_id for r in found for c in r.bases if c.kind == "ITEM"]
        known = await _known(info.context, refs)
        return [record(r, info.context.redactor, known) for r in found]

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
        return [strawberry.ID(redactor.ref(i, v)) for i, v in zip(found, items, strict=True)]


async def _known(context: Context, ids: list[str]) -> dict[str, model.Item]:
    """The items among `ids` that exist, to tell which of them the reader may know."""
    unique = list(dict.fromkeys(ids))
    found = await context.items.load_many(unique)
    return {i: v for i, v in zip(unique, found, strict=True) if v is not None}


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


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class ItemEdge:
    cursor: str
    node: Item


@strawberry.type
class ItemConnection:
    edges: list[ItemEdge]
    page_info: PageInfo


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


def keypoint(value: model.Keypoint, *, item_id: str | None = None) -> Keypoint:
    """A keypoint; `item_id` replaces the id of a source the reader may not know."""
    return Keypoint(
        id=strawberry.ID(value.id),
        item_id=strawberry.ID(item_id or value.item_id),
        title=value.title,
        classification=classification(value.classification),
        declassified=value.declassified,
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
    value: model.Derivation, *, child_id: str | None = None, parent_id: str | None = None
) -> Basis:
    """An edge; `child_id` and `parent_id` replace ids the reader may not know."""
    return Basis(
        child_id=strawberry.ID(child_id or value.child_id),
        parent_id=strawberry.ID(parent_id or value.parent_id),
        case=BasisCase(value.case.value),
        case_label=value.case.label,
        keypoint_ids=[strawberry.ID(k) for k in value.keypoint_ids],
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
    redactor: Redactor | None = None,
    known: dict[str, model.Item] | None = None,
) -> Explanation:
    """The explanation as the reader may see it: a basis it may not know keeps its
    classification (it explains the item's own) but not its title or id; `known` holds the
    bases named. Without a redactor, everything (the actor decided on what it shows)."""
    required = value.classification
    known = known or {}
    hidden = redactor.hidden_among(known.values()) if redactor else []
    hidden_ids = {i.id for i in hidden}

    def scrub(text: str) -> str:
        return redactor.scrub(text, hidden) if redactor and hidden else text

    def ref(id: str) -> str:
        return redactor.opaque(id) if redactor and id in hidden_ids else id

    contributions = []
    for c in value.explanation.contributions:
        withheld = c.ground is rules.Ground.ITEM and c.ref_id in hidden_ids
        contributions.append(
            Contribution(
                ground=Ground(c.ground.value),
                ref_id=strawberry.ID(ref(c.ref_id) if c.ground is rules.Ground.ITEM else c.ref_id),
                title=WITHHELD if withheld else c.title,
                via_item_id=strawberry.ID(ref(c.via_item_id)) if c.via_item_id else None,
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
        summary=scrub(value.explanation.summary),
        articles=list(value.explanation.articles),
        contributions=contributions,
        notes=[scrub(n) for n in value.explanation.notes],
        scope_limit=knowledge_scope(value.scope_limit) if value.scope_limit else None,
    )


def record(
    value: model.DecisionRecord,
    redactor: Redactor | None = None,
    known: dict[str, model.Item] | None = None,
) -> Record:
    """A written record as the reader may see it: a basis document it may not know is cited
    by its marking only (see `explanation`)."""
    hidden = redactor.hidden_among((known or {}).values()) if redactor else []
    hidden_ids = {i.id for i in hidden}
    hidden_numbers = {i.document_number for i in hidden if i.document_number}

    def citation(c: model.BasisCitation) -> BasisCitation:
        withheld = c.kind == "ITEM" and c.ref_id in hidden_ids
        number_withheld = withheld or c.document_number in hidden_numbers
        return BasisCitation(
            kind=Ground(c.kind),
            ref_id=strawberry.ID(redactor.opaque(c.ref_id) if redactor and withheld else c.ref_id),
            title=WITHHELD if withheld else c.title,
            document_number=WITHHELD if number_withheld else c.document_number,
            marking=c.marking,
            redacted=withheld,
        )

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
        bases=[citation(c) for c in value.bases],
        summary=redactor.scrub(value.summary, hidden) if redactor and hidden else value.summary,
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
    after: Classification | None
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


@strawberry.type(description="A dry run of a change: nothing is written.")
class ImpactAnalysis:
    item: Item = strawberry.field(description="The source as it is now.")
    proposed: Classification | None
    status_after: ItemStatus
    declassified_keypoints: list[strawberry.ID]
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
    report: strawberry.Private[ImpactReport]
    # The entries shown: position in the report, item id, and whether the reader may read it.
    shown: strawberry.Private[list[tuple[int, str, bool]]]
    redactor: strawberry.Private[Redactor]

    @strawberry.field(
        description="The descendants that would have to act, parents before children: `first` "
        "of them (at most 500) after skipping `offset`. The same graph gives the same order, "
        "so a client pages through a large analysis (see `total`) with offset += first."
    )
    def impacts(self, first: int = 100, offset: int = 0) -> list[ImpactEntry]:
        if not 1 <= first <= MAX_PAGE or offset < 0:
            raise GraphQLError(f"每页条数（first）应在 1 到 {MAX_PAGE} 之间，offset 不能为负数。")
        impacts = self.report.impacts
        out = []
        for position, item_id, readable in self.shown[offset : offset + first]:
            if readable:
                out.append(impact_entry(impacts[position], self.redactor, impacts.known))
            else:
                out.append(placeholder_entry(item_id, self.redactor))
        return out


def placeholder_entry(item_id: str, redactor: Redactor) -> ImpactEntry:
    return ImpactEntry(
        id=strawberry.ID(redactor.opaque(item_id)),
        redacted=True,
        item=None,
        actions=[],
        action_labels=[],
        after=None,
        status_after=None,
        marking_after=None,
        path=[],
        articles=[],
        summary=None,
        kept_bases=[],
    )


def impact_entry(
    value: propagation.Impact,
    redactor: Redactor,
    known: Callable[[str], model.Item | None],
) -> ImpactEntry:
    """A descendant the reader may read; what it names that the reader may not is opaque."""
    after = value.after
    refs = [*value.path, *value.kept_bases]
    if value.explanation is not None:
        refs += [c.via_item_id or c.ref_id for c in value.explanation.contributions]
    hidden = redactor.hidden_among(known(r) for r in dict.fromkeys(refs))
    hidden_ids = {i.id for i in hidden}

    def ref(id: str) -> strawberry.ID:
        return strawberry.ID(redactor.opaque(id) if id in hidden_ids else id)

    summary = value.explanation.summary if value.explanation else None
    return ImpactEntry(
        id=strawberry.ID(value.item_id),
        redacted=False,
        item=item(redactor.show(value.before)),
        actions=[ImpactAction(a.value) for a in value.actions],
        action_labels=[a.label for a in value.actions],
        after=classification(after.classification) if after.classification else None,
        status_after=ItemStatus(after.status.value),
        marking_after=after.marking,
        path=[ref(p) for p in value.path],
        articles=list(value.articles),
        summary=redactor.scrub(summary, hidden) if summary and hidden else summary,
        kept_bases=[ref(b) for b in value.kept_bases],
    )


def impact_analysis(report: ImpactReport, redactor: Redactor) -> ImpactAnalysis:
    """The analysis as the reader may see it: counts by action over what it may read, the
    total over what it may know of (module service.redaction)."""
    impacts = report.impacts
    ids = list(impacts.item_ids())
    readable = [redactor.readable(impacts.known(i)) for i in ids]
    actions = [set(a) for a, r in zip(impacts.actions(), readable, strict=True) if r]
    shown = [
        (p, id, r)
        for p, (id, r) in enumerate(zip(ids, readable, strict=True))
        if r or redactor.placeholders
    ]
    declassify = propagation.Action.DECLASSIFY
    review = propagation.Action.REVIEW
    return ImpactAnalysis(
        item=item(redactor.show(report.before)),
        proposed=classification(report.after.classification)
        if report.after.classification
        else None,
        status_after=ItemStatus(report.after.status.value),
        declassified_keypoints=[strawberry.ID(k.id) for k in report.keypoints],
        total=len(shown),
        report=report,
        to_declassify=sum(1 for a in actions if declassify in a),
        to_change=sum(1 for a in actions if a - {declassify, review}),
        to_review=sum(1 for a in actions if review in a),
        redacted=sum(1 for _, _, r in shown if not r),
        shown=shown,
        redactor=redactor,
    )
