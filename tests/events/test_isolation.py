"""Events reach only those who may see them (DESIGN.md §8): a certificate's events go to its
parties' endpoints; a tier-3 supplier never hears of a sibling branch's transfer."""

from __future__ import annotations

import json

from capillary.client import v1
from capillary.entrypoints.api.schemas.loop import CertificateOut, FragmentOut
from tests.api.conftest import World
from tests.events.conftest import admin_keys, certificate, subscribe, worker_thread
from tests.support.receiver import Receiver, wait_until

M = v1.money
EVERYONE = ("core", "tier1", "tier2", "tier3", "outsider", "bank", "bank2")


def test_events_of_a_certificate_reach_its_parties_only(world: World, receiver: Receiver) -> None:
    admin_keys(world, *EVERYONE)
    for who in EVERYONE:
        subscribe(world, receiver, who)
    # tier2 pays two suppliers of its own: tier3 and, a sibling branch, outsider.
    ops = world.services.parties
    ops.relate(buyer="tier2", supplier="outsider", principal=world.principal("ops"), key="r-o")
    number, root = certificate(world)
    tier1, tier2 = world.client("tier1"), world.client("tier2")
    to2 = tier1.run(v1.transfer(root, "tier2", M("300000.00"), "contract:HOUSINGS-2026"))
    at2 = to2.fragments[0].id
    to3 = tier2.run(v1.transfer(at2, "tier3", M("50000.00"), "contract:NH-1"))
    change = to3.fragments[1].id
    sibling = tier2.run(v1.transfer(change, "outsider", M("20000.00"), "contract:NH-2"))
    with worker_thread(world):
        wait_until(lambda: _settled(world), what="every delivery")
    got = {who: receiver.events(f"/{who}") for who in EVERYONE}
    assert all(r.signed for r in receiver.received)

    # Every endpoint got exactly the events that concern its organization, as the API lists
    # them for it, and no other.
    for who in EVERYONE:
        listed = [e.id for e in world.client(who).run(v1.events(limit=500)).items]
        assert sorted(e["id"] for e in got[who]) == sorted(listed), who
        assert all(who in e["organizations"] for e in got[who]), who

    text = {who: json.dumps(got[who]) for who in EVERYONE}
    # tier3 hears of its own fragment; nothing of the outsider's branch, nor tier2's change.
    received3 = [e for e in got["tier3"] if e["type"] == "certificate.received"]
    assert [FragmentOut.model_validate(e["data"]["fragment"]).id for e in received3] == [
        to3.fragments[0].id
    ]
    assert "outsider" not in text["tier3"]
    for fragment in (*sibling.fragments, to3.fragments[1]):
        assert f'"id": {fragment.id},' not in text["tier3"]
    # ...and the outsider nothing of tier3's.
    assert "tier3" not in text["outsider"]
    # Funders that are no party to it hear nothing of the certificate.
    assert not any(e["type"].startswith("certificate.") for e in got["bank"] + got["bank2"])
    assert got["bank2"] == []
    # The obligor sees the whole tree: every transfer in full.
    transfers = [e for e in got["core"] if e["type"] == "certificate.transferred"]
    assert [(e["data"]["sender"], e["data"]["recipient"]) for e in transfers] == [
        ("tier1", "tier2"), ("tier2", "tier3"), ("tier2", "outsider"),
    ]  # fmt: skip
    assert CertificateOut.model_validate(transfers[0]["data"]["certificate"]).number == number
    # Events of one certificate keep their order at each endpoint.
    for who in EVERYONE:
        kinds = [e["type"] for e in got[who] if e["subject"] == f"certificate:{number}"]
        times = [e["occurred_at"] for e in got[who] if e["subject"] == f"certificate:{number}"]
        assert times == sorted(times), who
        if "certificate.issued" in kinds:
            assert kinds.index("certificate.issued") < kinds.index("certificate.accepted")


def _settled(world: World) -> bool:
    backlog = world.services.relay.backlog()
    return backlog["unfanned"] == 0 and backlog.get("pending", 0) == 0
