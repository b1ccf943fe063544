"""The measurement of a document (service.api.measure) and its cost (service.api.cost), issue
21, point 5: linear work whatever the fragments, the limits as the strawberry limiters it
replaces drew them, and costs from the size bounds of the fields."""

from __future__ import annotations

from graphql import parse, validate
from hypothesis import given, settings
from hypothesis import strategies as st
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter

from service.api import cost
from service.api.admission import Limits, light
from service.api.measure import CAP, Measurement
from service.api.schema import schema
from service.rate_limit import RateLimit

SCHEMA = schema._schema
MODEL = cost.cost_model(SCHEMA)


def measured(query: str, variables: dict[str, object] | None = None) -> Measurement:
    return Measurement(SCHEMA, MODEL, parse(query), variables)


def bomb(levels: int) -> str:
    """Each fragment spreads the next one twice: 2^levels spreads when expanded."""
    parts = ['query { item(id: "x") { ...F0 } }']
    parts += [f"fragment F{i} on Item {{ a: id ...F{i + 1} ...F{i + 1} }}" for i in range(levels)]
    parts.append(f"fragment F{levels} on Item {{ id }}")
    return "\n".join(parts)


def test_every_root_field_and_list_of_objects_has_a_weight() -> None:
    assert cost.unlisted(SCHEMA) == []


def test_the_fragment_bomb_is_measured_in_work_linear_in_its_size() -> None:
    visits = {n: measured(bomb(n)).visits for n in (10, 20, 40, 80, 160)}
    # Three selections a fragment (an alias, two spreads), one in the last, two in the
    # operation: each visited once.
    assert visits == {n: 3 * n + 3 for n in visits}
    found = measured(bomb(160))
    assert len(found.fragments) == 161  # each measured once
    # Aliases count once per spread, as the limiter counted them (up to where sizes stop).
    assert measured(bomb(20)).aliases == 2**20 - 1
    assert found.aliases == CAP
    refused = found.refusals(max_depth=15, max_aliases=30, max_cost=100_000)
    assert [e.extensions["code"] for e in refused] == ["TOO_MANY_ALIASES"]  # type: ignore[index]


def test_a_fragment_cycle_is_refused_and_measured_once() -> None:
    for query, through in (
        ('{ item(id: "x") { ...A } } fragment A on Item { id ...A }', "直接"),
        (
            '{ item(id: "x") { ...A } } fragment A on Item { ...B } fragment B on Item '
            "{ records { id } ...C } fragment C on Item { ...A }",
            "经「B」、「C」",
        ),
    ):
        found = measured(query)
        refused = found.refusals(max_depth=15, max_aliases=30, max_cost=100_000)
        assert refused[0].extensions == {"code": "FRAGMENT_CYCLE"}
        assert refused[0].message == f"片段「A」{through}展开了自身：片段不得循环引用，未予执行。"
        assert found.visits < 10


# The limits as strawberry's limiters drew them, on documents of nested selections, aliases
# and acyclic fragments of any names (the fields need not exist: depth and aliases are counted
# before the fields are checked).

NAMES = st.sampled_from(["a", "b", "item", "id"])


@st.composite
def selections(draw: st.DrawFn, spreadable: range, depth: int = 0) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["field", "nested", "spread", "inline"]))
        alias = draw(st.sampled_from(["", "x: "]))
        name = draw(NAMES)
        if kind == "nested" and depth < 5:
            parts.append(f"{alias}{name} {{ {draw(selections(spreadable, depth + 1))} }}")
        elif kind == "spread" and spreadable:
            parts.append(f"...F{draw(st.sampled_from(spreadable))}")
        elif kind == "inline" and depth < 5:
            parts.append(f"... {{ {draw(selections(spreadable, depth + 1))} }}")
        else:
            parts.append(f"{alias}{name}")
    return " ".join(parts)


@st.composite
def documents(draw: st.DrawFn) -> str:
    count = draw(st.integers(0, 4))
    # Fragment i spreads only fragments after it: no cycle.
    fragments = [
        f"fragment F{i} on Item {{ {draw(selections(range(i + 1, count)))} }}" for i in range(count)
    ]
    operations = [
        f"query Q{n} {{ {draw(selections(range(count)))} }}" for n in range(draw(st.integers(1, 2)))
    ]
    return "\n".join([*operations, *fragments])


@settings(max_examples=100, deadline=None)
@given(documents(), st.integers(0, 6), st.integers(0, 6))
def test_depth_and_aliases_are_refused_as_the_limiters_refused_them(
    document: str, depth: int, aliases: int
) -> None:
    parsed = parse(document)
    rules = [
        *QueryDepthLimiter(max_depth=depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=aliases).validation_rules,
    ]
    theirs = validate(SCHEMA, parsed, rules, max_errors=10**6)
    ours = Measurement(SCHEMA, MODEL, parsed).refusals(depth, aliases, 10**12)
    deep = any("depth" in e.message for e in theirs)
    many = any("aliases found" in e.message for e in theirs)
    codes = {str((e.extensions or {})["code"]) for e in ours}
    assert deep == ("QUERY_TOO_DEEP" in codes)
    assert many == ("TOO_MANY_ALIASES" in codes)


# Costs.


