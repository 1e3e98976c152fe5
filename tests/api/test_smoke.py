from __future__ import annotations

from ontology.keys.models import Role
from tests.factories import Api, create_thing, make_tenant


async def test_viewer_reports_role_group_and_counts(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme")
    await create_thing(api, tenant.user, "creator", "Ada")

    data = await api.data(
        tenant.user,
        "{ viewer { role group { slug plan counts { things connections events people } } } }",
    )

    assert data == {
        "viewer": {
            "role": "ORG_USER",
            "group": {
                "slug": "acme",
                "plan": "PRO",
                "counts": {"things": 1, "connections": 0, "events": 1, "people": 0},
            },
        }
    }
    assert Role.CUSTOMER in tenant.keys
