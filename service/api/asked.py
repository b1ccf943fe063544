"""The ids a request asks for, for the audit trail: every value of an ID-typed argument or
input field of the operation run, from the document and its variables, whatever the field.

A read that names an id and gets nothing (null, NotFound, an empty list, a refusal) shows no
content, yet it is a probe a supervisor must be able to find; so the trail records what was
asked as well as what was shown. Found from the schema's types rather than field by field, a
new field that takes an id is covered as it is added. Each fragment is walked once, however
often it is spread: the time is linear in the document.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLID,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
)
from graphql.utilities import value_from_ast_untyped

from service.auditing import MAX_ASKED, clean


def asked_ids(
    schema: GraphQLSchema,
    document: DocumentNode | None,
    operation_name: str | None,
    variables: dict[str, Any] | None,
) -> list[str]:
    """The ids the operation names, once each, cleaned for the trail
    (service.auditing.clean); at most MAX_ASKED."""
    operation = _operation(document, operation_name)
    if document is None or operation is None:
        return []
    values = {
        d.variable.name.value: value_from_ast_untyped(d.default_value)
        for d in operation.variable_definitions or ()
        if d.default_value is not None
    }
    values.update(variables if isinstance(variables, dict) else {})
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    found: dict[str, None] = {}
    spread: set[str] = set()
    root = schema.get_root_type(operation.operation)
    pending: list[tuple[GraphQLNamedType | None, SelectionSetNode]] = [
        (root, operation.selection_set)
    ]
    while pending:
        parent, selections = pending.pop()
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
                    continue
                field = parent.fields.get(selection.name.value)
                if field is None:  # __typename, or a field the validation refused
                    continue
                for argument in selection.arguments or ():
                    definition = field.args.get(argument.name.value)
                    if definition is not None:
                        value = value_from_ast_untyped(argument.value, values)
                        _collect(definition.type, value, found)
                if selection.selection_set is not None:
                    pending.append((get_named_type(field.type), selection.selection_set))
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = parent if condition is None else schema.get_type(condition.name.value)
                pending.append((inner, selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                if name in spread or fragment is None:
                    continue
                spread.add(name)
                condition_type = schema.get_type(fragment.type_condition.name.value)
                pending.append((condition_type, fragment.selection_set))
    return list(found)[:MAX_ASKED]


def _operation(
    document: DocumentNode | None, operation_name: str | None
) -> OperationDefinitionNode | None:
    if document is None:
        return None
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            operation_name is None
            or (definition.name is not None and definition.name.value == operation_name)
        ):
            return definition
    return None


def _collect(kind: GraphQLType, value: Any, found: dict[str, None]) -> None:
    """The ids in `value`, read as `kind`; what does not fit the type is passed over (the
    request is refused by the coercion of its values anyway)."""
    if isinstance(kind, GraphQLNonNull):
        kind = kind.of_type
    if value is None or len(found) > MAX_ASKED:
        return
    if isinstance(kind, GraphQLList):
        for one in value if isinstance(value, list) else [value]:
            _collect(kind.of_type, one, found)
    elif isinstance(kind, GraphQLInputObjectType):
        if isinstance(value, dict):
            for name, field in kind.fields.items():
                if name in value:
                    _collect(field.type, value[name], found)
    elif (
        isinstance(kind, GraphQLScalarType)
        and kind.name == GraphQLID.name
        and isinstance(value, str | int)
        and not isinstance(value, bool)
    ):
        named = clean(str(value))
        if named:
            found[named] = None
