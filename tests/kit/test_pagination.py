from __future__ import annotations

import pytest
from bson import ObjectId

from ontology.kit.errors import ClientError
from ontology.kit.pagination import PageRequest, decode_cursor, encode_cursor


@pytest.mark.parametrize("key", [ObjectId("6b0763fdf8cbad43d06f8ff7"), "1764000000000:abc"])
def test_cursors_round_trip(key: ObjectId | str) -> None:
    assert decode_cursor(encode_cursor(key)) == key


@pytest.mark.parametrize("cursor", ["", "!!!", "bzpub3QtYW4taWQ", "eDp5"])
def test_malformed_cursors_are_client_errors(cursor: str) -> None:
    with pytest.raises(ClientError) as raised:
        decode_cursor(cursor)
    assert raised.value.code == "INVALID_CURSOR"


def test_forward_page_reads_one_more_than_asked_and_cuts_it() -> None:
    page = PageRequest.parse(first=2, after=None, last=None, before=None, max_size=100)

    result = page.slice([5, 4, 3], lambda n: f"k{n}")

    assert (page.limit, page.sort_direction, page.key_range()) == (3, -1, {})
    assert result.items == [5, 4]
    assert (result.has_next_page, result.has_previous_page) == (True, False)
    assert [decode_cursor(c) for c in result.cursors] == ["k5", "k4"]


def test_backward_page_reads_ascending_and_returns_newest_first() -> None:
    before = encode_cursor("k2")
    page = PageRequest.parse(first=None, after=None, last=2, before=before, max_size=100)

    result = page.slice([3, 4, 5], lambda n: f"k{n}")

    assert (page.sort_direction, page.key_range()) == (1, {"$gt": "k2"})
    assert result.items == [4, 3]
    assert (result.has_next_page, result.has_previous_page) == (True, True)


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        (0, None, "`first` must be between 1 and 100, got 0."),
        (101, None, "`first` must be between 1 and 100, got 101."),
        (None, -1, "`last` must be between 1 and 100, got -1."),
        (5, 5, "Pass either `first` or `last`, not both."),
        (None, None, "Pass `first` or `last`."),
    ],
)
def test_page_sizes_are_checked(first: int | None, last: int | None, message: str) -> None:
    with pytest.raises(ClientError) as raised:
        PageRequest.parse(first=first, after=None, last=last, before=None, max_size=100)
    assert (str(raised.value), raised.value.code) == (message, "INVALID_PAGINATION")
