"""Who may read and do what: every rule of the role table, tried with every role."""

from __future__ import annotations

from typing import Any

import pytest

from ontology.api.access import ROLE_NEEDED
from ontology.keys.models import Role
from tests.factories import Api, Tenant, connect, create_thing, make_tenant

ROLES = (Role.CUSTOMER, Role.ORG_USER, Role.ORG_OWNER, Role.PLATFORM_OWNER)

# one document per rule; the field the rule guards and the path of a root field
DOCUMENTS: dict[str, tuple[str, list[str] | None]] = {
    "Query.events": ("{ events(first: 1) { totalCount } }", ["events"]),
    "Query.people": ("{ people(first: 1) { totalCount } }", ["people"]),
    "Query.groupQuotas": ("{ groupQuotas { __typename } }", ["groupQuotas"]),
    "Query.quotaStatus": ("{ quotaStatus { __typename } }", ["quotaStatus"]),
    "Query.checkCanCreateEntities": (
        "{ checkCanCreateEntities(count: 1) { __typename } }",
        ["checkCanCreateEntities"],
    ),
    "Query.checkCanStore": ("{ checkCanStore(bytes: 1) { __typename } }", ["checkCanStore"]),
    "Query.upgradePricing": ("{ upgradePricing { __typename } }", ["upgradePricing"]),
    "Query.realtimeMetrics": ("{ realtimeMetrics { __typename } }", ["realtimeMetrics"]),
    "Query.metricsHistory": (
        '{ metricsHistory(from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z")'
        " { __typename } }",
        ["metricsHistory"],
    ),
    "Query.archivalStatus": ("{ archivalStatus { __typename } }", ["archivalStatus"]),
    "Query.archivedEvents": (
        '{ archivedEvents(from: "2026-01-01", to: "2026-01-01", first: 1) { __typename } }',
        ["archivedEvents"],
    ),
    "Query.platformGroups": (
        "{ platformGroups(first: 1) { edges { node { slug } } } }",
        ["platformGroups"],
    ),
    "Query.archivableEvents": (
        "{ archivableEvents(first: 1) { totalCount } }",
        ["archivableEvents"],
    ),
    "ArchivalStatus.lastScheduledRun": (
        "{ archivalStatus { lastScheduledRun { id } } }",
        None,
    ),
    "Thing.stats": ("{ things(first: 1) { edges { node { stats { totalEvents } } } } }", None),
    "Thing.activity": (
        "{ things(first: 1) { edges { node { activity(first: 1) { totalCount } } } } }",
        None,
    ),
    "Group.metrics": ("{ viewer { group { metrics { userCount } } } }", None),
    "Group.counts": ("{ viewer { group { counts { things } } } }", None),
    "Event": ('{ node(id: "RXZlbnQ6MA==") { ... on Event { type } } }', None),
    "Person": ('{ node(id: "UGVyc29uOjA=") { ... on Person { email } } }', None),
    "Subscription.eventAdded": ("subscription { eventAdded { type } }", ["eventAdded"]),
    "Subscription.realtimeMetrics": (
        "subscription { realtimeMetrics { eventsLastHour } }",
        ["realtimeMetrics"],
    ),
    "Subscription.quotaStatusChanged": (
        "subscription { quotaStatusChanged { status } }",
        ["quotaStatusChanged"],
    ),
    "Subscription.archivalRunChanged": (
        "subscription { archivalRunChanged { status } }",
        ["archivalRunChanged"],
    ),
    "Mutation": (
        'mutation { createThing(input: {type: "no_such_type", name: "A"}) { errors { code } } }',
        ["createThing"],
    ),
    "Mutation.createPerson": (
        'mutation { createPerson(input: {email: "not an email", name: "A"}) { errors { code } } }',
        ["createPerson"],
    ),
    "Mutation.changePlan": (
        "mutation { changePlan(plan: PRO) { errors { code } } }",
        ["changePlan"],
    ),
    "Mutation.archiveGroupEvents": (
        "mutation { archiveGroupEvents(olderThanDays: -1) { errors { code } } }",
        ["archiveGroupEvents"],
    ),
    "Mutation.restoreArchivedEvents": (
        'mutation { restoreArchivedEvents(from: "2026-02-02", to: "2026-02-01")'
        " { errors { code } } }",
        ["restoreArchivedEvents"],
    ),
    "Query.webhooks": ("{ webhooks { id } }", ["webhooks"]),
    "Query.webhookDeliveries": (
        "{ webhookDeliveries(first: 1) { edges { node { id } } } }",
        ["webhookDeliveries"],
    ),
    "Mutation.createWebhook": (
        'mutation { createWebhook(input: {url: "ftp://x", events: []}) { errors { code } } }',
        ["createWebhook"],
    ),
    "Mutation.deleteWebhook": (
        'mutation { deleteWebhook(input: {id: "nope"}) { errors { code } } }',
        ["deleteWebhook"],
    ),
}

