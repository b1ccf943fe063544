"""The API's conventions (README, "API conventions (接口约定)", issue 23 point 6), checked on the
schema a client reads by introspection over HTTP: whatever field is added, it follows them,
or is deprecated with a reason that names what replaces it.

- A lookup by id answers null; anything else that names an id answers a result union, where
  an id unknown or unreadable is NotFound.
- Every result union, every mutation's among them, is its answer or one of the problems, all
  of them; every problem has a message and the articles it cites.
- Every list a client pages through is a Relay connection (edges, pageInfo, totalCount; edges
  with cursor and node), taking `first` and `after`, never an offset; a list of objects that
  is not a connection is a part of one object, bounded by it (service.api.cost weighs it so),
  or one of the few documents answered whole (service.api.cost.WHOLE), or deprecated.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from graphql import (
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    build_client_schema,
    get_introspection_query,
    get_named_type,
    get_nullable_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
    is_union_type,
)

from service.api import cost
from service.api.schema import schema as served_schema
from service.usecases import MAX_PAGE
from tests.e2e.conftest import Api, Gql

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def introspected(gql: Gql) -> dict[str, Any]:
    """What a client learns of the schema: by introspection, over HTTP."""
    assert isinstance(gql, Api)
    answer = gql.post(get_introspection_query(descriptions=True))
    assert "errors" not in answer, answer.get("errors")
    data: dict[str, Any] = answer["data"]
    return data


@pytest.fixture
def schema(introspected: dict[str, Any]) -> GraphQLSchema:
    return build_client_schema(introspected)  # type: ignore[arg-type]


def default_of(introspected: dict[str, Any], kind: str, field: str, argument: str) -> str | None:
    """An argument's default as introspection gives it, in GraphQL's syntax."""
    (found,) = [t for t in introspected["__schema"]["types"] if t["name"] == kind]
    (named,) = [f for f in found["fields"] if f["name"] == field]
    (arg,) = [a for a in named["args"] if a["name"] == argument]
    value: str | None = arg["defaultValue"]
    return value


def fields(schema: GraphQLSchema) -> Iterator[tuple[GraphQLObjectType, str, GraphQLField]]:
    for name, kind in schema.type_map.items():
        if not name.startswith("__") and isinstance(kind, GraphQLObjectType):
            for field_name, field in kind.fields.items():
                yield kind, field_name, field


def reachable(schema: GraphQLSchema) -> set[str]:
    """`Type.field` of every field a client reaches from the roots through fields that are not
    deprecated: what a client written today uses."""
    roots = [schema.query_type, schema.mutation_type, schema.subscription_type]
    seen: set[str] = set()
    found: set[str] = set()
    todo: list[GraphQLObjectType | GraphQLUnionType | GraphQLInterfaceType] = [
        r for r in roots if r is not None
    ]
    while todo:
        kind = todo.pop()
        if kind.name in seen:
            continue
        seen.add(kind.name)
        if isinstance(kind, GraphQLUnionType):
            todo.extend(kind.types)
            continue
        if not isinstance(kind, GraphQLObjectType | GraphQLInterfaceType):
            continue
        for name, field in kind.fields.items():
            if field.deprecation_reason:
                continue
            found.add(f"{kind.name}.{name}")
            named = get_named_type(field.type)
            if isinstance(named, GraphQLObjectType | GraphQLUnionType | GraphQLInterfaceType):
                todo.append(named)
    return found


def problems(schema: GraphQLSchema) -> set[str]:
    problem = schema.get_type("Problem")
    assert isinstance(problem, GraphQLInterfaceType)
    return {t.name for t in schema.get_possible_types(problem)}


# The problems every result union holds; a mutation may add one of its own that carries what
# only it can say (LineageCycle's path), as long as it is a Problem.
COMMON = {"InvalidInput", "NotFound", "AlreadyExists", "RuleViolation", "AccessDenied", "Conflict"}


def answer_of(schema: GraphQLSchema, field: GraphQLField) -> Any:
    """The named type a field answers with: a result union's one member that is no problem."""
    named = get_named_type(field.type)
    if isinstance(named, GraphQLUnionType):
        members = [t for t in named.types if t.name not in problems(schema)]
        assert len(members) == 1, named.name
        return members[0]
    return named


def is_connection(kind: Any) -> bool:
    return isinstance(kind, GraphQLObjectType) and kind.name.endswith("Connection")


def test_the_schema_a_client_reads_is_the_one_served(schema: GraphQLSchema) -> None:
    assert set(schema.type_map) == set(served_schema._schema.type_map)


def test_every_problem_has_a_message_and_its_articles(schema: GraphQLSchema) -> None:
    found = problems(schema)
    assert {"InvalidInput", "NotFound", "AccessDenied", "RuleViolation"} <= found
    for name in found:
        kind = schema.get_type(name)
        assert isinstance(kind, GraphQLObjectType)
        assert str(kind.fields["message"].type) == "String!", name
        assert str(kind.fields["articles"].type) == "[String!]!", name


def test_every_result_union_is_its_answer_or_any_problem(schema: GraphQLSchema) -> None:
    every = problems(schema)
    assert every >= COMMON
    unions = [t for n, t in schema.type_map.items() if isinstance(t, GraphQLUnionType)]
    assert unions
    for union in unions:
        members = {t.name for t in union.types}
        assert union.name.endswith("Result"), union.name
        assert members >= COMMON, (union.name, COMMON - members)
        assert len(members - every) == 1, union.name


