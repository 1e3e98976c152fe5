"""The bounded map behind every per-process memory of client input."""

from __future__ import annotations

from ontology.kit.lru import LruMap


def test_the_least_recently_used_entry_is_forgotten_first() -> None:
    remembered = LruMap[str, int](size=2)
    remembered.put("a", 1)
    remembered.put("b", 2)
    assert remembered.get("a") == 1  # now "b" is the least recently used

    remembered.put("c", 3)

    assert (remembered.get("a"), remembered.get("b"), remembered.get("c")) == (1, None, 3)
    assert len(remembered) == 2


def test_putting_a_known_entry_again_marks_it_used_and_replaces_it() -> None:
    remembered = LruMap[str, int](size=2)
    remembered.put("a", 1)
    remembered.put("b", 2)

    remembered.put("a", 10)
    remembered.put("c", 3)

    assert (remembered.get("a"), remembered.get("b"), remembered.get("c")) == (10, None, 3)


def test_pop_and_clear_forget() -> None:
    remembered = LruMap[str, int](size=3)
    for n, key in enumerate("abc"):
        remembered.put(key, n)

    remembered.pop("b")
    remembered.pop("missing")
    assert (remembered.get("a"), remembered.get("b"), len(remembered)) == (0, None, 2)

    remembered.clear()
    assert (remembered.get("a"), len(remembered)) == (None, 0)
