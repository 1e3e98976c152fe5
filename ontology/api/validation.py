"""Document validation with the request limits that need the operation's variables.

Strawberry validates a document with graphql-core's rules (plus the depth and
alias limits added by their extensions). ``ValidationExtension`` runs that
validation itself, before strawberry would, so it can also:

- hide "Did you mean ...?" suggestions (production), and
- check every list field for ``first``/``last`` (required, 1 to
  ``max_page_size``) and the node budget, with the variables coerced.

The node budget bounds what one document may ask for: a list field returns at
most ``first``/``last`` items (``nodes(ids)`` at most ``len(ids)``), and a list
nested in another runs once per item of each list above it, so the largest
response holds the sum, over list fields, of the product of the sizes along
its path. Everything here happens before any resolver runs, so a refused
document costs no database command.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    validate,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from ontology.kit.errors import RequestErrorCode

INVALID_PAGINATION = RequestErrorCode.INVALID_PAGINATION.value
NODE_LIMIT_EXCEEDED = RequestErrorCode.NODE_LIMIT_EXCEEDED.value
BAD_USER_INPUT = RequestErrorCode.BAD_USER_INPUT.value


@dataclass
class ListBudget:
    """Walks one operation: page-size errors, and the node count of each selection set."""

    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    variables: VariableValues
    max_page_size: int
    errors: list[GraphQLError] = field(default_factory=list)
    _fragment_nodes: dict[str, int] = field(default_factory=dict)

    def nodes(self, selection_set: SelectionSetNode | None, parent: Any) -> int:
        """Nodes returned under one item of ``parent``: the sum over nested lists.

        Linear in the multiplier above it, so each fragment is walked once.
        """
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self._field_nodes(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                total += self.nodes(selection.selection_set, inner)
            elif isinstance(selection, FragmentSpreadNode):
                total += self._fragment(selection.name.value)
        return total

    def _fragment(self, name: str) -> int:
        if name not in self._fragment_nodes:
            fragment = self.fragments[name]
            inner = self.schema.get_type(fragment.type_condition.name.value)
            self._fragment_nodes[name] = self.nodes(fragment.selection_set, inner)
        return self._fragment_nodes[name]

    def _field_nodes(self, node: FieldNode, parent: Any) -> int:
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return 0
        definition = parent.fields.get(node.name.value)
        if definition is None:  # __typename and introspection fields
            return 0
        inner = get_named_type(definition.type)
        size = self._list_size(node, parent, definition)
        below = self.nodes(node.selection_set, inner)
        if size is None:
            return below
        return size + size * below

    def _list_size(self, node: FieldNode, parent: Any, definition: Any) -> int | None:
        """Items a list field may return; ``None`` for fields that are no list to budget.

        A list is a field taking ``first`` (most also take ``last``), or ``nodes(ids)``.
        """
        names = definition.args.keys()
        if "ids" in names and node.name.value == "nodes":
            ids: object = get_argument_values(definition, node, self.variables).get("ids")
            return len(ids) if isinstance(ids, list) else 0
        if "first" not in names:
            return None
        arguments = get_argument_values(definition, node, self.variables)
        first: int | None = arguments.get("first")
        last: int | None = arguments.get("last")
        label = f"`{parent.name}.{node.name.value}`"
        bounds = f"between 1 and {self.max_page_size}"
        if first is None and last is None:
            wanted = "`first` or `last`" if "last" in names else "`first`"
            self._refuse(node, f"{label} needs {wanted} ({bounds}).")
            return self.max_page_size
        if first is not None and last is not None:
            self._refuse(node, f"{label} takes `first` or `last`, not both.")
            return max(first, last)
        name, size = ("first", first) if first is not None else ("last", last)
        assert size is not None
        if not 1 <= size <= self.max_page_size:
            self._refuse(node, f"{label}: `{name}` must be {bounds}, got {size}.")
        return max(size, 0)

    def _refuse(self, node: FieldNode, message: str) -> None:
        self.errors.append(
            GraphQLError(message, nodes=[node], extensions={"code": INVALID_PAGINATION})
        )


def operation_of(document: Any, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)


def list_limit_errors(
    schema: GraphQLSchema,
    document: Any,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    *,
    max_page_size: int,
    max_nodes: int,
    hide_suggestions: bool,
) -> list[GraphQLError]:
    """Errors of a valid document's list fields (page sizes, node budget), or ``[]``."""
    operation = operation_of(document, operation_name)
    if operation is None:
        return []  # strawberry reports the missing operation itself
    coerced = get_variable_values(
        schema,
        operation.variable_definitions or (),
        variables or {},
        max_errors=10,
        hide_suggestions=hide_suggestions,
    )
    if isinstance(coerced, list):
        for error in coerced:
            error.extensions = {**(error.extensions or {}), "code": BAD_USER_INPUT}
        return coerced
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    budget = ListBudget(schema, fragments, coerced, max_page_size)
    root = schema.get_root_type(operation.operation)
    total = budget.nodes(operation.selection_set, root)
    if budget.errors:
        return budget.errors
    if total > max_nodes:
        return [
            GraphQLError(
                f"The query could return {total:,} nodes; the limit is {max_nodes:,} "
                "(the sum over list fields of the product of `first`/`last` along each path).",
                nodes=[operation],
                extensions={"code": NODE_LIMIT_EXCEEDED, "limit": max_nodes, "nodes": total},
            )
        ]
    return []


class ValidationExtension(SchemaExtension):
    """Validate before strawberry does: standard rules, suggestions setting, list limits."""

    def __init__(self, *, max_page_size: int, max_nodes: int, hide_suggestions: bool) -> None:
        self.max_page_size = max_page_size
        self.max_nodes = max_nodes
        self.hide_suggestions = hide_suggestions

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.pre_execution_errors is None:
            schema = context.schema._schema
            rules = (*context.validation_rules, MaybeNullValidationRule, OneOfInputValidationRule)
            errors = validate(schema, document, rules, hide_suggestions=self.hide_suggestions)
            if not errors:
                errors = list_limit_errors(
                    schema,
                    document,
                    context.operation_name,
                    context.variables,
                    max_page_size=self.max_page_size,
                    max_nodes=self.max_nodes,
                    hide_suggestions=self.hide_suggestions,
                )
            # strawberry skips its own validation once this is set
            context.pre_execution_errors = errors
        yield