def test_every_mutation_answers_a_result_union_with_every_problem(schema: GraphQLSchema) -> None:
    assert schema.mutation_type is not None
    for name, field in schema.mutation_type.fields.items():
        assert is_non_null_type(field.type), name
        union = get_nullable_type(field.type)
        assert is_union_type(union), name
        assert {t.name for t in union.types} >= COMMON, name


def test_a_lookup_by_id_answers_null_and_a_computation_a_union_with_not_found(
    schema: GraphQLSchema,
) -> None:
    assert schema.query_type is not None
    checked = []
    for name, field in schema.query_type.fields.items():
        # What needs an id (a filter by one, organisationId = null, is no lookup).
        if field.deprecation_reason or not any(
            is_non_null_type(a.type) and str(get_nullable_type(a.type)) in ("ID", "[ID!]")
            for a in field.args.values()
        ):
            continue
        named = get_nullable_type(field.type)
        if is_object_type(named):
            # A lookup: null for an id that does not exist and one the caller may not read.
            assert not is_non_null_type(field.type), name
        elif is_union_type(named):
            assert "NotFound" in {t.name for t in named.types}, name
        checked.append(name)
    assert {"item", "notice", "lineage"} <= set(checked)


def test_every_connection_has_edges_page_info_and_a_total_count(schema: GraphQLSchema) -> None:
    connections = [t for t in schema.type_map.values() if is_connection(t)]
    assert len(connections) >= 8
    for connection in connections:
        assert isinstance(connection, GraphQLObjectType)
        got = connection.fields
        assert str(got["pageInfo"].type) == "PageInfo!", connection.name
        assert str(got["totalCount"].type) == "Int!", connection.name
        assert not got["totalCount"].deprecation_reason, connection.name
        edges = got["edges"].type
        assert isinstance(edges, GraphQLNonNull)
        assert isinstance(edges.of_type, GraphQLList)
        edge = get_named_type(edges)
        assert isinstance(edge, GraphQLObjectType)
        assert edge.name == connection.name.removesuffix("Connection") + "Edge"
        assert str(edge.fields["cursor"].type) == "String!", edge.name
        node = edge.fields["node"].type
        assert is_non_null_type(node), edge.name
        assert is_object_type(get_nullable_type(node)), edge.name
    page_info = schema.get_type("PageInfo")
    assert isinstance(page_info, GraphQLObjectType)
    assert str(page_info.fields["hasNextPage"].type) == "Boolean!"
    assert str(page_info.fields["endCursor"].type) == "String"


def test_what_takes_first_is_a_connection_paged_by_first_and_after(
    schema: GraphQLSchema, introspected: dict[str, Any]
) -> None:
    paged = []
    for kind, name, field in fields(schema):
        if field.deprecation_reason or "first" not in field.args:
            continue
        key = f"{kind.name}.{name}"
        assert is_connection(answer_of(schema, field)), key
        assert str(field.args["first"].type) == "Int!", key
        default = default_of(introspected, kind.name, name, "first")
        assert default is not None, key
        assert default.isdigit(), key
        assert 1 <= int(default) <= MAX_PAGE, key
        assert str(field.args["after"].type) == "String", key
        assert "offset" not in field.args, key
        paged.append(key)
    assert {"Query.items", "Query.notices", "ImpactAnalysis.entries"} <= set(paged)


def test_a_connection_answers_only_what_takes_first_and_after(schema: GraphQLSchema) -> None:
    for kind, name, field in fields(schema):
        if is_connection(answer_of(schema, field)) and not field.deprecation_reason:
            assert {"first", "after"} <= set(field.args), f"{kind.name}.{name}"


def test_every_list_of_objects_is_a_connection_a_part_or_whole_by_design(
    schema: GraphQLSchema,
) -> None:
    """A list of objects that is not a connection is, in what a client reaches without
    deprecated fields: the edges of a connection; a part of one object, bounded by it (its
    weight in service.api.cost: at most cost.SMALL entries, and never at a root); or one of
    the documents answered whole (cost.WHOLE)."""
    used = reachable(schema)
    roots = {schema.query_type, schema.mutation_type, schema.subscription_type}
    offending = []
    for kind, name, field in fields(schema):
        key = f"{kind.name}.{name}"
        if key not in used or field.deprecation_reason:
            continue
        named = get_named_type(field.type)
        listing = is_list_type(get_nullable_type(field.type)) and isinstance(
            named, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType
        )
        if not listing or (is_connection(kind) and name == "edges"):
            continue
        if key in cost.WHOLE:
            continue
        weight = cost.WEIGHTS.get(key, cost.UNLISTED)
        bounded = isinstance(weight.times, int) and weight.times <= cost.SMALL
        if kind in roots or not bounded:
            offending.append(key)
    assert offending == []


def test_deprecated_fields_say_why_and_what_replaces_them(schema: GraphQLSchema) -> None:
    deprecated = 0
    for kind, name, field in fields(schema):
        reason = field.deprecation_reason
        if reason is None:
            continue
        deprecated += 1
        key = f"{kind.name}.{name}"
        assert reason.strip(), key
        assert reason != "No longer supported", key
        named = re.match(r"Use `(\w+)", reason)
        if named:
            replacement = named.group(1)
            assert schema.query_type is not None
            assert replacement in kind.fields or replacement in schema.query_type.fields, (
                key,
                replacement,
            )
            assert replacement != name, key
    assert deprecated >= 5
