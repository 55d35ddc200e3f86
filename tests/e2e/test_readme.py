"""The README's promises: its two commands are the real ones, and its example runs."""

from __future__ import annotations

import os
import re
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
