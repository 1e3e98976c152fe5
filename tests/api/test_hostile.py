"""A hostile tenant: long, non-finite and nested values in every argument position.

For every argument of every root field and of ``Thing``'s fields, and every field
of their input objects, a document is built with valid values everywhere else
and one hostile value in that position, once as a literal and once as a
variable; it is sent in development and in production mode (where suggestions
are stripped from messages: the path that was quadratic). Every response must
be a typed answer below 500, never ``INTERNAL``, within a time budget far above
the work of a refusal (milliseconds) and far below what the quadratic stripping
took (~90 s for 200,000 spaces).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    get_named_type,
    print_type,
)

from ontology.api.schema import create_schema
from ontology.config import Settings
from tests.api.test_fuzz import DOCUMENTED_CODES
from tests.factories import Api, create_thing, group_counts, make_tenant, raw_count

BUDGET_SECONDS = 2.0
# The original report: spaces in an Int argument. Quadratic stripping took ~90 s for
# this length; a linear refusal takes milliseconds.
LONG = " " * 200_000


@dataclass(frozen=True)
class Hostile:
    name: str
    literal: str  # GraphQL source text
    variable: Any  # the same value as JSON (None: no variable form)


HOSTILE = (
    Hostile("long string", json.dumps(LONG), LONG),
    Hostile("hostile string", json.dumps("$where\x00.é" * 1_000), "$where\x00.é" * 1_000),
    Hostile("1e400", "1e400", None),  # JSON has no such number: the body refuses it (tested below)
    Hostile("deep list", "[" * 400 + "]" * 400, None),
    Hostile("huge int", "9" * 400, None),
)


def valid_literal(type_: GraphQLInputType, depth: int = 0) -> str:
    """A value of ``type_`` that passes validation, with every required field set."""
    if isinstance(type_, GraphQLNonNull):
        return valid_literal(type_.of_type, depth)
    if isinstance(type_, GraphQLList):
        return f"[{valid_literal(type_.of_type, depth)}]"
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        fields = [
            f"{name}: {valid_literal(field.type, depth + 1)}"
            for name, field in type_.fields.items()
            if isinstance(field.type, GraphQLNonNull) and field.default_value is None
        ]
        return "{" + ", ".join(fields) + "}"
    assert isinstance(type_, GraphQLScalarType)
    return {
        "ID": '"VGhpbmc6MDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAw"',
        "String": '"creator"',
        "Int": "1",
        "Float": "1.5",
        "Boolean": "true",
        "Date": '"2026-01-01"',
        "DateTime": '"2026-01-01T00:00:00Z"',
        "JSON": "{}",
    }[type_.name]


def arguments_text(field: GraphQLField, overrides: dict[str, str]) -> str:
    parts = []
    for name, argument in field.args.items():
        if name in overrides:
            parts.append(f"{name}: {overrides[name]}")
        elif name == "first":
            parts.append("first: 1")
        elif isinstance(argument.type, GraphQLNonNull) and argument.default_value is None:
            parts.append(f"{name}: {valid_literal(argument.type)}")
    return f"({', '.join(parts)})" if parts else ""


def selection(field: GraphQLField) -> str:
    return " { __typename }" if isinstance(get_named_type(field.type), GraphQLObjectType) else ""


@dataclass(frozen=True)
class Position:
    """One place a value can go: ``root.field(argument: {input.fields…})``."""

    operation: str  # query | mutation
    root: str  # the root field
    field: GraphQLField
    argument: str
    input_path: tuple[str, ...]  # fields inside the argument's input object
    nested_in_thing: bool = False

    @property
    def label(self) -> str:
        inside = "".join(f".{p}" for p in self.input_path)
        return f"{self.root}({self.argument}{inside})"

    def document(self, value: str) -> str:
        argument_type = self.field.args[self.argument].type
        overrides = {self.argument: self._wrap(argument_type, self.input_path, value)}
        call = f"{self.root}{arguments_text(self.field, overrides)}{selection(self.field)}"
        if self.nested_in_thing:
            call = f"things(first: 1) {{ edges {{ node {{ {call} }} }} }}"
        return f"{self.operation} {{ {call} }}"

    def _wrap(self, type_: GraphQLInputType, path: tuple[str, ...], value: str) -> str:
        if not path:
            return value
        named = get_named_type(type_)
        assert isinstance(named, GraphQLInputObjectType)
        fields = []
        for name, field in named.fields.items():
            if name == path[0]:
                fields.append(f"{name}: {self._wrap(field.type, path[1:], value)}")
            elif isinstance(field.type, GraphQLNonNull) and field.default_value is None:
                fields.append(f"{name}: {valid_literal(field.type)}")
        inner = "{" + ", ".join(fields) + "}"
        return f"[{inner}]" if _is_list(type_) else inner


def _is_list(type_: GraphQLInputType) -> bool:
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    return isinstance(inner, GraphQLList)


def input_paths(type_: GraphQLInputType, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The argument itself, then every field of its input objects (one level of nesting)."""
    yield prefix
    named = get_named_type(type_)
    if isinstance(named, GraphQLInputObjectType) and len(prefix) < 2:
        for name, field in named.fields.items():
            yield from input_paths(field.type, (*prefix, name))


