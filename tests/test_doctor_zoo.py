"""fastnn doctor on the zoo of complete learner programs (tests/doctor_zoo): the first finding names the bug.

Each program is run as ``python -m fastnn doctor --json FILE`` (which itself watches the program in a child
process for a few training steps); tests/doctor_zoo/expected.json gives, per program, the first finding's
code ("first") and parameter ("param"); a null "first" is a healthy program, which must get no finding at
all. The programs run side by side (one per core) in a module fixture; each case then checks its report.
"""
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from helpers import child_env, fastnn_root

ZOO = Path(__file__).resolve().parent / "doctor_zoo"
EXPECTED = ZOO / "expected.json"


def _cases():
    if not EXPECTED.is_file():
        return []
    with open(EXPECTED, encoding="utf-8") as f:
        data = json.load(f)
    return sorted((name, spec) for name, spec in data.items() if not name.startswith("_"))


CASES = _cases()
pytestmark = [pytest.mark.skipif(not CASES, reason="tests/doctor_zoo/expected.json is not here"),
              pytest.mark.skipif(not os.environ.get("FASTNN_MNIST_DIR"), reason="the zoo programs load MNIST")]


def _doctor(name):
    # cwd: `python -m` puts it first on sys.path, so the child imports the fastnn these tests import (the
    # installed one in CI, not the checkout's source tree); the doctor runs the program from its own folder
    proc = subprocess.run([sys.executable, "-m", "fastnn", "doctor", "--json", str(ZOO / name)],
                          stdin=subprocess.DEVNULL, capture_output=True, env=child_env(), cwd=fastnn_root(),
                          timeout=900)
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        return {"error": proc.stdout.decode(errors="replace")[-2000:] + proc.stderr.decode(errors="replace")[-2000:]}


@pytest.fixture(scope="module")
def reports():
    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        return dict(zip([n for n, _ in CASES], pool.map(_doctor, [n for n, _ in CASES])))


@pytest.mark.parametrize("name,spec", CASES or [("none", {})], ids=[n for n, _ in CASES] or ["none"])
def test_first_finding_names_the_bug(reports, name, spec):
    report = reports[name]
    assert "error" not in report, report.get("error")
    got = [(f["code"], f["param"]) for f in report["findings"]]
    if spec["first"] is None:
        assert got == [], (name, got)
        if spec.get("trains", True):  # no finding because its training was watched, not because none was seen
            assert report["steps"] >= 2 and "training steps observed" in report["stop_reason"], (name, report)
    else:
        assert got, (name, report["not_checked"], report["program_error"])
        assert got[0] == (spec["first"], spec["param"]), (name, got)
    assert "Traceback" not in json.dumps(report["program_error"] or {})  # a learner's error is reported, not raised


def test_the_zoo_covers_every_kind_of_bug():
    codes = {spec["first"] for _, spec in CASES}
    assert None in codes and len([c for c in codes if c]) >= 15, sorted(filter(None, codes))
