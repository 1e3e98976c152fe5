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

The coerced variables are kept on the request context (``CoercedVariables``)
so that execution does not coerce them a second time (``ontology.api.executor``).

The document rules depend on the document alone (the schema and its limits are
fixed for the process), so a document that passed them is remembered, parsed
(``ValidDocuments``), and neither parsed nor walked by them again: most requests
send one of a few documents, and the rules cost more than the rest of a small
write's work in the API process. The request rules (page sizes, the node budget, access) depend
on the variables and the caller and run on every request.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FloatValueNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    get_named_type,
    validate,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from ontology.api.access import access_errors
from ontology.api.executor import CoercedVariables
from ontology.api.selection import SelectedField, operation_of, selected_fields
from ontology.keys.models import Role
from ontology.kit.errors import RequestErrorCode
from ontology.kit.lru import LruMap
from ontology.kit.turns import off_loop

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


def argument_errors(
    fields: list[SelectedField], variables: VariableValues, max_chars: int
) -> list[GraphQLError]:
    """Bounds of arguments no domain rule sees: string lengths, non-finite literals.

    String and ID arguments of fields (filters, cursors, ids) are at most
    ``max_chars`` long: a 17 MB ``type`` filter would otherwise reach the
    database as a command it refuses. Input objects are the domain's to check
    (a long ``name`` is a payload error). A literal like ``1e400`` parses to
    infinity, which JSON cannot carry back; the request body refuses it in
    variables, this refuses it in the document.
    """
    errors: list[GraphQLError] = []
    for selected in fields:
        if not selected.node.arguments:
            continue
        for argument in selected.node.arguments:
            literal = infinite_literal(argument.value)
            if literal is not None:
                errors.append(
                    GraphQLError(
                        f"`{selected.coordinate}({argument.name.value}:)`: {literal.value[:40]} "
                        "is not a finite number.",
                        nodes=[literal],
                        extensions={"code": BAD_USER_INPUT},
                    )
                )
        values = get_argument_values(selected.definition, selected.node, variables)
        for name, value in values.items():
            if not is_string_argument(selected.definition.args[name].type):
                continue
            for text in value if isinstance(value, list) else [value]:
                if isinstance(text, str) and len(text) > max_chars:
                    errors.append(
                        GraphQLError(
                            f"`{selected.coordinate}({name}:)` is {len(text):,} characters long; "
                            f"the limit is {max_chars:,}.",
                            nodes=[selected.node],
                            extensions={"code": BAD_USER_INPUT},
                        )
                    )
                    break
    return errors


def is_string_argument(type_: GraphQLInputType) -> bool:
    named = get_named_type(type_)
    return isinstance(named, GraphQLScalarType) and named.name in ("String", "ID")


def infinite_literal(value: ValueNode) -> FloatValueNode | None:
    """The first float literal in ``value`` that is not finite (``1e400``), if any."""
    if isinstance(value, FloatValueNode):
        return None if math.isfinite(float(value.value)) else value
    if isinstance(value, ListValueNode):
        children: Iterable[ValueNode] = value.values
    elif isinstance(value, ObjectValueNode):
        children = (entry.value for entry in value.fields)
    else:
        return None
    for child in children:
        found = infinite_literal(child)
        if found is not None:
            return found
    return None


@dataclass
class RequestCheck:
    """The request's errors, and its variables as coerced (``None`` if they could not be)."""

    errors: list[GraphQLError]
    variables: CoercedVariables | None = None


def _body_bytes(context: Any) -> int:
    """The size of the HTTP body the operation came in (``GraphQLEndpoint`` read it whole);
    0 for an operation without one."""
    body = getattr(getattr(context, "request", None), "_body", None)
    return len(body) if isinstance(body, bytes) else 0


def request_errors(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    role: Role | None,
    limits: RequestLimits,
) -> RequestCheck:
    """Errors of a valid document against the request's rules (none: ``[]``).

    In order: the variables (coerced, and kept with the result), the caller's role (``FORBIDDEN``),
    argument bounds, then page sizes and the node budget.
    """
    operation = operation_of(document, operation_name)
    if operation is None:
        return RequestCheck([])  # strawberry reports the missing operation itself
    coerced = get_variable_values(
        schema,
        operation.variable_definitions or (),
        variables or {},
        max_errors=10,
        hide_suggestions=limits.hide_suggestions,
    )
    if isinstance(coerced, list):
        for error in coerced:
            error.extensions = {**(error.extensions or {}), "code": BAD_USER_INPUT}
        return RequestCheck(coerced)
    kept = CoercedVariables(document, operation_name, variables, operation, coerced)
    return RequestCheck(_rule_errors(schema, document, operation, coerced, role, limits), kept)


