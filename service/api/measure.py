"""The size of a GraphQL document, in time linear in it (issue 21, point 5): the deepest nesting
of each operation, its aliases, and the cost of the operation to run (service.api.cost).

Each fragment is measured once, and each spread adds what its fragment measured: a fragment
spread twice by the one before it, twenty times over, is twenty fragments to measure, not a
million selections to walk (the limiters this replaces walked every spread). Fragments are
measured in an order where the ones a fragment spreads come first, found by a walk without
recursion; a fragment that spreads itself, through others or not, is refused, as graphql-core
refuses it (NoFragmentCyclesRule), and measured as if the spread were not there.

It runs on its own, before graphql-core's validation rather than as one of its rules: their
visit of the whole document (with the type of every node) costs more than this walk, and a
document refused here needs none of it (service.api.admission).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from graphql import (
    BooleanValueNode,
    DocumentNode,
    EnumValueNode,
    FieldNode,
    FloatValueNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
    get_named_type,
)
from graphql.pyutils import Undefined
from graphql.type.introspection import (
    SchemaMetaFieldDef,
    TypeMetaFieldDef,
    TypeNameMetaFieldDef,
)

from service.api.cost import INPUT_VALUE, CostModel

# Sizes saturate here: a document of a few thousand tokens can describe an answer of 2^1000
# objects, and arithmetic on such numbers would be work of its own.
CAP = 10**15


@dataclass(frozen=True)
class Size:
    """What a selection set (an operation, a fragment) holds: its deepest nesting, the aliases
    it uses (those of its fragments once per spread), and its cost."""

    depth: int = 0
    aliases: int = 0
    cost: int = 0


NONE = Size()


class Measurement:
    """One document measured for one request: `variables` and `operation_name` choose the
    operation whose cost counts (every operation's depth counts, and the aliases of all)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        model: CostModel,
        document: DocumentNode,
        variables: Mapping[str, object] | None = None,
        operation_name: str | None = None,
        enough: int = CAP,
    ) -> None:
        """`enough`: past this many, the values of the variables are not counted further (the
        budget: the request is refused by then)."""
        self._schema = schema
        self._model = model
        self.visits = 0  # selections visited: the work done, linear in the document
        self.fragments: dict[str, Size] = {}
        self.cycle: GraphQLError | None = None
        definitions = document.definitions
        self._fragments = {
            d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
        self.chosen = _chosen(self.operations, operation_name)
        self._variables = _variables(self.chosen, variables or {})
        for name in self._order():
            fragment = self._fragments[name]
            kind = self._schema.get_type(fragment.type_condition.name.value)
            self.fragments[name] = self._selections(fragment.selection_set, kind)
        self.sizes = [
            self._selections(o.selection_set, self._schema.get_root_type(o.operation))
            for o in self.operations
        ]
        self.input_values = _values(variables or {}, self.chosen, enough) if self.chosen else 0

    @property
    def cost(self) -> int:
        """The cost of the operation that runs (or of the dearest, when none is chosen), with
        the values of its variables."""
        chosen = [s for o, s in zip(self.operations, self.sizes, strict=True) if o is self.chosen]
        runs = max((s.cost for s in chosen or self.sizes), default=0)
        return min(CAP, runs + self.input_values * INPUT_VALUE)

    @property
    def aliases(self) -> int:
        return min(CAP, sum(s.aliases for s in self.sizes))

    def refusals(self, max_depth: int, max_aliases: int, max_cost: int) -> list[GraphQLError]:
        """Why the document may not run, each with its code, the limit and its setting."""
        refused = [] if self.cycle is None else [self.cycle]
        for operation, size in zip(self.operations, self.sizes, strict=True):
            if size.depth > max_depth:
                named = f"操作「{operation.name.value}」" if operation.name else "该操作"
                refused.append(
                    GraphQLError(
                        f"{named}的嵌套深度为 {size.depth}，超过上限 {max_depth}"
                        "（LINEAGE_MAX_QUERY_DEPTH），未予执行。",
                        operation,
                        extensions={
                            "code": "QUERY_TOO_DEEP",
                            "depth": size.depth,
                            "limit": max_depth,
                        },
                    )
                )
        if self.aliases > max_aliases:
            refused.append(
                GraphQLError(
                    f"请求使用了 {self.aliases} 个别名，超过上限 {max_aliases}"
                    "（LINEAGE_MAX_QUERY_ALIASES），未予执行。",
                    extensions={
                        "code": "TOO_MANY_ALIASES",
                        "aliases": self.aliases,
                        "limit": max_aliases,
                    },
                )
            )
        if not refused and self.cost > max_cost:
            refused.append(too_costly(self.cost, max_cost))
        return refused

    # The fragments, those a fragment spreads before it.

    def _order(self) -> list[str]:
        spreads = {name: list(_spreads(f.selection_set)) for name, f in self._fragments.items()}
        order: list[str] = []
        state: dict[str, bool] = {}  # False while on the path, True once ordered
        for root in self._fragments:
            if root in state:
                continue
            state[root] = False
            path: list[tuple[str, Iterator[FragmentSpreadNode]]] = [(root, iter(spreads[root]))]
            while path:
                name, rest = path[-1]
                for spread in rest:
                    target = spread.name.value
                    if target not in self._fragments:
                        continue  # unknown: KnownFragmentNamesRule says so
                    if target not in state:
                        state[target] = False
                        path.append((target, iter(spreads[target])))
                        break
                    if not state[target] and self.cycle is None:
                        names = [n for n, _ in path]
                        self.cycle = _cycle(names[names.index(target) :], spread)
                else:
                    path.pop()
                    state[name] = True
                    order.append(name)
        return order

    # The walk of one definition: spreads read what their fragment measured.

    def _selections(self, selections: SelectionSetNode, parent: GraphQLNamedType | None) -> Size:
        depth = aliases = cost = 0
        for selection in selections.selections:
            self.visits += 1
            if isinstance(selection, FieldNode):
                size = self._field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                kind = self._schema.get_type(condition.name.value) if condition else parent
                size = self._selections(selection.selection_set, kind)
            elif isinstance(selection, FragmentSpreadNode):
                # Measured before, or closing a cycle (refused): nothing more to add.
                size = self.fragments.get(selection.name.value, NONE)
            else:  # pragma: no cover - the three kinds of selection
                continue
            depth = max(depth, size.depth)
            aliases += size.aliases
            cost += size.cost
        return Size(depth, min(aliases, CAP), min(cost, CAP))

    def _field(self, node: FieldNode, parent: GraphQLNamedType | None) -> Size:
        name = node.name.value
        aliases = 1 if node.alias else 0
        field = _field_of(parent, name)
        kind = get_named_type(field.type) if field is not None else None
        inner = NONE if node.selection_set is None else self._selections(node.selection_set, kind)
        # The schema's own description (__schema, __type) is not limited in depth; its cost
        # is counted like any other (service.api.cost.introspection).
        depth = 0 if node.selection_set is None or name.startswith("__") else 1 + inner.depth
        aliases += inner.aliases
        if field is None or parent is None:  # unknown: FieldsOnCorrectTypeRule says so
            return Size(depth, aliases, inner.cost)
        weight, entry = self._model.weight(parent.name, name, field)
        own, times = weight.of(self._arguments(node, field) if weight.needs_arguments else {})
        return Size(depth, aliases, min(CAP, own + times * (entry + inner.cost)))

    def _arguments(self, node: FieldNode, field: GraphQLField) -> dict[str, object]:
        given = {a.name.value: a.value for a in node.arguments or ()}
        found: dict[str, object] = {}
        for name, argument in field.args.items():
            if name in given:
                found[name] = self._value(given[name])
            elif argument.default_value is not Undefined:
                found[name] = _plain(argument.default_value)
        return found

    def _value(self, node: ValueNode) -> object:
        """The value of an argument as the cost model reads it; None where not known."""
        if isinstance(node, VariableNode):
            return self._variables.get(node.name.value)
        if isinstance(node, IntValueNode):
            try:
                return int(node.value)
            except ValueError:  # more digits than Python converts: the resolver refuses it
                return None
        if isinstance(node, StringValueNode | EnumValueNode):
            return node.value
        if isinstance(node, BooleanValueNode):
            return node.value
        if isinstance(node, FloatValueNode):
            return None
        if isinstance(node, ListValueNode):
            return [self._value(v) for v in node.values]
        if isinstance(node, ObjectValueNode):
            return {f.name.value: self._value(f.value) for f in node.fields}
        return None


def too_costly(cost: int, budget: int) -> GraphQLError:
    return GraphQLError(
        f"请求的估计代价为 {cost}，超过每个请求 {budget} 的上限（LINEAGE_MAX_QUERY_COST），"
        "未予执行：请减小 depth 或 first、少选字段，或分为几个请求。",
        extensions={"code": "QUERY_TOO_COSTLY", "cost": cost, "budget": budget},
    )


def _chosen(
    operations: Sequence[OperationDefinitionNode], name: str | None
) -> OperationDefinitionNode | None:
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name is not None and o.name.value == name), None)