def positions(schema: GraphQLSchema) -> Iterator[Position]:
    roots: list[tuple[str, GraphQLObjectType | None, bool]] = [
        ("query", schema.query_type, False),
        ("mutation", schema.mutation_type, False),
        ("query", schema.get_type("Thing"), True),  # type: ignore[arg-type]
    ]
    for operation, root_type, nested in roots:
        assert root_type is not None
        for name, field in root_type.fields.items():
            for argument_name, argument in field.args.items():
                for path in input_paths(argument.type):
                    yield Position(operation, name, field, argument_name, path, nested)


def variable_type(argument: GraphQLArgument | GraphQLInputField) -> str:
    return str(argument.type)


SCHEMA = create_schema()._schema
POSITIONS = list(positions(SCHEMA))


def test_the_positions_cover_every_root_argument() -> None:
    # every root argument is a position, and input objects are entered
    labels = {p.label for p in POSITIONS}
    assert "things(type)" in labels
    assert "createThing(input.properties)" in labels
    assert "batchInsertThings(input.things.name)" in labels
    assert "connections(direction)" in labels  # Thing.connections
    assert len(POSITIONS) > 100, print_type(SCHEMA.query_type)  # type: ignore[arg-type]


def check(response: Any, document: str, elapsed: float) -> None:
    assert response.status_code < 500, (document[:300], response.text[:500])
    assert elapsed < BUDGET_SECONDS, (document[:300], elapsed)
    body = response.json()
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code in DOCUMENTED_CODES, (document[:300], error)
        assert len(error["message"]) <= 1000, (document[:300], len(error["message"]))


@pytest.fixture(params=["development", "production"])
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    # hostile raw documents: trusted documents allowed (production requires them by default)
    return settings.model_copy(update={"env": request.param, "trusted_documents": "allowed"})


async def test_hostile_values_in_every_argument_position(api: Api) -> None:
    # given a tenant with a thing (so nested Thing fields resolve)
    tenant = await make_tenant(api.runtime, "acme")
    await create_thing(api, tenant.owner, name="Ada")

    for position in POSITIONS:
        for hostile in HOSTILE:
            # when the value is sent as a literal in that position
            document = position.document(hostile.literal)
            started = time.perf_counter()
            response = await api.post(tenant.owner, document)
            # then a typed answer comes back quickly
            check(response, document, time.perf_counter() - started)
        # and a long string as a variable of the argument's own type (not inside inputs)
        if position.input_path:
            continue
        argument = position.field.args[position.argument]
        document = position.document("$v")
        operation, rest = document.split(" ", 1)
        document = f"{operation}($v: {variable_type(argument)}) {rest}"
        started = time.perf_counter()
        response = await api.post(tenant.owner, document, {"v": LONG})
        check(response, document, time.perf_counter() - started)

    # whatever was accepted, the counters still equal what is stored
    counts = await group_counts(api.runtime, tenant.id)
    assert counts["things"] == await raw_count(
        api.runtime, "things", {"groupId": tenant.id, "deletedAt": None}
    )
    assert counts["events"] == await raw_count(api.runtime, "events", {"groupId": tenant.id})