def _rule_errors(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    coerced: VariableValues,
    role: Role | None,
    limits: RequestLimits,
) -> list[GraphQLError]:
    fields = list(selected_fields(schema, document, operation))
    if role is not None and (forbidden := access_errors(fields, role)):
        return forbidden
    if errors := argument_errors(fields, coerced, limits.max_argument_chars):
        return errors
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    budget = ListBudget(schema, fragments, coerced, limits.max_page_size)
    root = schema.get_root_type(operation.operation)
    total = budget.nodes(operation.selection_set, root)
    if budget.errors:
        return budget.errors
    if total > limits.max_nodes:
        return [
            GraphQLError(
                f"The query could return {total:,} nodes; the limit is {limits.max_nodes:,} "
                "(the sum over list fields of the product of `first`/`last` along each path).",
                nodes=[operation],
                extensions={
                    "code": NODE_LIMIT_EXCEEDED,
                    "limit": limits.max_nodes,
                    "nodes": total,
                },
            )
        ]
    return []


@dataclass(frozen=True)
class RequestLimits:
    max_page_size: int
    max_nodes: int
    max_argument_chars: int
    hide_suggestions: bool


class ValidDocuments(LruMap[str, DocumentNode]):
    """The documents that passed the document rules, parsed, by text: the most recently
    used ``size`` of them (bounded: a client sending ever new documents evicts old ones,
    it does not grow the process). A remembered text is neither parsed nor walked by the
    document rules again."""

    def __init__(self, size: int = 1024) -> None:
        super().__init__(size)

    def parsed(self, text: str | None) -> DocumentNode | None:
        """The document of ``text`` if it passed the document rules (marked as just used)."""
        return None if text is None else self.get(text)

    def seen(self, text: str | None) -> bool:
        """Whether ``text`` passed the document rules (marked as just used)."""
        return self.parsed(text) is not None


class ValidationExtension(SchemaExtension):
    """Validate before strawberry does: standard rules, suggestions setting, request rules."""

    def __init__(self, limits: RequestLimits, valid: ValidDocuments) -> None:
        self.limits = limits
        self.valid = valid

    def on_parse(self) -> Iterator[None]:
        # a remembered document is not parsed again (strawberry skips parsing once set)
        context = self.execution_context
        if context.graphql_document is None:
            context.graphql_document = self.valid.parsed(context.query)
        yield

    async def on_validate(self) -> AsyncIterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.pre_execution_errors is None:
            schema = context.schema._schema
            errors = [] if self.valid.seen(context.query) else self._document_errors()
            if not errors:
                caller = getattr(context.context, "caller", None)
                try:
                    # a batch's 10,000 items take ~0.15 s to coerce: not on the event loop
                    check = await off_loop(
                        _body_bytes(context.context),
                        request_errors,
                        schema,
                        document,
                        context.operation_name,
                        context.variables,
                        caller.role if caller is not None else None,
                        self.limits,
                    )
                    errors = check.errors
                    if not errors and hasattr(context.context, "coerced_variables"):
                        context.context.coerced_variables = check.variables
                except Exception as bug:
                    # Strawberry does not mask what a hook raises: hand it to ErrorExtension,
                    # which logs it with the request id and shows "Unexpected error."
                    errors = [GraphQLError(str(bug), original_error=bug)]
            # strawberry skips its own validation once this is set
            context.pre_execution_errors = errors
        yield

    def _document_errors(self) -> list[GraphQLError]:
        """The document rules' errors (graphql-core's and the extensions' limits); a
        document with none is remembered."""
        context = self.execution_context
        assert context.graphql_document is not None
        rules = (*context.validation_rules, MaybeNullValidationRule, OneOfInputValidationRule)
        errors = validate(
            context.schema._schema,
            context.graphql_document,
            rules,
            hide_suggestions=self.limits.hide_suggestions,
        )
        if not errors and context.query is not None:
            self.valid.put(context.query, context.graphql_document)
        return errors
