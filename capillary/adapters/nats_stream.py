"""The event stream on NATS JetStream: one stream (``CAPILLARY`` by default), with a subject
per organization and event type (``capillary.events.<org>.<type>``); each message carries the
event's id and the organization in ``Nats-Msg-Id`` so that JetStream drops a copy published
twice (a worker that died between publishing and recording it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import nats
from nats.js.api import StreamConfig

#: How long JetStream remembers a message id: longer than any worker takes to come back.
DUPLICATE_WINDOW = 2 * 3600.0


def message_id(event_id: str, org: str) -> str:
    return f"{event_id}:{org}"


class Stream:
    """A connection to the server and its JetStream context."""

    def __init__(self, nc: Any, js: Any, prefix: str) -> None:
        self.nc = nc
        self.js = js
        self.prefix = prefix

    def subject(self, org: str, event_type: str) -> str:
        return f"{self.prefix}.{org}.{event_type}"

    @classmethod
    async def connect(cls, url: str, name: str, prefix: str) -> Stream:
        nc = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=-1,
                                allow_reconnect=True)  # fmt: skip
        js = nc.jetstream()
        config = StreamConfig(name=name, subjects=[f"{prefix}.>"],
                              duplicate_window=DUPLICATE_WINDOW)  # fmt: skip
        try:
            await js.add_stream(config)
        except nats.js.errors.BadRequestError:
            await js.update_stream(config)
        return cls(nc, js, prefix)

    async def publish(self, messages: Sequence[tuple[str, bytes, str]]) -> int:
        """Publish (subject, body, message id) in order and wait for every acknowledgement;
        how many JetStream kept as new (the rest were duplicates)."""
        futures = [
            await self.js.publish_async(subj, body, headers={"Nats-Msg-Id": mid})
            for subj, body, mid in messages
        ]
        fresh = 0
        for future in futures:
            ack = await future
            fresh += 0 if getattr(ack, "duplicate", False) else 1
        return fresh

    async def close(self) -> None:
        await self.nc.drain()