def test_a_lineage_costs_by_its_depth_and_its_fields() -> None:
    shallow = measured('{ lineage(id: "x", depth: 1, direction: DOWNSTREAM) { __typename } }')
    deeper = measured('{ lineage(id: "x", depth: 2, direction: DOWNSTREAM) { __typename } }')
    whole = measured('{ lineage(id: "x") { __typename } }')
    assert (shallow.cost, deeper.cost, whole.cost) == (2 * 9, 2 * 65, 2 * cost.REACH)
    fields = measured(
        '{ lineage(id: "x", depth: 1, direction: DOWNSTREAM) { ... on Lineage { '
        "nodes { id item { id } } edges { childId } } } }"
    )
    # The traversal (9 nodes), then per node: the lineage, a node with its item, two edges.
    assert fields.cost == 9 + 9 * (1 + (1 + 1) + cost.EDGES_PER_NODE)


def test_exports_cost_by_format_and_thirty_graphml_exports_pass_the_budget() -> None:
    def export(format: str) -> int:
        return measured(f'{{ lineageExport(id: "x", format: {format}) {{ __typename }} }}').cost

    assert export("GRAPHML") > export("JSON") > export("DOT") == export("MERMAID") > cost.REACH
    thirty = measured(
        "{ "
        + " ".join(
            f'e{i}: lineageExport(id: "x", format: GRAPHML) {{ __typename }}' for i in range(30)
        )
        + " }"
    )
    assert thirty.cost == 30 * (export("GRAPHML"))
    refused = thirty.refusals(max_depth=15, max_aliases=30, max_cost=100_000)
    assert refused[0].extensions == {
        "code": "QUERY_TOO_COSTLY",
        "cost": thirty.cost,
        "budget": 100_000,
    }
    assert refused[0].message == (
        f"请求的估计代价为 {thirty.cost}，超过每个请求 100000 的上限（LINEAGE_MAX_QUERY_COST），"
        "未予执行：请减小 depth 或 first、少选字段，或分为几个请求。"
    )


def test_pages_and_forms_multiply_by_their_arguments_and_variables() -> None:
    page = (
        "query($n: Int!) { items(first: $n) { ... on ItemConnection { edges { node { id } } } } }"
    )
    assert measured(page, {"n": 10}).cost == 2 + 10 * (1 + (1 + 1)) + 1
    assert measured(page, {"n": 1_000_000}).cost == 2 + 500 * 3 + 1  # the page is at most 500
    assert measured(page.replace("$n: Int!", "$n: Int = 20"), {}).cost == 2 + 20 * 3
    forms = "query($ids: [ID!]!) { reviewForm(recordIds: $ids) { ... on PrintedForm { pdf } } }"
    two, four = measured(forms, {"ids": ["a", "b"]}), measured(forms, {"ids": list("abcd")})
    assert four.cost - two.cost == 2 * cost.FORM_ROW + 2  # two more rows, two more values
    assert two.cost == 2 + 2 * cost.FORM_ROW + 1 + cost.FORM["pdf"] + 1 + 2
    impact = (
        '{ impactAnalysis(change: {itemId: "x", declassify: true}) { ... on ImpactAnalysis '
        "{ impacts(first: 3) { item { id } } } } }"
    )
    assert measured(impact).cost == cost.REACH + 1 + 3 * (1 + 1)


def test_the_values_of_variables_count_and_their_counting_stops_at_the_budget() -> None:
    query = "query($ids: [ID!]!) { reviewForm(recordIds: $ids) { __typename } }"
    document = parse(query)
    flat = Measurement(SCHEMA, MODEL, document, {"ids": ["a"] * 1000})
    assert flat.input_values == 1 + 1000
    nested = Measurement(SCHEMA, MODEL, document, {"ids": [[["a"] * 10] * 10] * 10})
    assert nested.input_values == 1 + 10 + 100 + 1000
    # Undeclared variables are not coerced: they cost nothing.
    assert Measurement(SCHEMA, MODEL, document, {"ids": [], "x": [0] * 99}).input_values == 1
    stopped = Measurement(SCHEMA, MODEL, document, {"ids": [[0]] * 10**6}, enough=100)
    assert 100 < stopped.input_values <= 10**6 + 1


# The rate limit, on a clock the test moves (declared fake: the time source, nothing else).


def test_a_user_gets_the_burst_then_the_rate() -> None:
    now = [100.0]
    limit = RateLimit(rate=2, burst=3, clock=lambda: now[0])
    assert [limit.take("a") for _ in range(3)] == [0, 0, 0]
    assert limit.take("a") == 0.5  # one more in half a second, at two a second
    assert limit.take("b") == 0  # another user has a bucket of its own
    now[0] += 0.5
    assert limit.take("a") == 0
    assert limit.take("a") == 0.5
    now[0] += 60
    assert [limit.take("a") for _ in range(4)] == [0, 0, 0, 0.5]  # full again, never above
    assert RateLimit(rate=0, burst=1).take("a") == 0  # a rate of 0: no limit


def test_only_short_and_cheap_requests_are_light() -> None:
    limits = Limits()
    small = (
        'query { lineage(id: "x", direction: DOWNSTREAM, depth: 3) { ... on Lineage '
        "{ nodes { id item { id title marking } } edges { childId parentId } } } }"
    )
    assert light(SCHEMA, limits, small, None, None)  # the viewer's and the benchmark's
    assert light(SCHEMA, limits, bomb(21), None, None)  # refused at once: its aliases
    assert not light(SCHEMA, limits, '{ lineage(id: "x") { __typename } }', None, None)
    assert not light(SCHEMA, limits, "{ me { userId } }" + " " * 3_000, None, None)
    forms = "query($ids: [ID!]!) { reviewForm(recordIds: $ids) { ... on PrintedForm { pdf } } }"
    assert light(SCHEMA, limits, forms, {"ids": ["a"]}, None)
    assert not light(SCHEMA, limits, forms, {"ids": ["a"] * 100}, None)