def _variables(
    operation: OperationDefinitionNode | None, given: Mapping[str, object]
) -> dict[str, object]:
    """The variables as sent, and the defaults of those not sent."""
    found: dict[str, object] = dict(given)
    for definition in (operation.variable_definitions or ()) if operation else ():
        name = definition.variable.name.value
        if name not in found and definition.default_value is not None:
            found[name] = _literal(definition.default_value)
    return found


def _literal(node: ValueNode) -> object:
    if isinstance(node, IntValueNode):
        try:
            return int(node.value)
        except ValueError:
            return None
    if isinstance(node, StringValueNode | EnumValueNode | BooleanValueNode):
        return node.value
    if isinstance(node, ListValueNode):
        return [_literal(v) for v in node.values]
    if isinstance(node, ObjectValueNode):
        return {f.name.value: _literal(f.value) for f in node.fields}
    return None


def _plain(value: Any) -> object:
    """A default of the schema as a client would write it (an enum by its name)."""
    return value.name if isinstance(value, Enum) else value


def _values(given: Mapping[str, object], operation: OperationDefinitionNode, enough: int) -> int:
    """How many values (list entries, input object fields) the declared variables hold: each
    is coerced by graphql-core before anything runs. Counting stops past `enough`, before the
    entries of a list that takes it there are looked at."""
    declared = {d.variable.name.value for d in operation.variable_definitions or ()}
    stack: list[object] = [v for k, v in given.items() if k in declared]
    count = len(stack)
    while stack and count <= enough:
        value = stack.pop()
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            count += len(value)
            if count <= enough:
                stack.extend(v for v in value if isinstance(v, list | dict))
    return min(count, CAP)