# a field of a type with a rule of its own is named by its coordinate
GUARDED_FIELD = {"Event": "Event.type", "Person": "Person.email"}
# a rule under a root field that has a rule of its own: a role below the root's rule
# is refused by the root's (the outermost refused field is the one reported)
INSIDE = {"ArchivalStatus.lastScheduledRun": ("Query.archivalStatus", ["archivalStatus"])}


def test_every_rule_has_a_document() -> None:
    assert set(DOCUMENTS) == set(ROLE_NEEDED)


async def keys_of_every_role(api: Api) -> tuple[Tenant, dict[Role, str]]:
    tenant = await make_tenant(api.runtime, "acme")
    _, staff = await api.runtime.services.keys.create(tenant.id, Role.PLATFORM_OWNER)
    return tenant, {**tenant.keys, Role.PLATFORM_OWNER: staff}


def forbidden_errors(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"message": e["message"], "path": e.get("path"), "code": e["extensions"]["code"]}
        for e in body.get("errors") or []
        if e["extensions"]["code"] == "FORBIDDEN"
    ]


@pytest.mark.parametrize("rule", sorted(ROLE_NEEDED))
async def test_each_rule_refuses_exactly_the_roles_below_it(api: Api, rule: str) -> None:
    # given keys of every role
    _, keys = await keys_of_every_role(api)
    document, root_path = DOCUMENTS[rule]
    needed = ROLE_NEEDED[rule]

    for role in ROLES:
        # when the role runs the document guarded by the rule
        response = await api.post(keys[role], document)
        body = response.json()

        # then a role below the rule is refused as a whole, before any database work;
        # the others are not refused
        if role.at_least(needed):
            assert forbidden_errors(body) == [], (rule, role)
            continue
        refused_by, path = rule, root_path
        if rule in INSIDE and not role.at_least(ROLE_NEEDED[INSIDE[rule][0]]):
            refused_by, path = INSIDE[rule]
        subject = "This operation" if path else f"`{GUARDED_FIELD.get(rule, rule)}`"
        role_needed = ROLE_NEEDED[refused_by]
        assert (response.status_code, body["data"]) == (200, None)
        assert forbidden_errors(body) == [
            {
                "message": f"{subject} needs the {role_needed.value} role; "
                f"the key has {role.value}.",
                "path": path,
                "code": "FORBIDDEN",
            }
        ], (rule, role)
        assert body["extensions"]["cost"]["dbCommands"] == 0


async def test_a_customer_reads_things_connections_and_knowledge(api: Api) -> None:
    # given a graph with knowledge
    tenant = await make_tenant(api.runtime, "acme")
    ada = await create_thing(api, tenant.user, name="Ada")
    club = await create_thing(api, tenant.user, "community", name="Club")
    await connect(api, tenant.user, ada, club, "member_of")

    # when a customer reads things, their connections, related things and knowledge
    body = await api.gql(
        tenant.customer,
        """{ things(first: 5) { totalCount edges { node { name
               connectionCounts { outbound }
               connections(first: 5) { edges { direction node { name } } }
               knowledge(first: 5) { totalCount } } } }
             connections(first: 5) { totalCount }
             knowledge(first: 5) { totalCount }
             viewer { role group { slug plan } } }""",
    )

    # then everything is answered
    assert "errors" not in body
    assert [e["node"]["name"] for e in body["data"]["things"]["edges"]] == ["Club", "Ada"]
    assert body["data"]["connections"]["totalCount"] == 1
    assert body["data"]["viewer"] == {"role": "CUSTOMER", "group": {"slug": "acme", "plan": "PRO"}}


async def test_nested_fields_above_the_role_are_each_named_once(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme")

    # when a customer asks for stats and activity twice, through a fragment and inline
    body = await api.gql(
        tenant.customer,
        """fragment F on Thing { stats { totalEvents } activity(first: 1) { totalCount } }
           { a: things(first: 1) { edges { node { ...F } } }
             b: things(first: 1) { edges { node { ...F stats { totalEvents } } } } }""",
    )

    # then the operation is refused, each field named once, nothing inside them again
    assert body["data"] is None
    assert forbidden_errors(body) == [
        {
            "message": "`Thing.stats` needs the org_user role; the key has customer.",
            "path": None,
            "code": "FORBIDDEN",
        },
        {
            "message": "`Thing.activity` needs the org_user role; the key has customer.",
            "path": None,
            "code": "FORBIDDEN",
        },
    ]
