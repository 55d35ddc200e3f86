"""Risk benchmark: a stress test on a synthetic network of 1,000,000 fragments.

    python bench/risk.py                      # 1,000,000 fragments
    python bench/risk.py --fragments 100000

The network: 30 core enterprises, 200,000 suppliers, 30 funders; each fragment a holding of
one core's paper by a supplier or a funder, a fifth of the funders' bought from a supplier
with recourse; suppliers hold some cash. The three largest cores default (one fully, two
paying half), and the loss is cleared through the network with and without recourse
(the Eisenberg-Noe clearing the platform's stress test runs; issue 14's target: 1,000,000
fragments in at most 10 s). Times are of the domain's work: building the obligations from
the fragments and clearing them; reading the fragments from a store is not included yet.
"""

from __future__ import annotations

import argparse
import random
import time

from rich.console import Console
from rich.table import Table

from capillary.domain.contagion import Holding, RecourseSale, stress


def network(fragments: int, seed: int) -> tuple[list[Holding], list[RecourseSale],
                                                 dict[str, int]]:  # fmt: skip
    rnd = random.Random(seed)
    cores = [f"core-{i:02d}" for i in range(30)]
    weights = [1 / (i + 1) for i in range(30)]  # a few large cores, many small
    suppliers = [f"s-{i:06d}" for i in range(200_000)]
    funders = [f"f-{i:02d}" for i in range(30)]
    holdings, sales = [], []
    for _ in range(fragments):
        core = rnd.choices(cores, weights)[0]
        amount = rnd.randint(10_000, 5_000_000) * 100
        if rnd.random() < 0.3:
            funder = rnd.choice(funders)
            holdings.append(Holding(core, funder, amount))
            if rnd.random() < 0.2:
                sales.append(RecourseSale(core, rnd.choice(suppliers), funder, amount))
        else:
            holdings.append(Holding(core, rnd.choice(suppliers), amount))
    cash = {s: rnd.randint(0, 2_000_000) * 100 for s in suppliers[::3]}
    return holdings, sales, cash


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fragments", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    console = Console()
    console.print(f"Risk benchmark: a stress test on {args.fragments:,} fragments, seed "
                  f"{args.seed}")  # fmt: skip
    started = time.perf_counter()
    holdings, sales, cash = network(args.fragments, args.seed)
    console.print(f"(the synthetic network built in {time.perf_counter() - started:.1f} s)")
    shocks = {"core-00": 0.0, "core-01": 0.5, "core-02": 0.5}
    table = Table(title=f"Stress test on {args.fragments:,} fragments "
                        f"({len(sales):,} sold with recourse)")  # fmt: skip
    for column in ("recourse", "seconds", "loss (CNY)", "organizations defaulted", "clearings"):
        table.add_column(column, justify="right")
    for recourse in (False, True):
        started = time.perf_counter()
        result = stress(holdings, sales, cash, shocks, recourse=recourse)
        seconds = time.perf_counter() - started
        table.add_row("with" if recourse else "without", f"{seconds:.2f}",
                      f"{result.total_loss / 100:,.2f}", f"{len(result.clearing.defaulted):,}",
                      str(result.rounds))  # fmt: skip
    console.print(table)


if __name__ == "__main__":
    main()