def _field_of(parent: GraphQLNamedType | None, name: str) -> GraphQLField | None:
    if name.startswith("__"):
        return _META.get(name) if parent is not None else None
    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        found: GraphQLField | None = parent.fields.get(name)
        return found
    return None


# The fields every schema has without listing them (graphql-core's TypeInfo does the same).
_META = {
    "__schema": SchemaMetaFieldDef,
    "__type": TypeMetaFieldDef,
    "__typename": TypeNameMetaFieldDef,
}


def _spreads(selections: SelectionSetNode) -> Iterator[FragmentSpreadNode]:
    """The spreads within a selection set, at any depth, without following them."""
    pending = [selections]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                yield selection
            elif (
                isinstance(selection, FieldNode | InlineFragmentNode)
                and selection.selection_set is not None
            ):
                pending.append(selection.selection_set)


def _cycle(names: list[str], spread: FragmentSpreadNode) -> GraphQLError:
    via = "、".join(f"「{n}」" for n in names[1:6]) + ("等" if len(names) > 6 else "")
    how = f"经{via}" if via else "直接"
    return GraphQLError(
        f"片段「{names[0]}」{how}展开了自身：片段不得循环引用，未予执行。",
        spread,
        extensions={"code": "FRAGMENT_CYCLE"},
    )
