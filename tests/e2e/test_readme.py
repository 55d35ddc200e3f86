"""The README's promises: its two commands are the real ones, and its example runs."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
DEMO_KEYS = "capillary-demo/keys.env"  # the walk that runs against the served demo


def test_the_two_commands_are_the_makefiles_and_ci_runs_the_second() -> None:
    blocks = re.findall(r"```(?:sh|bash|console)\n(.*?)```", README, re.S)
    first_commands = [line.strip() for line in blocks[0].splitlines() if line.strip()]
    assert first_commands == ["make demo", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_the_python_example_runs_as_written(tmp_path: Path) -> None:
    (example,) = re.findall(r"```python\n(.*?)```", README, re.S)
    script = tmp_path / "example.py"
    script.write_text(example)
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "debits_exceed_credits" in done.stdout
    assert "intact" in done.stdout


def test_every_command_block_runs_as_written_on_a_fresh_store(tmp_path: Path) -> None:
    """Each ``sh`` block after the two commands, top to bottom, in a fresh directory beside
    a copy of the test data, with ``capillary`` on the PATH: every line must succeed."""
    blocks = [b for b in re.findall(r"```sh\n(.*?)```", README, re.S)[1:] if DEMO_KEYS not in b]
    assert blocks, "the README shows the command line"
    shutil.copytree(ROOT / "tests" / "data", tmp_path / "tests" / "data")
    for n, block in enumerate(blocks, 1):
        where = tmp_path / f"block{n}"
        where.mkdir()
        if "tests/data" in block:
            (where / "tests").symlink_to(tmp_path / "tests")
        _run_block(block, where, f"block {n}")


def _shell_env() -> dict[str, str]:
    """A user's shell: no CAPILLARY_ settings of ours, ``.venv/bin`` first on the PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPILLARY_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "160"
    return env


def _run_block(block: str, where: Path, name: str) -> str:
    """Run a command block with ``bash -e -o pipefail``: every line must succeed, and no
    traceback reach the user. Its standard output."""
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", block],
        cwd=where, env=_shell_env(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, f"{name}:\n{block}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stdout + done.stderr
    return done.stdout


def test_the_walk_through_the_demo_runs_against_the_served_demo(tmp_path: Path) -> None:
    """The tour's walk, as written, against ``capillary demo`` serving in the same directory
    (five months of the default economy, to keep the test short; on a free port in place
    of the README's 8000), with ``.venv/bin`` on the PATH as the README says. Every line
    must succeed, twice: the second run finances the next fragment."""
    (walk,) = [b for b in re.findall(r"```sh\n(.*?)```", README, re.S) if DEMO_KEYS in b]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = (tmp_path / "demo.log").open("w")
    demo = subprocess.Popen(
        [str(Path(sys.executable).parent / "capillary"), "demo", "--days", "150",
         "--port", str(port)],
        cwd=tmp_path, env=_shell_env(), stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while not _ready(port):
            assert demo.poll() is None, (tmp_path / "demo.log").read_text()
            assert time.monotonic() < deadline, "the demo did not come up in 300 s"
            time.sleep(0.5)
        script = walk.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        outputs = [_run_block(script, tmp_path, f"the walk, run {n}") for n in (1, 2)]
    finally:
        demo.terminate()
        demo.wait(timeout=30)
        log.close()
    for out in outputs:
        assert "confirmed" in out  # the tier-1 supplier's invoices
        assert "tier 4" in out  # the lineage reaches the tier-4 supplier
        assert "account_not_found" in out  # the core's cash is not the supplier's to see
        assert "Journal verified" in out
    fills = [re.findall(r"\[\('([a-z0-9-]+)', '([0-9.]+)', '([0-9.]+)'\)", o) for o in outputs]
    assert fills[0], outputs[0]
    assert fills[1], outputs[1]
    assert fills[0] != fills[1]  # the second walk financed another fragment


def _ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
