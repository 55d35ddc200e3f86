"""The README's promises: its two commands are the real ones, and its example runs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


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
    blocks = re.findall(r"```sh\n(.*?)```", README, re.S)[1:]
    assert blocks, "the README shows the command line"
    shutil.copytree(ROOT / "tests" / "data", tmp_path / "tests" / "data")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPILLARY_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "160"
    for n, block in enumerate(blocks, 1):
        where = tmp_path / f"block{n}"
        where.mkdir()
        if "tests/data" in block:
            (where / "tests").symlink_to(tmp_path / "tests")
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", block],
            cwd=where, env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, f"block {n}:\n{block}\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stdout + done.stderr
