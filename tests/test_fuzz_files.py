"""The file and command-line fuzz suite (tests/fuzz_files.py), each target in its own process.

A crash (segfault, abort), a hang (a FIFO opened for reading blocks forever) or a falsifying example
fails that one test, with the child's output; pytest itself survives. Examples are bounded and
derandomized (``FASTNN_FUZZ_SCALE=10`` runs ten times as many).
"""
import pytest

import fuzz_files
from isolated import assert_survives

TARGETS = ["round_trip", "checkpoint_round_trip", "corrupted_bytes", "hostile_metadata", "hostile_arrays",
           "save_to_hostile_paths", "cli"]


def test_every_target_is_run():
    assert sorted(TARGETS) == sorted(fuzz_files.TARGETS)


@pytest.mark.parametrize("target", TARGETS)
def test_fuzz(target):
    assert_survives(f"import fuzz_files; fuzz_files.run_{target}()", timeout=300)
