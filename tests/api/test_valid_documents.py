"""A document that passed the document rules is remembered, and neither parsed nor walked
by them again; the request rules (page sizes, node budget) still run on every request."""

from __future__ import annotations

from graphql import parse

from ontology.api.schema import create_schema
from ontology.api.validation import ValidDocuments
from ontology.config import Settings
from tests.factories import Api, make_tenant

PAGE = "query($n: Int!) { things(first: $n) { totalCount } }"


async def test_a_valid_document_is_remembered_once() -> None:
    schema = create_schema()

    first = await schema.execute("{ __typename }")
    second = await schema.execute("{ __typename }")

    assert first.data == second.data == {"__typename": "Query"}
    assert (first.errors, second.errors) == (None, None)
    assert len(schema.valid_documents) == 1
    assert schema.valid_documents.seen("{ __typename }")


async def test_an_invalid_document_is_refused_every_time_and_never_remembered() -> None:
    schema = create_schema()
    expected = "Cannot query field 'nope' on type 'Query'. Did you mean 'node' or 'nodes'?"

    for _ in range(2):
        result = await schema.execute("{ nope }")
        assert [error.message for error in result.errors or []] == [expected]

    assert len(schema.valid_documents) == 0


async def test_a_document_over_a_limit_is_never_remembered() -> None:
    schema = create_schema()
    query = "{ a: __typename b: __typename c: __typename }"
    schema_with_two_aliases = create_schema(Settings(max_aliases=2))

    allowed = await schema.execute(query)
    refused = await schema_with_two_aliases.execute(query)

    assert allowed.errors is None
    assert [error.message for error in refused.errors or []] == ["3 aliases found. Allowed: 2"]
    assert len(schema.valid_documents) == 1
    assert len(schema_with_two_aliases.valid_documents) == 0


async def test_request_rules_still_check_a_remembered_document(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme")

    within = await api.gql(tenant.user, PAGE, {"n": 5})
    over = await api.gql(tenant.user, PAGE, {"n": 101})

    assert within["data"] == {"things": {"totalCount": 0}}
    assert over["data"] is None
    assert [error["extensions"]["code"] for error in over["errors"]] == ["INVALID_PAGINATION"]
    assert over["extensions"]["cost"]["dbCommands"] == 0


async def test_a_remembered_document_is_not_parsed_again() -> None:
    # given a text remembered with another document than its own (as no client could)
    schema = create_schema()
    await schema.execute("{ __typename }")
    schema.valid_documents.put("{ __typename }", parse("{ alias: __typename }"))

    # when the text is sent again
    result = await schema.execute("{ __typename }")

    # then the remembered document is what runs: the text was not parsed
    assert (result.data, result.errors) == ({"alias": "Query"}, None)


def test_the_least_recently_used_document_is_forgotten_first() -> None:
    valid = ValidDocuments(size=2)
    documents = {text: parse(f"{{ {text}: __typename }}") for text in ("a", "b", "c")}
    valid.put("a", documents["a"])
    valid.put("b", documents["b"])
    assert valid.seen("a")  # now "b" is the least recently used

    valid.put("c", documents["c"])

    assert (valid.seen("a"), valid.seen("b"), valid.seen("c"), len(valid)) == (True, False, True, 2)
    assert valid.parsed("c") is documents["c"]
    assert not valid.seen(None)
