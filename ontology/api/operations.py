"""What an operation asks for, read from its (validated) document before it runs."""

from __future__ import annotations

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)
from strawberry.types import ExecutionContext

# The mutations that write up to ``batch_max_items`` items: they get the longer
# database deadline and take one of the group's batch slots.
BATCH_MUTATIONS = frozenset({"batchInsertThings", "batchCreateConnections", "batchUpdateThings"})


def selected_operation(execution_context: ExecutionContext) -> OperationDefinitionNode | None:
    """The operation definition that runs (by ``operationName``, else the first one)."""
    document = execution_context.graphql_document
    if document is None:
        return None
    name = execution_context.operation_name
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if name is not None and (definition.name is None or definition.name.value != name):
            continue
        return definition
    return None


def root_field_names(execution_context: ExecutionContext) -> list[str]:
    """The root fields the operation selects, through fragments (validation ruled out cycles)."""
    operation = selected_operation(execution_context)
    document = execution_context.graphql_document
    if operation is None or document is None:
        return []
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    names: list[str] = []

    def collect(selection_set: SelectionSetNode) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                names.append(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                collect(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                if fragment is not None:
                    collect(fragment.selection_set)

    collect(operation.selection_set)
    return names


def runs_batch(execution_context: ExecutionContext) -> bool:
    """Whether the operation is a mutation with a batch mutation among its root fields."""
    operation = selected_operation(execution_context)
    if operation is None or operation.operation is not OperationType.MUTATION:
        return False
    return any(name in BATCH_MUTATIONS for name in root_field_names(execution_context))
