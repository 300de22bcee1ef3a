"""Numbers in the manifest are written as the engine writes them: `90`, not `90.0`.

The SDK sends every number as a protobuf double; `pulumi preview --json` prints whole ones as integers.
tests/fixtures/preview/real/numbers.json is a real preview of tests/realcli/programs/numbers (INDEX.json
there names the command and CLI version): the same values must come out of the plan's value scrubber
exactly as the engine wrote them.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import example_manifest

from mssp.plan.offline import scrub

ROOT = Path(__file__).resolve().parents[3]
REAL = ROOT / "tests" / "fixtures" / "preview" / "real" / "numbers.json"
PROGRAM = ROOT / "tests" / "realcli" / "programs" / "numbers" / "__main__.py"


def program_values() -> dict[str, Any]:
    tree = ast.parse(PROGRAM.read_text())
    node = next(n for n in tree.body if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "VALUES")
    return ast.literal_eval(node.value)


def as_sent(value: Any) -> Any:
    """What the SDK sends: every number a double (protobuf Value.number_value)."""
    if isinstance(value, dict):
        return {k: as_sent(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_sent(v) for v in value]
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def test_the_scrubber_writes_numbers_exactly_as_the_real_engine() -> None:
    doc = json.loads(REAL.read_text())
    (step,) = [s for s in doc["steps"] if s["newState"]["type"] == "test:index:Numbers"]
    real = step["newState"]["inputs"]
    mine = scrub(as_sent(program_values()))
    assert json.dumps(mine, sort_keys=True) == json.dumps(real, sort_keys=True)
    assert isinstance(mine["nested"]["count"], int) and isinstance(mine["ratio"], float)


def _floats(value: Any, path: str = "") -> list[str]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _floats(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _floats(v, f"{path}[{i}]")]
    return [path] if isinstance(value, float) and value.is_integer() else []


@pytest.mark.parametrize("stack", ["mssp", "contoso", "fabrikam"])
def test_no_whole_number_is_written_as_a_float(stack: str) -> None:
    manifest = example_manifest(stack)
    assert _floats(manifest) == []
    text = json.dumps(manifest)
    # The Splunk webhook's response codes (contoso), the Splunk table's retention (platform): integers.
    expected = {"contoso": '"statusCode": 200', "mssp": '"retentionInDays": 90'}.get(stack)
    assert expected is None or expected in text
    assert not any(f'"{k}": {n}.0' in text for k in ("statusCode", "retentionInDays", "count") for n in range(1000))
