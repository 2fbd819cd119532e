"""Run code in a fresh Python process, so a segfault or abort fails one test instead of killing pytest.

``run_isolated(code)`` runs ``code`` with ``tests/`` and the package on ``sys.path`` and returns the
``subprocess.CompletedProcess``; ``assert_survives(code)`` also fails the calling test, with the child's
output, when the child died from a signal (segfault, abort), timed out or exited non-zero (an uncaught
exception or a failed assertion inside the child: a hypothesis run's falsifying example is in its stderr).
"""
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def run_isolated(code, timeout=600, env=None):
    """Run ``code`` (dedented) in ``python -c`` from the tests folder; return the CompletedProcess."""
    child_env = dict(os.environ)
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(TESTS), child_env.get("PYTHONPATH", "")) if p)
    child_env.setdefault("PYTHONFAULTHANDLER", "1")   # a segfault prints the Python stack of every thread
    child_env.update(env or {})
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=str(TESTS), env=child_env,
                          capture_output=True, text=True, timeout=timeout)


def describe(proc):
    """How the child ended, for an assertion message."""
    rc = proc.returncode
    how = f"killed by signal {signal.Signals(-rc).name}" if rc < 0 else f"exit status {rc}"
    return f"child {how}\n--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-8000:]}"


def assert_survives(code, timeout=600, env=None):
    """Fail unless ``code`` ran to completion in its own process (no crash, no uncaught exception)."""
    proc = run_isolated(code, timeout=timeout, env=env)
    assert proc.returncode == 0, describe(proc)
    return proc
