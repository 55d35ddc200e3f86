"""A real API server on a loopback port, over a sandbox platform with a cast of
organizations, each with its API keys."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

import pytest
import uvicorn

from capillary.bootstrap import Platform, open_platform
from capillary.client import Client
from capillary.domain.access import Principal, UserRole
from capillary.domain.parties import Role
from capillary.entrypoints.api.app import create_app
from capillary.services.parties import new_organization
from tests.conftest import reset_postgres

START = date(2026, 11, 2)

#: code → (USCC, roles)
CAST: dict[str, tuple[str, frozenset[Role]]] = {
    "ops": ("91310115MA1K4LQP0J", frozenset({Role.OPERATOR})),
    "audit": ("91110108MA01ABCD1E", frozenset({Role.AUDITOR})),
    "core": ("91440300MA5F8Q2K1L", frozenset({Role.CORE})),
    "tier1": ("91441900MA4UR6XB4L", frozenset({Role.SUPPLIER})),
    "tier2": ("91440604MA4X3D7T8Y", frozenset({Role.SUPPLIER})),
    "tier3": ("91310000MA1FL4TB2Q", frozenset({Role.SUPPLIER})),
    "outsider": ("91320500MA1MXY3U2M", frozenset({Role.SUPPLIER})),
    "bank": ("91110000100003962Y", frozenset({Role.FUNDER})),
    "bank2": ("91440300X8812345YA", frozenset({Role.FUNDER})),
}
CHAIN = (("core", "tier1"), ("tier1", "tier2"), ("tier2", "tier3"))


@dataclass
class World:
    url: str  # the store
    base: str  # the API
    services: Platform
    keys: dict[str, str] = field(default_factory=dict)  # who → API key
    clients: list[Client] = field(default_factory=list)

    def client(self, who: str | None) -> Client:
        made = Client(self.base, self.keys.get(who) if who else None)
        self.clients.append(made)
        return made

    def close(self) -> None:
        for c in self.clients:
            c.close()

    def principal(self, org: str) -> Principal:
        return self.services.parties.principal(org, "test", user_role=UserRole.ADMIN)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Served:
    """uvicorn serving ``app`` in a thread, on a free loopback port."""

    def __init__(self, app: object) -> None:
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                access_log=False, lifespan="off")  # type: ignore[arg-type]  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the API server did not start")
            time.sleep(0.01)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def seed(url: str) -> tuple[Platform, dict[str, str]]:
    """A sandbox platform on ``url`` with the cast, the chain, and API keys: a write key
    for each organization, an admin key for the operator, read-only and revoked keys for
    tier1."""
    first = open_platform(url)
    uscc, roles = CAST["ops"]
    first.admin.init(new_organization(code="ops", name="Ops", scheme="uscc", identifier=uscc,
                                      roles=roles), sandbox=True, start=START)  # fmt: skip
    first.ledger.db.dispose()
    p = open_platform(url)
    ops = p.parties.principal("ops", "setup", user_role=UserRole.ADMIN)
    for code, (uscc, roles) in CAST.items():
        if code != "ops":
            org = new_organization(code=code, name=code.title(), scheme="uscc",
                                   identifier=uscc, roles=roles)  # fmt: skip
            p.parties.register(org, principal=ops, key=f"reg-{code}")
    for buyer, supplier in CHAIN:
        p.parties.relate(buyer=buyer, supplier=supplier, principal=ops, key=f"rel-{supplier}")
    for code in CAST:
        if code not in ("ops", "audit"):
            me = p.parties.principal(code, "setup", user_role=UserRole.ADMIN)
            p.bank.set_account(principal=me, org=code, cur="CNY", number=f"6222{len(code):015d}",
                               holder=code.title(), key=f"bank-{code}")  # fmt: skip
    keys = {}
    for code in CAST:
        scopes = "admin" if code == "ops" else "read" if code == "audit" else "read,write"
        made = p.keys.create(principal=ops, org=code, name=f"{code} test", scopes=scopes,
                             key=f"key-{code}")  # fmt: skip
        assert made.token is not None
        keys[code] = made.token
    read_only = p.keys.create(principal=ops, org="tier1", name="ro", scopes="read", key="k-ro")
    revoked = p.keys.create(principal=ops, org="tier1", name="gone", scopes="read,write",
                            key="k-gone")  # fmt: skip
    p.keys.revoke(revoked.key.id, principal=ops, key="k-gone-revoke")
    assert read_only.token is not None
    assert revoked.token is not None
    keys["tier1-ro"], keys["revoked"] = read_only.token, revoked.token
    return p, keys


def _world(url: str) -> Iterator[World]:
    services, keys = seed(url)
    with Served(create_app(services)) as base:
        w = World(url, base, services, keys)
        yield w
        w.close()
    services.ledger.db.dispose()


@pytest.fixture
def world(store_url: str) -> Iterator[World]:
    """The world on each store: SQLite and PostgreSQL."""
    yield from _world(store_url)


@pytest.fixture
def pg_world(pg_template_url: str) -> Iterator[World]:
    """The world on PostgreSQL only, for what only PostgreSQL races."""
    reset_postgres(pg_template_url)
    yield from _world(pg_template_url)
