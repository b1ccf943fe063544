"""The GraphQL side of the written forms (issue 7): recording a review that keeps a decision
(`recordReview`), and the 审核表 and written records to print (`reviewForm`, `recordForm`),
each as HTML, PDF and CSV, produced only for the formats asked for."""

from __future__ import annotations

import base64
from datetime import date
from typing import Annotated

import strawberry
from strawberry.types import Info

from graph.errors import InvalidValue
from service import documents
from service.api import types
from service.api.context import Context
from service.api.inputs import attempt, ids
from service.api.problems import AnyProblem
from service.forms import Sheet, record_form, review_form
from service.review import MaintainDecision, record_review

Ctx = Info[Context, None]


@strawberry.type(description="A form to print, sign and file, in four formats.")
class PrintedForm:
    title: str = strawberry.field(description="国家秘密审核表（一）, 派生国家秘密定密书面记录, ….")
    reference: str = strawberry.field(description="The record ids it states.")
    organisation: str
    item_ids: list[strawberry.ID]
    sheet: strawberry.Private[Sheet]

    @strawberry.field(description="A printable page (A4), self-contained.")
    def html(self) -> str:
        return documents.as_html(self.sheet)

    @strawberry.field(description="The same form as a PDF (A4), base64-encoded.")
    def pdf(self) -> str:
        return base64.b64encode(documents.as_pdf(self.sheet)).decode("ascii")

    @strawberry.field(description="One line per item, UTF-8 with BOM (opens in Excel).")
    def csv(self) -> str:
        return documents.as_csv(self.sheet)

    @strawberry.field(description="The CSV's rows as an XLSX workbook, base64-encoded.")
    def xlsx(self) -> str:
        return base64.b64encode(documents.as_xlsx(self.sheet)).decode("ascii")


@strawberry.input(description="The version of an item a decision was made on.")
class ExpectedVersionInput:
    item_id: strawberry.ID
    version: int


@strawberry.input(
    description="A review that keeps the decision of each item as it is: 维持原定密决定 "
    "(X-16, X-17). A review that changes or declassifies is changeClassification or declassify."
)
class RecordReviewInput:
    item_ids: list[strawberry.ID] = strawberry.field(
        description="One item, or several with the same outcome and reasoning (审核表(二))."
    )
    handler_id: strawberry.ID
    reasoning: str = strawberry.field(description="依据和理由, e.g. 保密期限尚未届满，仍需保密.")
    consultation: str | None = strawberry.field(
        default=None, description="论证或征求意见情况 (X-20, X-21)."
    )
    decided_on: date | None = strawberry.field(default=None, description="Today by default.")
    official_id: strawberry.ID | None = strawberry.field(
        default=None, description="定密责任人: the caller itself (X-17); another is refused."
    )
    expected_versions: list[ExpectedVersionInput] = strawberry.field(
        default_factory=list,
        description="The versions of items the review was made on (Item.version): refused with "
        "Conflict, nothing written, if one has moved on since. An item left out is reviewed as "
        "it stands.",
    )


@strawberry.type
class ReviewRecorded:
    records: list[types.Record]


FormResult = Annotated[PrintedForm | AnyProblem, strawberry.union("FormResult")]
RecordReviewResult = Annotated[ReviewRecorded | AnyProblem, strawberry.union("RecordReviewResult")]


def _printed(sheet: Sheet) -> PrintedForm:
    """The form; service.forms has noted its items as shown, for the audit trail."""
    return PrintedForm(
        title=sheet.title,
        reference=sheet.reference,
        organisation=sheet.organisation,
        item_ids=[strawberry.ID(i) for i in sheet.item_ids],
        sheet=sheet,
    )


@strawberry.type
class FormQuery:
    @strawberry.field(
        description="国家秘密审核表（一） for one review record, （二） for several with the same "
        "outcome, reasoning, handler and official (X-17, X-20..X-22): of records of kind "
        "REVIEW, CHANGE or DECLASSIFICATION."
    )
    async def review_form(self, info: Ctx, record_ids: list[strawberry.ID]) -> FormResult:
        context = info.context

        async def work() -> PrintedForm:
            sheet = await context.call(review_form, context.redactor, ids(record_ids))
            return _printed(sheet)

        return await attempt(work)

    @strawberry.field(
        description="The written record of one decision: a classification, derivation (D-11), "
        "change or declassification (D-13, X-17), review or expiry."
    )
    async def record_form(self, info: Ctx, record_id: strawberry.ID) -> FormResult:
        context = info.context

        async def work() -> PrintedForm:
            sheet = await context.call(record_form, context.redactor, str(record_id))
            return _printed(sheet)

        return await attempt(work)


@strawberry.type
class FormMutation:
    @strawberry.mutation(
        description="Records a review that keeps each item's level, period and scope "
        "(维持原定密决定, X-16, X-17); refused for a level without a period (X-19) and for a "
        "period that has ended (X-11)."
    )
    async def record_review(self, info: Ctx, input: RecordReviewInput) -> RecordReviewResult:
        context = info.context

        async def work() -> ReviewRecorded:
            command = MaintainDecision(
                item_ids=ids(input.item_ids),
                handler_id=str(input.handler_id),
                reasoning=input.reasoning,
                official_id=str(input.official_id) if input.official_id else None,
                consultation=input.consultation,
                decided_on=input.decided_on,
                expected_versions=_expected(input.expected_versions),
            )
            records = await context.call(record_review, command, context.actor)
            for r in records:
                context.redactor.shown[r.item_id] = None
            return ReviewRecorded(records=await types.records(context, records))

        return await attempt(work)


def _expected(values: list[ExpectedVersionInput]) -> dict[str, int]:
    expected: dict[str, int] = {}
    for value in values:
        item_id = str(value.item_id)
        if item_id in expected:
            raise InvalidValue("expectedVersions", f"「{item_id}」的版本给出了不止一次。")
        expected[item_id] = value.version
    return expected
