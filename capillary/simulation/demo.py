"""One demo run: a fresh sandbox platform on an empty store, the economy simulated on it,
and its report — what ``capillary demo`` and the tests share."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from capillary.adapters.clock import SteppingClock
from capillary.bootstrap import Platform, open_platform
from capillary.domain.errors import ValidationError
from capillary.services.parties import new_organization
from capillary.simulation.economy import Economy, build
from capillary.simulation.report import build as build_report
from capillary.simulation.run import Simulation, Stats


@dataclass
class DemoRun:
    platform: Platform
    economy: Economy
    simulation: Simulation
    stats: Stats
    report: dict[str, Any]


def run_demo(
    store: str, *, orgs: int, days: int, seed: int, start: date,
    progress: Callable[[int, date], None] | None = None,
) -> DemoRun:  # fmt: skip
    """Build the economy of ``orgs`` from ``seed`` in the empty ``store`` (its schema made
    if it has none) and simulate ``days`` from ``start``. The platform is left open."""
    economy = build(seed=seed, orgs=orgs)
    ops = economy.firm(economy.operator)
    blank = open_platform(store, create=True)
    try:
        if blank.admin.operator() is not None:
            raise ValidationError(
                f"The demo builds its economy in an empty store; {blank.ledger.db.display_url} "
                "has a platform already. Name another with --db, or leave --db out for a "
                "fresh capillary-demo.db."
            )
        blank.admin.init(new_organization(code=ops.code, name=ops.name, scheme="uscc",
                                          identifier=ops.identifier, roles=ops.roles),
                         sandbox=True, start=start)  # fmt: skip
    finally:
        blank.ledger.db.dispose()
    clock = SteppingClock(start)
    # A sandbox built to be thrown away: SQLite need not sync each commit to disk (the
    # store stays consistent; see create_engine). The served API reopens it durable.
    platform = open_platform(store, clock=clock, durable=False)
    started = time.perf_counter()
    simulation = Simulation(platform, economy, clock=clock, start=start, days=days,
                            progress=progress)  # fmt: skip
    stats = simulation.run()
    report = build_report(platform, economy, stats, start=start,
                          elapsed=time.perf_counter() - started)  # fmt: skip
    return DemoRun(platform, economy, simulation, stats, report)
