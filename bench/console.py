"""Console benchmark: how long the server takes to render each page on the demo economy.

    python bench/console.py                       # the default economy (1,000 orgs, a year)
    python bench/console.py --orgs 200 --days 90 --requests 20

Builds the demo economy with ``capillary demo --no-serve`` in a temporary folder (SQLite),
serves it with ``capillary serve`` in its own process, signs in as demo users (a tier-1
supplier holding the most, the first core, a funder, the operator), requests each page
``--requests`` times, and reads the server's own time for each request from its JSON request log
(``duration_ms``: from the request's arrival to the answer, the server side only); the core
and the operator also open the core's certificate with the widest tree, and each user one
step of a tree's ledger postings. Target
(issue 13): every page in at most 100 ms at the 95th percentile.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

BIN = Path(sys.executable).parent
#: The pages of each demo user's own part: the core's payables and settlement calendar, its
#: early-payment programmes and reach; the funder's requests, quotes, rules, portfolio and
#: lines; the operator's participants, limits, calendar, webhooks, audit trail and reach.
OWN_PAGES = {"core": ["/console/payables", "/console/early-payment", "/console/reach"],
             "funder": ["/console/funding"],
             "operator": ["/console/platform", "/console/platform/audit", "/console/reach",
                          "/console/early-payment"]}  # fmt: skip
ENV = {"COLUMNS": "160", "PATH": "/usr/bin:/bin"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Session:
    """A signed-in browser's cookies, carried by hand (they are Secure; this is http://)."""

    def __init__(self, base: str, login: str, password: str) -> None:
        self.http = httpx.Client(base_url=base, follow_redirects=False, timeout=60)
        form = self.http.get("/console/sign-in")
        pre = form.cookies.get("capillary_csrf") or ""
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token is not None
        done = self.http.post("/console/sign-in", headers={"Cookie": f"capillary_csrf={pre}"},
                              data={"login": login, "password": password,
                                    "csrf": token.group(1)})  # fmt: skip
        assert done.status_code == 303, done.text[:300]
        self.cookie = f"capillary_session={done.cookies.get('capillary_session')}"

    def get(self, path: str) -> httpx.Response:
        answer = self.http.get(path, headers={"Cookie": self.cookie})
        assert answer.status_code == 200, (path, answer.status_code)
        return answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=1_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    console = Console()
    console.print(f"Console benchmark: {args.orgs:,} organizations, {args.days} days, "
                  f"{args.requests} requests a page (SQLite)")  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        where = Path(folder)
        subprocess.run([str(BIN / "capillary"), "demo", "--no-serve", "--orgs", str(args.orgs),
                        "--days", str(args.days)], cwd=where, env=ENV, check=True,
                       capture_output=True)  # fmt: skip
        users = json.loads((where / "capillary-demo" / "users.json").read_text())
        with sqlite3.connect(where / "capillary-demo.db") as db:  # the widest tree of the core's
            found = db.execute(
                "SELECT c.number FROM certificates c JOIN fragments f ON f.certificate_id = c.id "
                "WHERE c.obligor = ? GROUP BY c.number ORDER BY COUNT(*) DESC LIMIT 1",
                (users["core"][0],)).fetchone()  # fmt: skip
        widest = found[0] if found else None  # a short run may have issued nothing yet
        port = free_port()
        log = (where / "serve.log").open("w")
        server = subprocess.Popen(
            [str(BIN / "capillary"), "--db", "sqlite:///capillary-demo.db", "serve", "--port",
             str(port)], cwd=where, env=ENV, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "the server did not come up"
                time.sleep(0.2)
            for who in [w for w in ("tier1", "core", "funder", "operator") if w in users]:
                login, password = users[who]
                s = Session(base, login, password)
                holdings = s.get("/console/holdings").text
                numbers = re.findall(r"/console/certificates/(CP\d+)", holdings)
                pages = [
                    "/console/",
                    "/console/holdings",
                    "/console/invoices",
                    "/console/users",
                    "/console/market",
                    *OWN_PAGES.get(who, []),
                ]
                if numbers:
                    pages.append(f"/console/certificates/{numbers[0]}")
                    tree = s.get(f"/console/certificates/{numbers[0]}").text
                    pages += re.findall(r'href="(/console/certificates/CP\d+/steps/\d+)"', tree)[
                        :1
                    ]  # a step's ledger postings
                if who != "tier1" and widest:  # the obligor and the operator see its whole tree
                    pages.append(f"/console/certificates/{widest}")
                for _ in range(args.requests):
                    for path in pages:
                        s.get(path)
                s.http.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()
        times: dict[str, list[float]] = defaultdict(list)
        for line in (where / "serve.log").read_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("event") == "request" and entry.get("status") == 200:
                route = str(entry.get("route", ""))
                if route.startswith("/console") and "static" not in route:
                    times[route].append(float(entry["duration_ms"]))
    table = Table(title="Server time per console page (ms)")
    for column in ("page", "requests", "p50", "p95", "max", "target ≤ 100 at p95"):
        table.add_column(column, justify="left" if column == "page" else "right")
    for route, values in sorted(times.items()):
        values.sort()
        p95 = values[max(0, math.ceil(len(values) * 0.95) - 1)]
        table.add_row(route, str(len(values)), f"{statistics.median(values):.1f}", f"{p95:.1f}",
                      f"{values[-1]:.1f}", "✓" if p95 <= 100 else "✗")  # fmt: skip
    console.print(table)


if __name__ == "__main__":
    main()
