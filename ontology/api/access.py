"""Who may read and do what: the one table, checked before an operation runs.

Every field an operation selects (fragments included) is looked up here by
its schema coordinate (``Thing.stats``), else by its type (``Event``: any
field of an event, wherever it is reached: a list, ``node``, a payload), else
it is open to every role. An operation selecting a field above the caller's
role is refused as a whole with ``FORBIDDEN`` before any resolver or database
command runs, naming the field and the role it needs.

What each role reads (README, "Authentication and tenancy"):

- ``customer``: the group's things, connections and knowledge, and itself
  (``viewer``);
- ``org_user``: also events, people, metrics and stats, counts and usage,
  quotas and archival; and writes data;
- ``org_owner``: also people, plans, archival runs and webhooks;
- ``platform_owner``: staff; any group, and the archival runs over every group.

Checks that depend on an argument's value (a ``platform_owner`` forcing a
restore) stay in the resolver that reads the argument.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from graphql import GraphQLError

from ontology.api.selection import SelectedField
from ontology.keys.models import Role
from ontology.kit.errors import RequestErrorCode

FORBIDDEN = RequestErrorCode.FORBIDDEN.value

ROLE_NEEDED: dict[str, Role] = {
    # reads a customer may not make
    "Query.events": Role.ORG_USER,
    "Query.people": Role.ORG_USER,
    "Query.groupQuotas": Role.ORG_USER,
    "Query.quotaStatus": Role.ORG_USER,
    "Query.checkCanCreateEntities": Role.ORG_USER,
    "Query.checkCanStore": Role.ORG_USER,
    "Query.upgradePricing": Role.ORG_USER,
    "Query.realtimeMetrics": Role.ORG_USER,
    "Query.metricsHistory": Role.ORG_USER,
    "Query.archivalStatus": Role.ORG_USER,
    "Query.archivedEvents": Role.ORG_USER,
    "Query.archivableEvents": Role.ORG_USER,
    # every group of the platform: staff only
    "Query.platformGroups": Role.PLATFORM_OWNER,
    # the run over every group names other tenants: staff only
    "ArchivalStatus.lastScheduledRun": Role.PLATFORM_OWNER,
    "Thing.stats": Role.ORG_USER,
    "Thing.activity": Role.ORG_USER,
    "Group.metrics": Role.ORG_USER,
    "Group.counts": Role.ORG_USER,
    "Event": Role.ORG_USER,
    "Person": Role.ORG_USER,
    # live updates a customer may not follow
    "Subscription.eventAdded": Role.ORG_USER,
    "Subscription.realtimeMetrics": Role.ORG_USER,
    "Subscription.quotaStatusChanged": Role.ORG_USER,
    "Subscription.archivalRunChanged": Role.ORG_USER,
    # writes
    "Mutation": Role.ORG_USER,
    "Mutation.createPerson": Role.ORG_OWNER,
    "Mutation.changePlan": Role.ORG_OWNER,
    "Mutation.archiveGroupEvents": Role.ORG_OWNER,
    "Mutation.restoreArchivedEvents": Role.ORG_OWNER,
    # webhooks: their URLs, secrets and deliveries are the owner's
    "Query.webhooks": Role.ORG_OWNER,
    "Query.webhookDeliveries": Role.ORG_OWNER,
    "Mutation.createWebhook": Role.ORG_OWNER,
    "Mutation.deleteWebhook": Role.ORG_OWNER,
}


def role_needed(field: SelectedField) -> Role:
    """The least role that may select ``field``: its own rule, else its type's, else any."""
    return ROLE_NEEDED.get(field.coordinate) or ROLE_NEEDED.get(field.parent.name) or Role.CUSTOMER


def access_errors(fields: Iterable[SelectedField], role: Role) -> list[GraphQLError]:
    """One ``FORBIDDEN`` error per outermost field above ``role`` (each coordinate once);
    what is selected inside a refused field is not reported again."""
    errors: list[GraphQLError] = []
    refused: set[str] = set()
    refused_paths: list[tuple[str, ...]] = []
    for field in fields:
        needed = role_needed(field)
        if role.at_least(needed) or field.coordinate in refused:
            continue
        if any(field.path[: len(path)] == path for path in refused_paths):
            continue
        refused.add(field.coordinate)
        refused_paths.append(field.path)
        errors.append(forbidden(field, needed, role))
    return errors


def forbidden(field: SelectedField, needed: Role, role: Role) -> GraphQLError:
    root = len(field.path) == 1
    # a root field is "this operation"; a nested one is named, since its path has no indexes
    subject = "This operation" if root else f"`{field.coordinate}`"
    extensions: dict[str, Any] = {"code": FORBIDDEN}
    return GraphQLError(
        f"{subject} needs the {needed.value} role; the key has {role.value}.",
        nodes=[field.node],
        path=list(field.path) if root else None,
        extensions=extensions,
    )
