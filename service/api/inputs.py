"""Inputs, cursors and the problem mapping shared by the schema's modules."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from enum import Enum
from typing import TypeVar

import strawberry
from graphql import GraphQLError

from graph import model
from graph.errors import InvalidValue, LineageError
from service import usecases
from service.api import types

# The cursors live in service.api.cursors (types use them too); kept importable from here.
from service.api.cursors import decode_cursor as decode_cursor
from service.api.cursors import decode_position as decode_position
from service.api.cursors import encode_cursor as encode_cursor
from service.api.cursors import encode_position as encode_position
from service.api.problems import AnyProblem, problem
from service.impact import ProposedChange

T = TypeVar("T")


@strawberry.input(description="保密期限. `start` defaults to the item's date.")
class PeriodInput:
    kind: types.PeriodKind
    years: int | None = None
    start: date | None = None
    until: date | None = None
    condition: str | None = None

    def to_spec(self) -> usecases.PeriodSpec:
        return usecases.PeriodSpec(
            model.PeriodKind(self.kind.value), self.years, self.start, self.until, self.condition
        )


@strawberry.input(description="知悉范围: person and organisation ids (D-10).")
class ScopeInput:
    persons: list[strawberry.ID] = strawberry.field(default_factory=list)
    organisations: list[strawberry.ID] = strawberry.field(default_factory=list)

    def to_scope(self) -> model.KnowledgeScope:
        return model.KnowledgeScope(
            frozenset(str(p) for p in self.persons), frozenset(str(o) for o in self.organisations)
        )


@strawberry.enum(description="What a declassified item becomes (X-25).")
class Afterwards(Enum):
    WORK_SECRET = "WORK_SECRET"
    PUBLIC = "PUBLIC"


@strawberry.input(
    description="A proposed change of a source: a new level or period, its declassification, "
    "or the declassification of some of its keypoints (X-14)."
)
class ProposedChangeInput:
    item_id: strawberry.ID
    level: types.Level | None = None
    period: PeriodInput | None = None
    declassify: bool = False
    afterwards: Afterwards = Afterwards.WORK_SECRET
    keypoint_ids: list[strawberry.ID] = strawberry.field(default_factory=list)

    def to_change(self) -> ProposedChange:
        return ProposedChange(
            item_id=str(self.item_id),
            level=level_of(self.level),
            period=self.period.to_spec() if self.period else None,
            declassify=self.declassify,
            afterwards=model.ItemStatus.DECLASSIFIED_PUBLIC
            if self.afterwards is Afterwards.PUBLIC
            else model.ItemStatus.DECLASSIFIED_WORK_SECRET,
            keypoint_ids=ids(self.keypoint_ids),
        )


async def attempt(
    work: Callable[[], Awaitable[T]],
) -> T | AnyProblem:
    try:
        return await work()
    except LineageError as error:
        return problem(error)


async def paged(work: Callable[[], Awaitable[T]]) -> T:
    """A connection inside an answer (not a root field) fails only on its arguments (`first`,
    `after`): its problem is an error of the request naming the field (README, API
    conventions), since the answer around it has no union to hold one."""
    try:
        return await work()
    except InvalidValue as error:
        raise GraphQLError(error.message, extensions={"field": error.field}) from error


def ids(values: list[strawberry.ID]) -> tuple[str, ...]:
    return tuple(str(v) for v in values)


def level_of(value: types.Level | None) -> model.Level | None:
    return None if value is None else model.Level(value.value)
