"""A large request's CPU work on the event loop: variables coerced once, long lists in turns,
a large body decoded and coerced in a worker thread."""

from __future__ import annotations

import json
import threading
from typing import Any

import graphql.execution.executor as graphql_executor
import pytest

from ontology.api import validation
from ontology.api.endpoint import GraphQLEndpoint
from ontology.groups.models import Plan
from ontology.kit.turns import LARGE_REQUEST_BYTES
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


@pytest.mark.parametrize("large", [False, True])
async def test_a_large_body_is_decoded_and_its_variables_coerced_off_the_event_loop(
    api: Api, monkeypatch: pytest.MonkeyPatch, large: bool
) -> None:
    # given the thread that decodes each body and coerces each request's variables is recorded
    threads: list[tuple[str, bool]] = []
    loop_thread = threading.get_ident()
    decode = GraphQLEndpoint.decode_json
    coerce = validation.get_variable_values

    def decoded(self: GraphQLEndpoint, data: str | bytes) -> object:
        threads.append(("decode", threading.get_ident() == loop_thread))
        return decode(self, data)

    def coerced(*args: Any, **kwargs: Any) -> Any:
        threads.append(("coerce", threading.get_ident() == loop_thread))
        return coerce(*args, **kwargs)

    monkeypatch.setattr(GraphQLEndpoint, "decode_json", decoded)
    monkeypatch.setattr(validation, "get_variable_values", coerced)
    tenant = await make_tenant(api.runtime, "acme", Plan.PRO)
    # 300 things with a long property: ~130 KiB as JSON; or 3 with a short one
    note = "n" * (380 if large else 1)
    items = [thing(name=f"T{i:03d}", properties={"note": note}) for i in range(300 if large else 3)]
    body_size = len(json.dumps({"query": INSERT, "variables": {"input": {"things": items}}}))
    assert (body_size >= LARGE_REQUEST_BYTES) is large

    # when the batch is sent over HTTP
    result = await batch(api, tenant.user, INSERT, items)

    # then a large body is decoded and coerced in a worker thread, a small one on the loop
    assert threads == [("decode", not large), ("coerce", not large)]
    # and the batch is written the same either way
    assert result["summary"]["succeeded"] == len(items)
