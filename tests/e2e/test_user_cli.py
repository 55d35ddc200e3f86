"""``capillary user …`` as an operator and an organization's admin run it: the password
asked for without echo (or from CAPILLARY_NEW_PASSWORD), never an argument."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.e2e.test_cli import CAPILLARY, run

PASSWORD = "correct horse battery staple"


def test_users_are_added_listed_changed_and_disabled(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'c.db'}"
    run("platform", "init", "ops", "--name", "Ops", "--id", "91310115MA1K4LQP0J", cwd=tmp_path,
        db=db)  # fmt: skip
    run("org", "create", "acme", "--name", "Acme Ltd", "--id", "91441900MA4UR6XB4L", "--roles",
        "supplier", cwd=tmp_path, db=db, who="ops")  # fmt: skip
    prompted = subprocess.run(
        [CAPILLARY, "user", "add", "acme", "wang.fang", "--name", "Wang Fang", "--role", "admin"],
        input=f"{PASSWORD}\n{PASSWORD}\n", cwd=tmp_path, capture_output=True, text=True,
        env={**os.environ, "CAPILLARY_DATABASE_URL": db, "CAPILLARY_AS": "ops"}, timeout=60,
    )  # fmt: skip
    assert prompted.returncode == 0, prompted.stdout + prompted.stderr
    assert "User wang.fang (Wang Fang) of acme: admin." in prompted.stdout
    assert PASSWORD not in prompted.stdout + prompted.stderr
    listed = run("user", "list", cwd=tmp_path, db=db, who="acme").stdout
    assert "wang.fang" in listed
    assert "admin" in listed
    os.environ["CAPILLARY_NEW_PASSWORD"] = "short"
    try:
        weak = run("user", "add", "acme", "li.na", "--name", "Li Na", cwd=tmp_path, db=db,
                   who="acme", ok=False)  # fmt: skip
    finally:
        del os.environ["CAPILLARY_NEW_PASSWORD"]
    assert weak.returncode == 1
    assert "error validation_error: A password is 12 to 256 characters" in weak.stderr
    other = run("user", "role", "wang.fang", "staff", cwd=tmp_path, db=db, who="bogus", ok=False)
    assert other.returncode == 1
    assert "Traceback" not in other.stderr
    changed = run("user", "role", "wang.fang", "read_only", cwd=tmp_path, db=db, who="acme")
    assert "is now read_only" in changed.stdout
    assert "is disabled" in run("user", "disable", "wang.fang", cwd=tmp_path, db=db,
                                who="ops").stdout  # fmt: skip
