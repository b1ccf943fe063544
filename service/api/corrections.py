"""The GraphQL side of corrections of the lineage (service.correction): addBasis and
removeBasis. Mutation of schema.py inherits these."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, TypeVar

import strawberry
from strawberry.types import Info

from graph import model
from graph.errors import CycleClosed, LineageError
from service import correction
from service.api import types
from service.api.changes import ChangeCommitted, _committed
from service.api.context import Context
from service.api.inputs import PeriodInput, ScopeInput, attempt, ids, level_of
from service.api.problems import AnyProblem, Problem, problem
from service.impact import ImpactReport, Selected
from service.usecases import BasisSpec

Ctx = Info[Context, None]


T = TypeVar("T")


@strawberry.type(
    description="Adding this basis would close a cycle of DERIVED_FROM (D-3, D-7): the item "
    "would derive, however indirectly, from itself. Refused, nothing written."
)
class LineageCycle(Problem):
    rule: str
    articles: list[str]
    path: list[strawberry.ID] = strawberry.field(
        description="The cycle, from the item back to it, each derived from the next; the items "
        "the caller may not read by their placeholder ids (D-10)."
    )


@strawberry.input(
    description="A basis to add to a derived item, with the reason (依据和理由); decided by "
    "the holder's handler and classification official (D-11, D-13). Level, period and scope "
    "as in deriveItem: left out, the level and period become what the bases now require."
)
class AddBasisInput:
    item_id: strawberry.ID
    parent_id: strawberry.ID
    case: types.BasisCase
    keypoint_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list,
        description="Keypoints the parent contains that the item involves (D-7(2)), by the ids "
        "the caller sees.",
    )
    reason: str = strawberry.field(description="依据和理由: why the lineage was wrong.")
    handler_id: strawberry.ID = strawberry.field(description="承办人 of the holder (D-11).")
    official_id: strawberry.ID | None = strawberry.field(
        default=None, description="定密责任人: the caller itself (D-11)."
    )
    level: types.Level | None = None
    period: PeriodInput | None = None
    originator_consultation: str | None = None
    scope: ScopeInput | None = strawberry.field(
        default=None, description="A new knowledge scope; left out, the item's stays."
    )
    decided_on: date | None = None
    due_on: date | None = strawberry.field(
        default=None, description="By when the descendants must follow, where they must."
    )
    expected_version: int | None = None


@strawberry.input(
    description="A basis to remove from a derived item, with the reason. The last basis cannot "
    "be removed (D-7, D-14)."
)
class RemoveBasisInput:
    item_id: strawberry.ID
    parent_id: strawberry.ID
    reason: str
    handler_id: strawberry.ID
    official_id: strawberry.ID | None = None
    level: types.Level | None = None
    period: PeriodInput | None = None
    originator_consultation: str | None = None
    scope: ScopeInput | None = None
    decided_on: date | None = None
    due_on: date | None = None
    expected_version: int | None = None


@strawberry.type(
    description="A corrected lineage: the item as it is now, the written record, what its bases "
    "now require, and the change with its notices where its classification moved."
)
class BasisCorrected:
    item: types.Item
    record: types.Record
    explanation: types.Explanation
    classification_changed: bool = strawberry.field(
        description="Whether the item's classification (or scope) moved: then `change` holds "
        "the decision and the notices to its descendants (D-12, D-13)."
    )
    change: ChangeCommitted | None


CorrectBasisResult = Annotated[
    BasisCorrected | LineageCycle | AnyProblem, strawberry.union("CorrectBasisResult")
]


async def _attempt(work: Callable[[], Awaitable[T]]) -> T | LineageCycle | AnyProblem:
    try:
        return await work()
    except CycleClosed as error:
        return LineageCycle(
            message=error.message,
            rule=error.rule,
            articles=list(error.articles),
            path=[strawberry.ID(p) for p in error.path],
        )
    except LineageError as error:
        return problem(error)


async def _corrected(context: Context, command: correction.CorrectBasis) -> BasisCorrected:
    done = await context.call(correction.correct_basis, command, context.actor, context.redactor)
    # The actor read the item and every basis to decide (correct_basis checks).
    item = types.item(context.redactor.wrote(done.item))
    (record,) = await types.records(context, [done.record])
    explanation = await types.explained(context, done.requirement, done.item.classification)
    committed = None if done.committed is None else await _committed(context, done.committed)
    return BasisCorrected(
        item=item,
        record=record,
        explanation=explanation,
        classification_changed=committed is not None,
        change=committed,
    )


@strawberry.input(
    description="An item cited by another that takes none of its content or keypoints (D-14): "
    "recorded as a CITES edge, shown dotted in the lineage, never a basis."
)
class RecordCitationInput:
    item_id: strawberry.ID = strawberry.field(description="The citing item.")
    cited_id: strawberry.ID
    note: str = strawberry.field(description="What was cited and why it is no basis.")
    person_id: strawberry.ID | None = strawberry.field(
        default=None, description="Who records it: the caller itself."
    )


@strawberry.type(description="A citation recorded (D-14).")
class CitationRecorded:
    citation: types.LineageCitation


RecordCitationResult = Annotated[
    CitationRecorded | AnyProblem, strawberry.union("RecordCitationResult")
]


@strawberry.type
class CorrectionMutation:
    @strawberry.mutation(
        description="Records that an item cites another without taking its content or "
        "keypoints (D-14): no basis, so no rule, fan-out or impact analysis reads it."
    )
    async def record_citation(self, info: Ctx, input: RecordCitationInput) -> RecordCitationResult:
        async def work() -> CitationRecorded:
            command = correction.CiteItem(
                item_id=str(input.item_id),
                cited_id=str(input.cited_id),
                note=input.note,
                person_id=None if input.person_id is None else str(input.person_id),
            )
            context = info.context
            done = await context.call(correction.record_citation, command, context.actor)
            return CitationRecorded(
                citation=types.LineageCitation(
                    item_id=strawberry.ID(done.item_id),
                    cited_id=strawberry.ID(done.cited_id),
                    note=done.note,
                )
            )

        return await attempt(work)

    @strawberry.mutation(
        description="Adds a basis to a derived item (a correction of its lineage). Refused when "
        "it would close a cycle (LineageCycle, with the path). The required classification is "
        "computed again; where it moves, the item changes and its descendants get notices."
    )
    async def add_basis(self, info: Ctx, input: AddBasisInput) -> CorrectBasisResult:
        async def work() -> BasisCorrected:
            command = _adding(input)
            return await _corrected(info.context, command)

        return await _attempt(work)

    @strawberry.mutation(
        description="Removes a basis of a derived item (a correction of its lineage); the last "
        "one cannot be removed (D-14). As addBasis, the item follows what its bases require."
    )
    async def remove_basis(self, info: Ctx, input: RemoveBasisInput) -> CorrectBasisResult:
        async def work() -> BasisCorrected:
            command = _removing(input)
            return await _corrected(info.context, command)

        return await _attempt(work)


def _adding(input: AddBasisInput) -> correction.CorrectBasis:
    return correction.CorrectBasis(
        item_id=str(input.item_id),
        handler_id=str(input.handler_id),
        official_id=None if input.official_id is None else str(input.official_id),
        reason=input.reason,
        add=BasisSpec(
            str(input.parent_id),
            model.BasisCase(input.case.value),
            ids(input.keypoint_ids),
        ),
        level=level_of(input.level),
        period=input.period.to_spec() if input.period else None,
        originator_consultation=input.originator_consultation,
        scope=input.scope.to_scope() if input.scope else None,
        decided_on=input.decided_on,
        due_on=input.due_on,
        expected_version=input.expected_version,
    )


def _removing(input: RemoveBasisInput) -> correction.CorrectBasis:
    return correction.CorrectBasis(
        item_id=str(input.item_id),
        handler_id=str(input.handler_id),
        official_id=None if input.official_id is None else str(input.official_id),
        reason=input.reason,
        remove_parent_id=str(input.parent_id),
        level=level_of(input.level),
        period=input.period.to_spec() if input.period else None,
        originator_consultation=input.originator_consultation,
        scope=input.scope.to_scope() if input.scope else None,
        decided_on=input.decided_on,
        due_on=input.due_on,
        expected_version=input.expected_version,
    )


CorrectionImpactResult = Annotated[
    types.ImpactAnalysis | LineageCycle | AnyProblem, strawberry.union("CorrectionImpactResult")
]


async def _foreseen(context: Context, command: correction.CorrectBasis) -> types.ImpactAnalysis:
    done = await context.call(
        correction.preview_correction, command, context.actor, context.redactor
    )
    if done.committed is None:
        # The classification holds: the record alone would be written, no one must act.
        report = ImpactReport(done.before, done.item, (), Selected([], [], {}))
    else:
        change = done.committed.change
        report = ImpactReport(done.before, change.after, (), done.committed.impacts)
    return types.impact_analysis(report, context.redactor)


@strawberry.type
class CorrectionQuery:
    @strawberry.field(
        description="The preview of addBasis with the same input: refused where the commit "
        "would be, with the same problem (LineageCycle included); otherwise the item as it is "
        "and as the correction would leave it (`itemAfter`), and every descendant that would "
        "get a notice where its classification moves (`entries`, D-13). Nothing is written."
    )
    async def add_basis_impact(self, info: Ctx, input: AddBasisInput) -> CorrectionImpactResult:
        async def work() -> types.ImpactAnalysis:
            return await _foreseen(info.context, _adding(input))

        return await _attempt(work)

    @strawberry.field(
        description="The preview of removeBasis with the same input, as addBasisImpact. "
        "Nothing is written."
    )
    async def remove_basis_impact(
        self, info: Ctx, input: RemoveBasisInput
    ) -> CorrectionImpactResult:
        async def work() -> types.ImpactAnalysis:
            return await _foreseen(info.context, _removing(input))

        return await _attempt(work)
