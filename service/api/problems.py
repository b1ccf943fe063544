"""Expected failures as typed results of the schema, mapped from graph.errors."""

from __future__ import annotations

import strawberry

from graph.errors import (
    AccessDenied,
    Conflict,
    DuplicateId,
    InvalidValue,
    LineageError,
    RuleViolation,
    UnknownId,
)


@strawberry.interface(
    description="An expected failure: the request was refused, nothing written. Which problem "
    "it is, its type says (`__typename`); every one has a message and the articles it cites."
)
class Problem:
    message: str = strawberry.field(description="A whole sentence in Chinese, for people.")
    articles: list[str] = strawberry.field(
        default_factory=list,
        description="The articles the refusal rests on, e.g. D-8; empty where no rule applies.",
    )


@strawberry.type(description="A value is malformed or out of range.")
class InvalidInput(Problem):
    field: str


@strawberry.type(description="No node with this id exists.")
class NotFound(Problem):
    kind: str
    id: strawberry.ID


@strawberry.type(description="A node with this id exists already; ids are unique.")
class AlreadyExists(Problem):
    kind: str
    id: strawberry.ID


@strawberry.type(name="RuleViolation", description="A rule of the regulations forbids this.")
class RuleViolationProblem(Problem):
    rule: str = strawberry.field(description="The rule's name, e.g. DERIVED_LEVEL.")


@strawberry.type(
    name="AccessDenied",
    description="The caller may not do this: it lacks a role, or acts in another's name.",
)
class AccessDeniedProblem(Problem):
    requirement: str = strawberry.field(
        description="What is missing: ROLE:OFFICIAL, ACT_AS_SELF, HANDLER_ROLE, PERSON."
    )


@strawberry.type(
    name="Conflict",
    description="Someone else decided on the node after the version this request was made on: "
    "read it again and decide anew.",
)
class ConflictProblem(Problem):
    kind: str
    id: strawberry.ID
    expected_version: int = strawberry.field(description="The version the request was made on.")
    current_version: int = strawberry.field(description="The version the node is at now.")


AnyProblem = (
    InvalidInput
    | NotFound
    | AlreadyExists
    | RuleViolationProblem
    | AccessDeniedProblem
    | ConflictProblem
)


def problem(error: LineageError) -> AnyProblem:
    match error:
        case AccessDenied():
            return AccessDeniedProblem(
                message=error.message, requirement=error.requirement, articles=list(error.articles)
            )
        case Conflict():
            return ConflictProblem(
                message=error.message,
                kind=error.kind,
                id=strawberry.ID(error.id),
                expected_version=error.expected,
                current_version=error.current,
                articles=list(error.articles),
            )
        case InvalidValue():
            return InvalidInput(
                message=error.message, field=error.field, articles=list(error.articles)
            )
        case UnknownId():
            # No articles: an id the caller may not read answers as one that does not exist.
            return NotFound(message=error.message, kind=error.kind, id=strawberry.ID(error.id))
        case DuplicateId():
            return AlreadyExists(
                message=error.message,
                kind=error.kind,
                id=strawberry.ID(error.id),
                articles=list(error.articles),
            )
        case RuleViolation():
            return RuleViolationProblem(
                message=error.message, rule=error.rule, articles=list(error.articles)
            )
        case _:
            return InvalidInput(message=error.message, field="", articles=list(error.articles))
