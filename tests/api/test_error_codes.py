"""The GraphQL ``ErrorCode`` enum is exactly the codes the domains declare."""

from __future__ import annotations

import importlib
import pkgutil
from collections import Counter

from graphql import GraphQLEnumType, build_schema

import ontology
from ontology.api.errors import ORDER, UserErrorCode
from ontology.api.schema import export_sdl
from ontology.kit.errors import ErrorCode, PayloadErrorCode


def declared_enums() -> list[type[PayloadErrorCode]]:
    """Every ``PayloadErrorCode`` subclass in the package (every module imported first)."""
    for module in pkgutil.walk_packages(ontology.__path__, "ontology."):
        importlib.import_module(module.name)
    found: list[type[PayloadErrorCode]] = []
    pending = list(PayloadErrorCode.__subclasses__())
    while pending:
        enum = pending.pop()
        found.append(enum)
        pending.extend(enum.__subclasses__())
    return found


def test_the_graphql_enum_holds_every_declared_code_and_no_other() -> None:
    enums = declared_enums()
    declared = [code for enum in enums for code in enum]
    # no code is declared twice (it would belong to two domains)
    assert [v for v, n in Counter(c.value for c in declared).items() if n > 1] == []
    assert sorted(c.value for c in declared) == sorted(c.value for c in UserErrorCode)
    # each listed code is the declaring domain's own member, listed once
    assert len(set(ORDER)) == len(ORDER)
    assert {(type(c), c.value) for c in ORDER} == {(type(c), c.value) for c in declared}
    # only the shared codes stay in kit
    assert [c.value for c in ErrorCode] == [
        "INVALID_INPUT",
        "INVALID_NAME",
        "NOT_FOUND",
        "INVALID_RANGE",
        "DUPLICATE",
        "CONFLICT",
    ]


def test_the_schema_serves_the_assembled_enum_in_its_order() -> None:
    enum = build_schema(export_sdl()).type_map["ErrorCode"]
    assert isinstance(enum, GraphQLEnumType)
    assert enum.description == "Stable codes of expected failures."
    assert list(enum.values) == [c.value for c in ORDER]
    assert list(enum.values)[:3] == ["INVALID_INPUT", "UNKNOWN_TYPE", "RESERVED_EVENT_TYPE"]
    assert list(enum.values)[-1] == "WEBHOOK_TARGET_REFUSED"
