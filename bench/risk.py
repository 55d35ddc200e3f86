"""Risk benchmark (issue 14): features and scores for 1,000,000 organizations, and a stress
test on 1,000,000 fragments, read from SQLite and PostgreSQL.

    python bench/risk.py                                   # both stores, 1,000,000 of each
    python bench/risk.py --store sqlite --orgs 100000 --fragments 100000

A synthetic platform is written straight into a fresh store (not timed): organizations
(cores, funders, suppliers in tiers below them), a purchase order, a delivery and two
invoices a supplier, the deliveries' acceptance in the audit trail, certificates of the
cores split into fragments held by suppliers and funders, a tenth of the funders' bought
with recourse. Then, timed, through the services as the operator calls them:

- a scorecard fitted on 20,000 organizations' labels (made up from their features) and
  cross-validated — every organization's features are counted for it (not a target:
  fitting is occasional);
- **scoring**: every organization's features as of today in the grouped queries, scored
  by the active model in columns, the scores written (issue 14's target: ≤ 30 s);
- **stress**: the three largest cores default (one fully, two paying half): the network
  read from the store and cleared with and without recourse (target: ≤ 10 s).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stores import fresh_store

from capillary.adapters.driver_sql import is_pg, run_many
from capillary.bootstrap import Platform, open_platform
from capillary.domain.access import Principal
from capillary.domain.parties import Role

OPS = Principal("ops", "ops:bench", frozenset({Role.OPERATOR}))
DAY_US = 86_400_000_000
CHUNK = 20_000


def _write(conn: Any, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    if is_pg(conn):
        driver = conn.connection.driver_connection
        with driver.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" * len(columns))
    for i in range(0, len(rows), CHUNK):
        run_many(conn, f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                 rows[i : i + CHUNK])  # fmt: skip


def populate(p: Platform, orgs: int, fragments: int, seed: int, today: date,
             now_us: int) -> dict[str, int]:  # fmt: skip
    """The synthetic platform; how many rows of each kind."""
    rnd = random.Random(seed)
    cores = max(10, orgs // 1000)
    funders = 30
    code = [f"o{i}" for i in range(orgs)]
    role = ["core"] * cores + ["funder"] * funders + ["supplier"] * (orgs - cores - funders)
    first_supplier = cores + funders
    counts: dict[str, int] = {}

    def buyer_of(i: int) -> int:  # a tier-1 supplier sells to a core, the rest up a tier
        return i % cores if i < first_supplier + orgs // 10 else rnd.randrange(first_supplier, i)

    def work(conn: Any) -> None:
        _write(conn, "organizations", ("code", "name", "id_scheme", "id_value", "roles",
                                       "tolerance_percent", "tolerance_absolute", "created_at",
                                       "industry"),
               [(code[i], f"Org {i}", "OTHER", f"ID{i}", role[i], "0", 0,
                 now_us - (30 + i % 700) * DAY_US, "autos" if i % 3 else "steel")
                for i in range(orgs)])  # fmt: skip
        counts["organizations"] = orgs
        suppliers = range(first_supplier, orgs)
        buyers = {i: buyer_of(i) for i in suppliers}
        _write(conn, "purchase_orders", ("id", "buyer", "supplier", "number", "currency",
                                         "order_date", "status", "version", "created_at"),
               [(i, code[buyers[i]], code[i], f"PO-{i}", "CNY",
                 today - timedelta(days=20 + i % 300), "open", 1, now_us - DAY_US * 20)
                for i in suppliers])  # fmt: skip
        _write(conn, "deliveries", ("id", "order_id", "buyer", "supplier", "number",
                                    "delivered_on", "status", "created_at"),
               [(i, i, code[buyers[i]], code[i], f"DN-{i}", today - timedelta(days=10 + i % 300),
                 "accepted" if i % 7 else "received", now_us - DAY_US * 10)
                for i in suppliers])  # fmt: skip
        _write(conn, "audit_log", ("entity", "entity_key", "action", "actor", "at"),
               [("delivery", f"{code[i]}/DN-{i}", "accepted", "bench", now_us - DAY_US * 9)
                for i in suppliers if i % 7])  # fmt: skip
        invoices = []
        for i in suppliers:
            for k in (0, 1):
                total = rnd.randint(1_000, 500_000) * 100
                invoices.append((2 * i + k, code[i], code[buyers[i] if k == 0 else buyer_of(i)],
                                 "", f"{2 * i + k:020d}", f"PO-{i}", "CNY",
                                 today - timedelta(days=5 + rnd.randrange(360)), total, 0, total,
                                 "confirmed", now_us - DAY_US * 5))  # fmt: skip
        _write(conn, "invoices", ("id", "seller", "buyer", "code", "number", "order_number",
                                  "currency", "issue_date", "amount", "tax", "total", "status",
                                  "created_at"), invoices)  # fmt: skip
        counts["orders, deliveries"] = len(suppliers)
        counts["invoices"] = len(invoices)
        # Certificates: a root held by a tier-1 supplier, split among holders.
        weights = [1 / (c + 1) for c in range(cores)]
        per = 20
        certs, frags, financed = [], [], []
        fid = 0
        for n in range(max(1, fragments // per)):
            obligor = rnd.choices(range(cores), weights)[0]
            first = rnd.randrange(first_supplier, first_supplier + max(1, orgs // 10))
            amounts = [rnd.randint(10_000, 500_000) * 100 for _ in range(per - 1)]
            face = sum(amounts)
            certs.append((n + 1, f"CP{n + 1:012d}", code[obligor], code[first], "CNY", face,
                          today - timedelta(days=60), today + timedelta(days=30 + n % 300),
                          "active", now_us - DAY_US * 60))  # fmt: skip
            fid += 1
            root = fid
            frags.append((root, n + 1, None, code[first], face, "spent", 1, str(root), None,
                          now_us - DAY_US * 60))  # fmt: skip
            for amount in amounts:
                fid += 1
                if rnd.random() < 0.3:
                    holder = code[cores + rnd.randrange(funders)]
                    recourse = rnd.random() < 0.1
                    financed.append((len(financed) + 1, fid, code[first], holder, amount,
                                     "0.045", "ACT/360", 90, amount // 100, 0, recourse,
                                     today - timedelta(days=30), 0))  # fmt: skip
                else:
                    holder = code[rnd.randrange(first_supplier, orgs)]
                frags.append((fid, n + 1, root, holder, amount, "active", 2, f"{root}/{fid}",
                               None, now_us - DAY_US * 30))  # fmt: skip
        _write(conn, "certificates", ("id", "number", "obligor", "first_holder", "currency",
                                      "face", "issue_date", "maturity", "status",
                                      "created_at"), certs)  # fmt: skip
        _write(conn, "fragments", ("id", "certificate_id", "parent_id", "holder", "amount",
                                   "status", "tier", "path", "recourse_to", "created_at"),
               frags)  # fmt: skip
        _write(conn, "financings", ("id", "fragment_id", "seller", "funder", "face", "rate",
                                    "day_count", "days", "discount", "fee", "recourse",
                                    "financed_on", "ledger_tx"), financed)  # fmt: skip
        counts["certificates"] = len(certs)
        counts["fragments"] = len(frags)
        counts["financings"] = len(financed)

    p.ledger.db.transaction(work)
    if p.ledger.db.engine.dialect.name == "postgresql":
        # What autovacuum does to a live store: without statistics the planner guesses.
        with p.ledger.db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    return counts


def labels(p: Platform, sample: int, seed: int) -> dict[str, int]:
    """Made-up outcomes for a sample of organizations: a hidden rule of their features (few
    buyers and few deliveries accepted go bad more often), so the model has signal."""
    rnd = random.Random(seed)
    features = p.scoring.features(principal=OPS)
    picked = rnd.sample(sorted(features), min(sample, len(features)))
    found = {}
    for org in picked:
        f = features[org]
        few_buyers = (f["buyers"] or 0) < 2
        unaccepted = (f["delivery_acceptance_rate"] or 0) < 0.5
        risk = 0.05 + 0.10 * few_buyers + 0.15 * unaccepted
        found[org] = int(rnd.random() < risk)
    return found


def bench(store: str, orgs: int, fragments: int, seed: int, console: Console) -> list[Any]:
    with fresh_store(store, "capillary_bench_risk") as url:
        p = open_platform(url, create=True)
        try:
            today = p.scoring.today()
            started = time.perf_counter()
            counts = populate(p, orgs, fragments, seed, today, p.scoring.clock.now_us())
            setup = time.perf_counter() - started
            console.print(f"  {store}: written in {setup:.1f} s: "
                          + ", ".join(f"{v:,} {k}" for k, v in counts.items()))  # fmt: skip
            sample = labels(p, 20_000, seed)
            started = time.perf_counter()
            model = p.scoring.train(principal=OPS, key="bench-train", labels=sample, as_of=today,
                                    activate=True)  # fmt: skip
            train = time.perf_counter() - started
            started = time.perf_counter()
            done = p.scoring.run(principal=OPS, key="bench-run")
            scoring = time.perf_counter() - started
            shocks = {"o0": 0.0, "o1": 0.5, "o2": 0.5}
            started = time.perf_counter()
            report = p.risk.stress(shocks, principal=OPS)
            stress = time.perf_counter() - started
            auc = model.card["metrics"]["cross_validated"]["auc"]
            return [
                store, f"{counts['organizations']:,}", f"{train:.1f} (AUC {auc:.3f})",
                f"{done.scored:,}: {scoring:.1f}", f"{counts['fragments']:,}",
                f"{stress:.1f}", f"{report.with_recourse.total_loss // 100:,}",
            ]  # fmt: skip
        finally:
            p.ledger.db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=1_000_000)
    parser.add_argument("--fragments", type=int, default=1_000_000)
    parser.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    console = Console()
    console.print(f"Risk benchmark: {args.orgs:,} organizations, {args.fragments:,} fragments, "
                  f"seed {args.seed}")  # fmt: skip
    stores = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    table = Table(title="Scoring and stress, through the services, read from the store")
    for column in ("store", "orgs", "fit (s)", "scored in (s)", "fragments", "stress (s)",
                   "loss, recourse (CNY)"):  # fmt: skip
        table.add_column(column, justify="right")
    for store in stores:
        table.add_row(*bench(store, args.orgs, args.fragments, args.seed, console))
    console.print(table)


if __name__ == "__main__":
    main()
