"""The event hub: coalesced snapshots, one encoding for every subscriber."""

from __future__ import annotations

import asyncio
import json

from controller.events import QUEUE_LIMIT, EventHub


async def test_changes_in_one_iteration_send_one_snapshot_of_the_latest_state():
    hub = EventHub()
    state = {"preset": "overview"}
    hub.source("state", lambda: dict(state))
    queue = hub.subscribe()

    for preset in ("traffic", "flood", "bridge"):
        state["preset"] = preset
        hub.changed("state")
    await asyncio.sleep(0)

    assert queue.qsize() == 1
    event = json.loads(queue.get_nowait())
    assert event == {"type": "state", "seq": 1, "data": {"preset": "bridge"}}


async def test_every_subscriber_gets_the_same_encoded_event():
    hub = EventHub()
    calls = []
    hub.source("cameras", lambda: calls.append(1) or ["junction-1"])
    queues = [hub.subscribe() for _ in range(50)]

    hub.changed("cameras")
    await asyncio.sleep(0)

    texts = [queue.get_nowait() for queue in queues]
    assert len(calls) == 1, "the snapshot was taken more than once"
    assert all(text is texts[0] for text in texts), "encoded once per subscriber"
    assert json.loads(texts[0])["data"] == ["junction-1"]


async def test_a_slow_subscriber_loses_its_oldest_events_and_blocks_no_one():
    hub = EventHub()
    counter = iter(range(1000))
    hub.source("state", lambda: next(counter))
    slow, fast = hub.subscribe(), hub.subscribe()

    for _ in range(QUEUE_LIMIT + 5):
        hub.changed("state")
        await asyncio.sleep(0)
        fast.get_nowait()

    assert slow.qsize() == QUEUE_LIMIT
    assert json.loads(slow.get_nowait())["data"] == 5
    hub.unsubscribe(slow)
    assert hub.subscriber_count == 1
