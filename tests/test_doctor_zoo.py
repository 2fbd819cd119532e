"""fastnn doctor on the zoo of complete learner programs (tests/doctor_zoo): the first finding names the bug.

Each program is run as `fastnn doctor --json FILE` (a child process watching a few training steps);
tests/doctor_zoo/expected.json gives, per program, the first finding's code ("first") and parameter
("param"); a null "first" is a healthy program, which must get no finding at all.
"""
import json
import os
from pathlib import Path

import pytest

ZOO = Path(__file__).resolve().parent / "doctor_zoo"
EXPECTED = ZOO / "expected.json"


def _cases():
    if not EXPECTED.is_file():
        return []
    with open(EXPECTED, encoding="utf-8") as f:
        data = json.load(f)
    items = data.items() if isinstance(data, dict) else [(d.get("file") or d.get("program"), d) for d in data]
    return sorted((name, spec) for name, spec in items if not str(name).startswith("_"))


@pytest.mark.skipif(not EXPECTED.is_file(), reason="tests/doctor_zoo/expected.json is not here yet")
@pytest.mark.skipif(not os.environ.get("FASTNN_MNIST_DIR"), reason="the zoo programs load MNIST")
@pytest.mark.parametrize("name,spec", _cases() or [("none", {})])
def test_first_finding_names_the_bug(name, spec, capsys):
    from fastnn.cli import main
    assert main(["doctor", "--json", str(ZOO / name), "--steps", "3", "--timeout", "120"]) == 0
    report = json.loads(capsys.readouterr().out)
    code = spec.get("first", spec.get("code")) if isinstance(spec, dict) else spec
    param = spec.get("param") if isinstance(spec, dict) else None
    got = [(f["code"], f["param"]) for f in report["findings"]]
    if code is None:
        assert got == [], (name, got)
    else:
        assert got, (name, report["not_checked"], report["program_error"])
        assert got[0] == (code, param), (name, got)
