"""Whether a request may run, decided before anything runs (issue 21, point 5): its length, its
tokens, its depth, its aliases and its cost; then the rules of the specification.

Each step is bounded, so that any body the service accepts is refused or admitted in a few
tens of milliseconds (bench/abuse.py): the length before the parser reads a character (it
reads them one by one, in Python), the tokens while it parses, the depth, aliases and cost in
one walk linear in the document (service.api.measure), and graphql-core's own budgets on the
work of the rules that compare fields (OverlappingFieldsCanBeMergedRule) and follow fragments.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    parse,
)
from graphql.validation import validation_context
from graphql.validation.rules import overlapping_fields_can_be_merged
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from service.api.context import Context
from service.api.cost import cost_model
from service.api.measure import Measurement


@dataclass(frozen=True)
class Limits:
    """What one request may ask for, checked before anything runs: the length of its text and
    its tokens, the nesting of its selections, its aliases and its cost; and whether the
    schema may be read by introspection."""

    max_depth: int = 15
    max_aliases: int = 30
    max_tokens: int = 2_000
    max_length: int = 32_768
    max_cost: int = 100_000
    introspection: bool = True


# graphql-core meters the work of two rules and aborts the validation when it is spent; its
# defaults (500,000 units of field comparisons, 50,000 fragment steps) take most of a second
# here. These take a few milliseconds: the standard introspection query uses under 50 and 20
# of them, the documents of the viewer, the README and the tests as few.
COMPARISON_BUDGET = 2_000
FRAGMENT_BUDGET = 2_000

# The number of documents kept parsed, and validated, between requests.
CACHED_DOCUMENTS = 512


def bound_validation_work() -> None:
    """Sets graphql-core's budgets for this process (read when each validation starts)."""
    overlapping_fields_can_be_merged.MAX_COMPLEXITY_BUDGET = COMPARISON_BUDGET
    validation_context.MAX_FRAGMENT_WORK = FRAGMENT_BUDGET


@lru_cache(maxsize=CACHED_DOCUMENTS)
def parsed(query: str, max_tokens: int) -> DocumentNode:
    """A client sends the same few documents again and again: each is parsed once."""
    return parse(query, max_tokens=max_tokens)


@lru_cache(maxsize=CACHED_DOCUMENTS)
def validated(
    query: str, max_tokens: int, schema: GraphQLSchema, rules: tuple[type[ASTValidationRule], ...]
) -> list[GraphQLError]:
    """The rules of the specification, once per document. Keyed by its text, whose hash
    Python keeps, where a document's is computed again over all its nodes at each lookup."""
    document = parsed(query, max_tokens)
    return [_explained(e) for e in validate_document(schema, document, rules)]


def parse_request(limits: Limits, query: str) -> DocumentNode:
    """The document of a request, if its text is not longer, nor of more tokens, than the
    limits allow (a GraphQLError otherwise)."""
    if len(query) > limits.max_length:
        raise GraphQLError(
            f"请求的查询文本有 {len(query)} 个字符，超过上限 {limits.max_length}"
            "（LINEAGE_MAX_QUERY_LENGTH），未予解析：较长的值请放在 variables 中。",
            extensions={"code": "QUERY_TOO_LONG", "limit": limits.max_length},
        )
    try:
        return parsed(query, limits.max_tokens)
    except GraphQLSyntaxError as error:
        if error.message.endswith("tokens. Parsing aborted."):  # graphql-core's own limit
            raise GraphQLError(
                f"请求的查询文本超过 {limits.max_tokens} 个记号（LINEAGE_MAX_QUERY_TOKENS），"
                "未予解析。",
                extensions={"code": "TOO_MANY_TOKENS", "limit": limits.max_tokens},
            ) from None
        raise


def check_request(
    schema: GraphQLSchema,
    limits: Limits,
    query: str,
    variables: Mapping[str, object] | None,
    operation_name: str | None,
    rules: tuple[type[ASTValidationRule], ...],
) -> list[GraphQLError]:
    """Why the request (parsed by parse_request) may not run: its depth, aliases or cost,
    measured first and on its own, so that a document refused there never costs the rules of
    the specification (`rules`), which run next, once per document."""
    document = parsed(query, limits.max_tokens)
    measured = Measurement(
        schema, cost_model(schema), document, variables, operation_name, limits.max_cost
    )
    return measured.refusals(limits.max_depth, limits.max_aliases, limits.max_cost) or validated(
        query, limits.max_tokens, schema, rules
    )


# A request this short and this cheap runs on the server's loop (service.app), where it costs
# less than the hop to an executor thread and back: that hop took a quarter of the time of a
# small lineage (bench/requests.py). 5,000 units are 80 ms of work by the measure, which
# takes the largest size its arguments allow: the small lineages of the benchmark (to depth 3,
# counted as 513 nodes) hold 40 to 60 nodes and take 5 ms.
LIGHT_LENGTH = 2_048
LIGHT_COST = 5_000


def light(
    schema: GraphQLSchema,
    limits: Limits,
    query: str,
    variables: Mapping[str, object] | None,
    operation_name: str | None,
) -> bool:
    """Whether a request is short and cheap enough to run where it arrived; one refused at
    once is too."""
    if len(query) > LIGHT_LENGTH:
        return False
    try:
        document = parse_request(limits, query)
    except GraphQLError:
        return True
    measured = Measurement(
        schema, cost_model(schema), document, variables, operation_name, LIGHT_COST
    )
    refused = measured.refusals(limits.max_depth, limits.max_aliases, limits.max_cost)
    return bool(refused) or measured.cost <= LIGHT_COST


class Admission(SchemaExtension):
    """Parses and checks each request before it runs (parse_request, check_request): a
    refusal is a GraphQL error with its code, and nothing runs."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    def on_parse(self) -> Iterator[None]:
        execution = self.execution_context
        if execution.graphql_document is None and execution.query is not None:
            execution.graphql_document = parse_request(self.limits, execution.query)
        yield

    def on_validate(self) -> Iterator[None]:
        execution = self.execution_context
        document, query = execution.graphql_document, execution.query
        if document is not None and query is not None and execution.pre_execution_errors is None:
            context = execution.context
            if isinstance(context, Context):  # named for the audit trail, refused or not
                context.operation = operation_label(document, execution.operation_name)
            execution.pre_execution_errors = check_request(
                execution.schema._schema,
                self.limits,
                query,
                execution.variables,
                execution.operation_name,
                tuple(execution.validation_rules),
            )
        yield


def operation_label(document: DocumentNode, operation_name: str | None) -> str:
    """What a request asks, e.g. "query lineage,item": its kind and top-level fields."""
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            operation_name is None
            or (definition.name is not None and definition.name.value == operation_name)
        ):
            names = [
                s.name.value
                for s in definition.selection_set.selections
                if isinstance(s, FieldNode)
            ]
            return f"{definition.operation.value} {','.join(dict.fromkeys(names))}".strip()
    return ""


def _explained(error: GraphQLError) -> GraphQLError:
    if isinstance(error, ValidationAbortedError):
        return GraphQLError(
            "校验此请求所需的工作超过上限，未予执行：请减少重复的字段、别名和片段。",
            extensions={"code": "QUERY_TOO_COMPLEX"},
        )
    return error
