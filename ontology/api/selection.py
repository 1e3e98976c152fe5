"""Every field an operation selects, with the type it is selected on.

The request checks that read a whole document before it runs (who may read
which field, which operations the API-call quota lets through, argument
bounds) walk it here, fragments included, once per fragment and type.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
)


@dataclass(frozen=True)
class SelectedField:
    parent: GraphQLObjectType | GraphQLInterfaceType
    name: str
    definition: GraphQLField
    node: FieldNode
    # the response keys from the root, e.g. ("things", "edges", "node", "stats")
    path: tuple[str, ...]

    @property
    def coordinate(self) -> str:
        """``Type.field``, the schema coordinate of the field."""
        return f"{self.parent.name}.{self.name}"


def operation_of(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    """The operation a request runs: the one named, or the only one."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)


def selected_fields(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    max_depth: int | None = None,
) -> Iterator[SelectedField]:
    """Every field of a valid document's operation (``__typename`` and introspection
    excluded), depth first; a fragment is walked once per type it is spread on.
    ``max_depth`` stops below that many levels (1: the root fields only)."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    seen: set[tuple[str, str]] = set()

    def walk(
        selection_set: SelectionSetNode | None,
        parent: GraphQLNamedType | None,
        path: tuple[str, ...],
    ) -> Iterator[SelectedField]:
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                # a union has no fields of its own: only its fragments select any
                if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
                    continue
                definition = parent.fields.get(selection.name.value)
                if definition is None:  # __typename, __schema, __type
                    continue
                key = (selection.alias or selection.name).value
                field = SelectedField(
                    parent, selection.name.value, definition, selection, (*path, key)
                )
                yield field
                if max_depth is None or len(field.path) < max_depth:
                    inner = get_named_type(definition.type)
                    yield from walk(selection.selection_set, inner, field.path)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = schema.get_type(condition.name.value) if condition else parent
                yield from walk(selection.selection_set, inner, path)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                once = (selection.name.value, getattr(parent, "name", ""))
                if fragment is None or once in seen:
                    continue
                seen.add(once)
                inner = schema.get_type(fragment.type_condition.name.value)
                yield from walk(fragment.selection_set, inner, path)

    root = schema.get_root_type(operation.operation)
    yield from walk(operation.selection_set, root, ())
