"""A large request's CPU work on the event loop: variables coerced once, long lists in turns."""

from __future__ import annotations

from typing import Any

import graphql.execution.executor as graphql_executor
import pytest

from ontology.api import validation
from ontology.groups.models import Plan
from tests.batches.support import INSERT, batch, item, payload, thing
from tests.factories import Api, make_tenant


async def test_a_batch_s_variables_are_coerced_once_and_its_450_results_come_in_order(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given every coercion of variables is recorded: where, and how many variables
    coerced: list[tuple[str, int]] = []
    for module in (validation, graphql_executor):
        original = module.get_variable_values

        def counted(
            *args: Any, _original: Any = original, _at: str = module.__name__, **kwargs: Any
        ) -> Any:
            coerced.append((_at, len(args[1])))
            return _original(*args, **kwargs)

        monkeypatch.setattr(module, "get_variable_values", counted)
    tenant = await make_tenant(api.runtime, "acme", Plan.PRO)

    # when a batch of 450 things (more than two turns of 200) is inserted over HTTP
    items = [thing(name=f"T{i:03d}", properties={"i": i}) for i in range(450)]
    result = await batch(api, tenant.user, INSERT, items)

    # then validation coerced the one variable, and execution coerced none (it reused them)
    assert coerced == [("ontology.api.validation", 1), ("graphql.execution.executor", 0)]
    # and the results are every item, in order, each with its own id
    ids = [r["id"] for r in result["results"]]
    assert len(set(ids)) == 450
    assert result == payload(
        [item(i, "CREATED", ids[i]) for i in range(450)], batch_event_id=result["batchEventId"]
    )
