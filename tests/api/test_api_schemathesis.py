"""schemathesis against the live OpenAPI of a real server: generated requests to every
operation, as the operator and as a supplier. No answer is a 5xx, every answer matches the
schema the spec gives for its status and content type.

The operations are driven from one test (the schemathesis pytest plugin's lazy fixtures do
not work with this pytest): each operation's strategy under hypothesis, bounded."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.api.conftest import World, _world

EXAMPLES = 10  # per operation and caller: bounded, so the suite stays quick
#: The domain refuses more than a schema can say (a USCC's check character, a business rule:
#: 422 with a code); a schema-valid request refused is not a fault of the contract.
EXCLUDED = [schemathesis.checks.positive_data_acceptance]


@pytest.fixture
def fuzz_world(sqlite_template: Path, tmp_path: Path) -> Iterator[World]:
    path = tmp_path / "fuzz.db"
    shutil.copy(sqlite_template, path)
    yield from _world(f"sqlite:///{path}")


@pytest.mark.slow
@pytest.mark.parametrize("who", ["ops", "tier1"])
def test_no_5xx_and_every_answer_matches_its_schema(fuzz_world: World, who: str) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzz_world.base}/openapi.json")
    headers = {"Authorization": f"Bearer {fuzz_world.keys[who]}"}
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=fuzz_world.base, headers=headers,
                                   excluded_checks=EXCLUDED)  # fmt: skip

        try:
            run()
        except BaseExceptionGroup as exc:  # every operation's finding, not just the first
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:2000])
    assert operations >= 60
    assert not failures, "\n\n".join(failures)
