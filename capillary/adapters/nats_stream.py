"""The event stream on NATS JetStream: one stream, ``CAPILLARY``, with a subject per
organization and event type (``capillary.events.<org>.<type>``); each message carries the
event's id and the organization in ``Nats-Msg-Id`` so that JetStream drops a copy published
twice (a worker that died between publishing and recording it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import nats
from nats.js.api import StreamConfig

STREAM = "CAPILLARY"
PREFIX = "capillary.events"
#: How long JetStream remembers a message id: longer than any worker takes to come back.
DUPLICATE_WINDOW = 2 * 3600.0


def subject(org: str, event_type: str) -> str:
    return f"{PREFIX}.{org}.{event_type}"


def message_id(event_id: str, org: str) -> str:
    return f"{event_id}:{org}"


class Stream:
    """A connection to the server and its JetStream context."""

    def __init__(self, nc: Any, js: Any) -> None:
        self.nc = nc
        self.js = js

    @classmethod
    async def connect(cls, url: str) -> Stream:
        nc = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=-1,
                                allow_reconnect=True)  # fmt: skip
        js = nc.jetstream()
        config = StreamConfig(name=STREAM, subjects=[f"{PREFIX}.>"],
                              duplicate_window=DUPLICATE_WINDOW)  # fmt: skip
        try:
            await js.add_stream(config)
        except nats.js.errors.BadRequestError:
            await js.update_stream(config)
        return cls(nc, js)

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
