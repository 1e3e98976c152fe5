from __future__ import annotations

from typing import Any

from ontology.kit.errors import ItemError
from ontology.kit.properties import PropertyErrorCode, check_json_object


def check(value: Any, max_depth: int = 10, max_bytes: int = 65536) -> list[ItemError]:
    return check_json_object(value, "properties", max_depth=max_depth, max_bytes=max_bytes)


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def test_plain_json_passes() -> None:
    assert check({"price": 1.5, "tags": ["a", {"b_1": None}], "_x": {"y": True}}) == []


def test_forbidden_keys_are_reported_with_their_paths() -> None:
    errors = check({"$where": 1, "ok": {"a.b": 2}, "items": [{"1x": 3}]})

    assert sorted((e.code, e.path) for e in errors) == [
        (PropertyErrorCode.INVALID_PROPERTY_KEY, "properties.$where"),
        (PropertyErrorCode.INVALID_PROPERTY_KEY, "properties.items.0.1x"),
        (PropertyErrorCode.INVALID_PROPERTY_KEY, "properties.ok.a.b"),
    ]


def test_a_key_ending_in_a_newline_is_refused() -> None:
    # regression: the pattern ended in ``$``, which also matches before a final "\n"
    errors = check({"trailing\n": 1, "ok": {"inner\n": 2}})

    assert sorted((e.code, e.path) for e in errors) == [
        (PropertyErrorCode.INVALID_PROPERTY_KEY, "properties.ok.inner\n"),
        (PropertyErrorCode.INVALID_PROPERTY_KEY, "properties.trailing\n"),
    ]


def test_depth_is_counted_in_objects_and_arrays() -> None:
    assert check(nested(10)) == []
    assert check(nested(11)) == [
        ItemError(
            PropertyErrorCode.PROPERTIES_TOO_DEEP,
            "Nesting deeper than 10 levels.",
            "properties" + ".a" * 10,
        )
    ]
    assert check({"a": [[[1]]]}, max_depth=3)[0].code == PropertyErrorCode.PROPERTIES_TOO_DEEP


def test_hostile_depth_does_not_recurse() -> None:
    assert check(nested(5000))[0].code == PropertyErrorCode.PROPERTIES_TOO_DEEP


def test_size_is_the_bson_size() -> None:
    assert check({"s": "x" * 100}, max_bytes=113) == []
    assert check({"s": "x" * 100}, max_bytes=112) == [
        ItemError(
            PropertyErrorCode.PROPERTIES_TOO_LARGE,
            "Encoded size 113 bytes exceeds the limit of 112 bytes.",
            "properties",
        )
    ]


def test_values_bson_cannot_store_are_refused() -> None:
    assert check({"n": 2**70})[0].code == PropertyErrorCode.INVALID_PROPERTIES
    assert check(["not", "an", "object"])[0].code == PropertyErrorCode.INVALID_PROPERTIES


def test_non_finite_numbers_are_refused_with_their_paths() -> None:
    # JSON has no NaN or infinity; Python's parser (ontology import) accepts them
    errors = check({"a": float("nan"), "b": [1.0, float("-inf")], "c": {"d": float("inf")}})

    message = "Numbers must be finite (NaN and infinities are not JSON numbers)."
    assert sorted((e.code, e.path, e.message) for e in errors) == [
        (PropertyErrorCode.INVALID_PROPERTIES, "properties.a", message),
        (PropertyErrorCode.INVALID_PROPERTIES, "properties.b.1", message),
        (PropertyErrorCode.INVALID_PROPERTIES, "properties.c.d", message),
    ]
