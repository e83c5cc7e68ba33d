"""The event hub: state changes fanned out to every WebSocket client."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

_LOGGER = logging.getLogger(__name__)

QUEUE_LIMIT = 64


class EventHub:
    """Publishes named snapshots; slow subscribers lose old events, never block others.

    ``changed(topic)`` may be called many times in one loop iteration: the snapshot of
    that topic is taken and sent once, on the next iteration. Each event is encoded to
    JSON once and the same text queued for every subscriber, so a change costs one
    encoding however many tablets watch.
    """

    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[str]] = set()
        self._sources: dict[str, Callable[[], Any]] = {}
        self._pending: set[str] = set()
        self._flush_scheduled = False
        self.sequence = 0

    def source(self, topic: str, snapshot: Callable[[], Any]) -> None:
        """Register how to take the current snapshot of ``topic``."""
        self._sources[topic] = snapshot

    def changed(self, topic: str) -> None:
        """Mark ``topic`` changed; subscribers get its snapshot soon (coalesced)."""
        self._pending.add(topic)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def snapshot(self, topic: str) -> str:
        """An event carrying the current snapshot of ``topic``, as JSON text."""
        self.sequence += 1
        event = {"type": topic, "seq": self.sequence, "data": self._sources[topic]()}
        return json.dumps(event, separators=(",", ":"))

    def subscribe(self) -> asyncio.Queue[str]:
        queue: asyncio.Queue[str] = asyncio.Queue(QUEUE_LIMIT)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[str]) -> None:
        self._subscribers.discard(queue)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def _flush(self) -> None:
        self._flush_scheduled = False
        topics, self._pending = self._pending, set()
        for topic in sorted(topics):
            if topic not in self._sources:
                continue
            event = self.snapshot(topic)
            for queue in self._subscribers:
                if queue.full():
                    queue.get_nowait()
                queue.put_nowait(event)
