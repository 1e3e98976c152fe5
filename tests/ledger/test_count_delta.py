"""The newest and oldest keys a delta carries for each list a write touched."""

from __future__ import annotations

from bson import ObjectId

from ontology.ledger.counters import CountDelta


def test_created_documents_give_each_list_and_each_type_its_newest_and_oldest_id() -> None:
    ids = [ObjectId(f"{n:024x}") for n in range(1, 7)]
    docs = [
        {"_id": ids[2], "type": "creator"},
        {"_id": ids[5], "type": "blog_post"},
        {"_id": ids[0], "type": "blog_post"},
        {"_id": ids[3], "type": "creator"},
        {"_id": ids[4], "type": "blog_post"},
    ]
    # a delta that already saw an older and a newer key of the list of creators
    delta = CountDelta().saw("thingsByType.creator", ids[1]).saw("thingsByType.creator", ids[5])

    delta.created("things", docs)

    assert delta.newest == {
        "newest.thingsByType.creator": ids[5],
        "newest.things": ids[5],
        "newest.thingsByType.blog_post": ids[5],
    }
    assert delta.oldest == {
        "oldest.thingsByType.creator": ids[1],
        "oldest.things": ids[0],
        "oldest.thingsByType.blog_post": ids[0],
    }


def test_logged_events_give_the_event_lists_their_newest_and_oldest_sort_keys() -> None:
    events = [
        {"sortKey": "0000000000002:b", "type": "view", "sizeBytes": 10},
        {"sortKey": "0000000000001:a", "type": "like", "sizeBytes": 20},
        {"sortKey": "0000000000003:c", "type": "view", "sizeBytes": 30},
    ]

    delta = CountDelta().logged(events)

    assert delta.fields == {"counts.events": 3, "counts.storageBytes": 60}
    assert delta.newest == {
        "newest.events": "0000000000003:c",
        "newest.eventsByType.view": "0000000000003:c",
        "newest.eventsByType.like": "0000000000001:a",
    }
    assert delta.oldest == {
        "oldest.events": "0000000000001:a",
        "oldest.eventsByType.view": "0000000000002:b",
        "oldest.eventsByType.like": "0000000000001:a",
    }
