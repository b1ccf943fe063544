"""The GraphQL schema: queries and mutations over the use cases."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Annotated, Any, TypeVar

import strawberry
from graphql import GraphQLError
from strawberry.extensions import DisableIntrospection, MaskErrors, SchemaExtension
from strawberry.types import Info
from strawberry.types.graphql import OperationType

from graph import model
from graph.store.base import ItemQuery
from service import usecases
from service.api import types
from service.api.access import AccessQuery
from service.api.accounts import AccountMutation, AccountQuery
from service.api.admission import Admission, Limits, bound_validation_work, operation_label
from service.api.asked import asked_ids
from service.api.changes import (
    ChangeMutation,
    ChangeQuery,
    ChangeSubscription,
    ImpactAnalysisResult,
)
from service.api.context import Context
from service.api.corrections import CorrectionMutation, CorrectionQuery
from service.api.expiry import ExpiryPreviewQuery
from service.api.forms import FormMutation, FormQuery
from service.api.grants import Grant, GrantMutation, GrantQuery, grant
from service.api.inputs import (
    PeriodInput,
    ProposedChangeInput,
    ScopeInput,
    decode_cursor,
    decode_position,
    encode_cursor,
    encode_position,
)
from service.api.inputs import attempt as _attempt
from service.api.inputs import ids as _ids
from service.api.inputs import level_of as _level
from service.api.picklists import PickListQuery
from service.api.problems import AnyProblem
from service.api.register import RegisterQuery
from service.api.supervision import (
    CatalogueQuery,
    FindingQuery,
    ReminderQuery,
    StatisticsQuery,
)
from service.api.views import ViewQuery
from service.auditing import grant_event
from service.expiry import item_as_of
from service.impact import impact_analysis
from service.redaction import Redactor, seen_citations, seen_lineage

T = TypeVar("T")
Ctx = Info[Context, None]


# Inputs


@strawberry.input(description="A keypoint of a new source; the service gives it its id.")
class KeypointInput:
    title: str
    level: types.Level
    period: PeriodInput


@strawberry.input
class RegisterOrganisationInput:
    id: strawberry.ID
    name: str
    authority: types.Level | None = None
    superior_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="上级机关、单位 (X-9): requested, in force once a supervisor approves it.",
    )


@strawberry.input
class RegisterPersonInput:
    id: strawberry.ID
    name: str
    organisation_id: strawberry.ID


@strawberry.input
class RegisterScopeRuleInput:
    id: strawberry.ID
    title: str
    document: str
    level: types.Level
    years: int | None = None
    long_term: bool = False
    issuer: str = ""


@strawberry.input(
    description="An item classified by its originator (原定密). The service gives it its id: "
    "an id chosen by the caller could be that of an item the caller may not know (D-10); the "
    "document number (文号) is how people name it."
)
class RegisterSourceInput:
    title: str
    document_number: str
    organisation_id: strawberry.ID
    issued_on: date
    level: types.Level
    period: PeriodInput
    scope: ScopeInput
    handler_id: strawberry.ID = strawberry.field(description="承办人: proposes (D-11).")
    official_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="定密责任人: decides (D-11). The caller itself; another person is refused.",
    )
    keypoints: list[KeypointInput] = strawberry.field(default_factory=list)
    scope_limit: ScopeInput | None = strawberry.field(
        default=None,
        description="The widest knowledge scope allowed for items derived from it (D-10).",
    )
    scope_rule_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    process_item_of: strawberry.ID | None = None
    joint_organisation_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list,
        description="Co-classifiers of a joint classification; `organisationId` leads (X-8).",
    )


@strawberry.input(description="One basis of a derived item: its parent and the D-7 case.")
class BasisInput:
    parent_id: strawberry.ID
    case: types.BasisCase
    keypoint_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list,
        description="Keypoints the parent contains (Item.keypoints), by the ids the caller sees: "
        "a keypoint of a source it may not read by its placeholder id.",
    )


@strawberry.input(
    description="A derived item (派生事项). Level and period default to the required. The "
    "service gives it its id."
)
class DeriveItemInput:
    title: str
    document_number: str
    organisation_id: strawberry.ID
    issued_on: date
    bases: list[BasisInput]
    scope: ScopeInput
    handler_id: strawberry.ID
    official_id: strawberry.ID | None = strawberry.field(
        default=None, description="The caller itself (D-11); another person is refused."
    )
    scope_rule_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    level: types.Level | None = None
    period: PeriodInput | None = None
    originator_consultation: str | None = strawberry.field(
        default=None,
        description="The originator's answer where a basis marks no period (D-9, D-17).",
    )
    process_item_of: strawberry.ID | None = None


@strawberry.input
class ItemFilter:
    organisation_id: strawberry.ID | None = None
    level: types.Level | None = None
    status: types.ItemStatus | None = None
    kind: types.ItemKind | None = None
    text: str | None = strawberry.field(
        default=None,
        description="Words of the title, the document number (文号) or the id, separated by "
        "spaces: items that hold every word (Latin letters in any case), ranked: those whose "
        "document number or id is the whole text first, then the most relevant. The cursors "
        "of such a page go on in that order.",
    )


# Results


@strawberry.type
class RegisterOrganisationSuccess:
    organisation: types.Organisation = strawberry.field(
        description="As registered: without its superior until the request for it is approved."
    )
    grant: Grant | None = strawberry.field(
        description="With `superiorId`: the request to place it under its superior, whose "
        "supervisors would read what it holds (X-9, D-10); pending until a supervisor approves."
    )


@strawberry.type
class RegisterPersonSuccess:
    person: types.Person


@strawberry.type
class RegisterScopeRuleSuccess:
    scope_rule: types.ScopeRule


@strawberry.type
class RegisterSourceSuccess:
    item: types.Item
    record: types.Record


@strawberry.type
class DeriveItemSuccess:
    item: types.Item
    record: types.Record
    explanation: types.Explanation


RegisterOrganisationResult = Annotated[
    RegisterOrganisationSuccess | AnyProblem, strawberry.union("RegisterOrganisationResult")
]
RegisterPersonResult = Annotated[
    RegisterPersonSuccess | AnyProblem, strawberry.union("RegisterPersonResult")
]
RegisterScopeRuleResult = Annotated[
    RegisterScopeRuleSuccess | AnyProblem, strawberry.union("RegisterScopeRuleResult")
]
RegisterSourceResult = Annotated[
    RegisterSourceSuccess | AnyProblem, strawberry.union("RegisterSourceResult")
]
DeriveItemResult = Annotated[DeriveItemSuccess | AnyProblem, strawberry.union("DeriveItemResult")]
ItemsResult = Annotated[types.ItemConnection | AnyProblem, strawberry.union("ItemsResult")]
LineageResult = Annotated[types.Lineage | AnyProblem, strawberry.union("LineageResult")]


@strawberry.type
class Query(
    ChangeQuery,
    AccessQuery,
    ViewQuery,
    FindingQuery,
    ReminderQuery,
    CatalogueQuery,
    StatisticsQuery,
    FormQuery,
    GrantQuery,
    RegisterQuery,
    PickListQuery,
    ExpiryPreviewQuery,
    CorrectionQuery,
    AccountQuery,
):
    @strawberry.field(
        description="One item with its classification, explanation and records; with `asOf`, "
        "its status, classification and knowledge scope as they stood on that date (null "
        "before it was registered)."
    )
    async def item(
        self, info: Ctx, id: strawberry.ID, as_of: date | None = None
    ) -> types.Item | None:
        context = info.context
        if as_of is not None:
            found = await context.call(item_as_of, str(id), as_of, context.actor)
        else:
            found = await context.call(usecases.get_item, str(id))
        # An item outside the reader's knowledge scope reads as absent (D-10).
        if found is None or not context.redactor.readable(found):
            return None
        return types.item(context.redactor.show(found))

    @strawberry.field(
        description="Items filtered by organisation, level, status; by id, paged. With "
        "`filter.text`, a search, ranked (ItemFilter.text)."
    )
    async def items(
        self,
        info: Ctx,
        filter: ItemFilter | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> ItemsResult:
        async def work() -> types.ItemConnection:
            chosen = filter or ItemFilter()
            text = chosen.text.strip()[:100] or None if chosen.text else None
            # A search is ranked, so its cursors are positions (service.api.inputs).
            offset = decode_position(after) if after is not None and text is not None else 0
            query = ItemQuery(
                organisation_id=str(chosen.organisation_id) if chosen.organisation_id else None,
                level=_level(chosen.level),
                status=model.ItemStatus(chosen.status.value) if chosen.status else None,
                kind=model.ItemKind(chosen.kind.value) if chosen.kind else None,
                after=decode_cursor(after) if after is not None and text is None else None,
                limit=first,
                text=text,
                offset=offset,
                readable=info.context.actor.read_filter(),
            )
            page = await info.context.call(usecases.find_items, query)
            redactor = info.context.redactor
            cursors = [
                encode_cursor(i.id) if text is None else encode_position(offset + n + 1)
                for n, i in enumerate(page.items)
            ]
            return types.ItemConnection(
                edges=[
                    types.ItemEdge(cursor=cursor, node=types.item(redactor.show(i)))
                    for cursor, i in zip(cursors, page.items, strict=True)
                ],
                page_info=types.PageInfo(
                    has_next_page=page.has_next,
                    end_cursor=cursors[-1] if cursors else None,
                ),
                counter=lambda: info.context.call(usecases.count_items, query),
            )

        return await _attempt(work)

    @strawberry.field
    async def keypoint(self, info: Ctx, id: strawberry.ID) -> types.Keypoint | None:
        key = str(id)
        found = await info.context.read(lambda tx: tx.keypoints([key]).get(key))
        # A keypoint is part of the content of the source that defines it (D-16).
        if found is None or not info.context.redactor.readable(
            await info.context.items.load(found.item_id)
        ):
            return None
        return types.keypoint(found)

    @strawberry.field
    async def scope_rule(self, info: Ctx, id: strawberry.ID) -> types.ScopeRule | None:
        key = str(id)
        found = await info.context.read(lambda tx: tx.scope_rules([key]).get(key))
        return None if found is None else types.scope_rule(found)

    @strawberry.field
    async def organisation(self, info: Ctx, id: strawberry.ID) -> types.Organisation | None:
        key = str(id)
        found = await info.context.read(lambda tx: tx.organisation(key))
        return None if found is None else types.organisation(found)

    @strawberry.field(
        description="The lineage of an item: its ancestors, descendants or both, up to `depth` "
        "steps (all when omitted), as nodes and DERIVED_FROM edges."
    )
    async def lineage(
        self,
        info: Ctx,
        id: strawberry.ID,
        direction: types.Direction = types.Direction.BOTH,
        depth: int | None = None,
    ) -> LineageResult:
        async def work() -> types.Lineage:
            context = info.context
            found = await context.call(
                usecases.get_lineage,
                str(id),
                model.Direction(direction.value),
                depth,
                context.actor,
            )
            return lineage_of(found, context.redactor)

        return await _attempt(work)

    @strawberry.field(
        description="What a proposed change or declassification of a source would do to every "
        "descendant (D-12, X-13, X-14, X-16): the same computation as the fan-out, writing nothing."
    )
    async def impact_analysis(self, info: Ctx, change: ProposedChangeInput) -> ImpactAnalysisResult:
        async def work() -> types.ImpactAnalysis:
            context = info.context
            report = await context.call(impact_analysis, change.to_change(), context.actor)
            return types.impact_analysis(report, context.redactor)

        return await _attempt(work)


@strawberry.type
class Mutation(ChangeMutation, CorrectionMutation, FormMutation, GrantMutation, AccountMutation):
    @strawberry.mutation(
        description="Registers an organisation (机关、单位). A superior named is not linked at "
        "once: the request for it (`grant`) waits for a supervisor's approval (approveGrant)."
    )
    async def register_organisation(
        self, info: Ctx, input: RegisterOrganisationInput
    ) -> RegisterOrganisationResult:
        command = usecases.NewOrganisation(
            str(input.id),
            input.name,
            _level(input.authority),
            str(input.superior_id) if input.superior_id else None,
        )

        async def work() -> RegisterOrganisationSuccess:
            context = info.context
            created = await context.call(usecases.register_organisation, command, context.actor)
            if created.grant is not None:
                step = grant_event(context.actor, "request", created.grant.grant, context.address)
                await context.audit_events(step)
            return RegisterOrganisationSuccess(
                organisation=types.organisation(created.organisation),
                grant=None if created.grant is None else grant(created.grant),
            )

        return await _attempt(work)

    @strawberry.mutation(description="Registers a person of an organisation.")
    async def register_person(self, info: Ctx, input: RegisterPersonInput) -> RegisterPersonResult:
        command = usecases.NewPerson(str(input.id), input.name, str(input.organisation_id))

        async def work() -> RegisterPersonSuccess:
            created = await info.context.call(usecases.register_person, command, info.context.actor)
            return RegisterPersonSuccess(person=types.person(created))

        return await _attempt(work)

    @strawberry.mutation(description="Registers a scope-of-secrets entry (保密事项范围, D-15).")
    async def register_scope_rule(
        self, info: Ctx, input: RegisterScopeRuleInput
    ) -> RegisterScopeRuleResult:
        command = usecases.NewScopeRule(
            str(input.id),
            input.title,
            input.document,
            model.Level(input.level.value),
            input.years,
            input.long_term,
            input.issuer,
        )

        async def work() -> RegisterScopeRuleSuccess:
            created = await info.context.call(
                usecases.register_scope_rule, command, info.context.actor
            )
            return RegisterScopeRuleSuccess(scope_rule=types.scope_rule(created))

        return await _attempt(work)

    @strawberry.mutation(description="Registers a source item with its keypoints (D-11, D-16).")
    async def register_source(self, info: Ctx, input: RegisterSourceInput) -> RegisterSourceResult:
        async def work() -> RegisterSourceSuccess:
            command = usecases.RegisterSource(
                title=input.title,
                document_number=input.document_number,
                organisation_id=str(input.organisation_id),
                issued_on=input.issued_on,
                level=model.Level(input.level.value),
                period=input.period.to_spec(),
                scope=input.scope.to_scope(),
                scope_limit=input.scope_limit.to_scope() if input.scope_limit else None,
                keypoints=tuple(
                    usecases.NewKeypoint(
                        title=k.title,
                        level=model.Level(k.level.value),
                        period=k.period.to_spec(),
                    )
                    for k in input.keypoints
                ),
                scope_rule_ids=_ids(input.scope_rule_ids),
                handler_id=str(input.handler_id),
                official_id=_id(input.official_id),
                process_item_of=str(input.process_item_of) if input.process_item_of else None,
                joint_organisation_ids=_ids(input.joint_organisation_ids),
            )
            context = info.context
            decided = await context.call(usecases.register_source, command, context.actor)
            item = types.item(context.redactor.wrote(decided.item))
            (record,) = await types.records(context, [decided.record])
            return RegisterSourceSuccess(item=item, record=record)

        return await _attempt(work)

    @strawberry.mutation(
        description="Derives an item from its bases. Its classification is computed (D-7..D-15); "
        "a proposed level, period or scope that breaks the rules is refused with the article."
    )
    async def derive_item(self, info: Ctx, input: DeriveItemInput) -> DeriveItemResult:
        async def work() -> DeriveItemSuccess:
            command = usecases.DeriveItem(
                title=input.title,
                document_number=input.document_number,
                organisation_id=str(input.organisation_id),
                issued_on=input.issued_on,
                bases=tuple(
                    usecases.BasisSpec(
                        str(b.parent_id), model.BasisCase(b.case.value), _ids(b.keypoint_ids)
                    )
                    for b in input.bases
                ),
                scope=input.scope.to_scope(),
                handler_id=str(input.handler_id),
                official_id=_id(input.official_id),
                scope_rule_ids=_ids(input.scope_rule_ids),
                level=_level(input.level),
                period=input.period.to_spec() if input.period else None,
                originator_consultation=input.originator_consultation,
                process_item_of=str(input.process_item_of) if input.process_item_of else None,
            )
            context = info.context
            decided = await context.call(
                usecases.derive_item, command, context.actor, context.redactor
            )
            requirement = decided.requirement
            if requirement is None:  # derive always computes one
                raise RuntimeError("derive_item returned no requirement")
            item = types.item(context.redactor.wrote(decided.item))
            (record,) = await types.records(context, [decided.record])
            # The actor may read every basis (derive_item checks), but not always every source
            # of the keypoints they involve.
            explanation = await types.explained(context, requirement, decided.item.classification)
            return DeriveItemSuccess(item=item, record=record, explanation=explanation)

        return await _attempt(work)


def _id(value: strawberry.ID | None) -> str | None:
    return None if value is None else str(value)


def lineage_of(found: usecases.Lineage, redactor: Redactor) -> types.Lineage:
    """A lineage as the reader may see it (service.redaction.seen_lineage)."""
    seen = seen_lineage(
        redactor, found.root, found.subgraph.depth, found.items, found.subgraph.edges, found.names
    )
    return types.Lineage(
        root=strawberry.ID(seen.root),
        nodes=[
            types.LineageNode(
                id=strawberry.ID(n.id),
                depth=n.depth,
                redacted=n.redacted,
                item=None if n.item is None else types.item(n.item),
            )
            for n in seen.nodes
        ],
        edges=[types.basis(e) for e in seen.edges],
        citations=[
            types.LineageCitation(
                item_id=strawberry.ID(c.item_id), cited_id=strawberry.ID(c.cited_id), note=c.note
            )
            for c in seen_citations(redactor, found.items, found.citations)
        ],
    )


def _should_mask(error: GraphQLError) -> bool:
    """Errors of the request itself (syntax, validation) stay readable; anything raised while
    executing is unexpected and must not show internals."""
    return error.original_error is not None and not isinstance(error.original_error, GraphQLError)


@strawberry.type
class Subscription(ChangeSubscription):
    pass


class OperationTimeout(SchemaExtension):
    """Puts the time limit of the operation's kind in force: a mutation may write one notice
    per descendant of a large lineage, and gets longer than a query. Names the operation for
    the audit trail: its kind, its top-level fields and the ids it asks for."""

    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        context = execution.context
        if isinstance(context, Context):
            mutation = execution.operation_type is OperationType.MUTATION
            context.for_operation(mutation)
            document = execution.graphql_document
            if document is not None:
                context.operation = operation_label(document, execution.operation_name)
            context.asked = asked_ids(
                execution.schema._schema,
                execution.graphql_document,
                execution.operation_name,
                execution.variables,
            )
        yield None


def build_schema(limits: Limits | None = None, traced: Sequence[Any] = ()) -> strawberry.Schema:
    """The schema with its extensions; `traced`, first of them, those that trace each
    operation (service.tracing)."""
    chosen = limits or Limits()
    bound_validation_work()
    extensions: list[Any] = [
        *traced,
        lambda: MaskErrors(should_mask_error=_should_mask, error_message="服务内部错误。"),
        OperationTimeout,
    ]
    if not chosen.introspection:
        extensions.append(DisableIntrospection)
    # Last, so that it sees the rule DisableIntrospection adds; it parses and validates each
    # document once (cached), and measures each request (service.api.admission).
    extensions.append(lambda: Admission(chosen))
    return strawberry.Schema(
        query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions
    )


# The schema with the default limits: what `lineage export-schema` prints.
schema = build_schema()
