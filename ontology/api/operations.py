"""What an operation asks for, read from its (validated) document before it runs."""

from __future__ import annotations

from graphql import OperationDefinitionNode, OperationType
from strawberry.types import ExecutionContext

from ontology.api.selection import SelectedField, operation_of, selected_fields

# The mutations that write up to ``batch_max_items`` items: they get the longer
# database deadline and take one of the group's batch slots.
BATCH_MUTATIONS = frozenset({"batchInsertThings", "batchCreateConnections", "batchUpdateThings"})


def selected_operation(execution_context: ExecutionContext) -> OperationDefinitionNode | None:
    """The operation definition that runs (by ``operationName``, else the only one)."""
    document = execution_context.graphql_document
    if document is None:
        return None
    return operation_of(document, execution_context.operation_name)


def selected(
    execution_context: ExecutionContext, max_depth: int | None = None
) -> list[SelectedField]:
    """The fields the running operation selects, fragments included (``max_depth``: see
    ``selected_fields``)."""
    document = execution_context.graphql_document
    operation = selected_operation(execution_context)
    if document is None or operation is None:
        return []
    schema = execution_context.schema._schema
    return list(selected_fields(schema, document, operation, max_depth))


def runs_batch(execution_context: ExecutionContext) -> bool:
    """Whether the operation is a mutation with a batch mutation among its root fields."""
    operation = selected_operation(execution_context)
    if operation is None or operation.operation is not OperationType.MUTATION:
        return False
    return any(field.name in BATCH_MUTATIONS for field in selected(execution_context, 1))
