"""The fuzz targets of tests/fuzz_api.py, each in its own child process: a segfault, an abort, a hang or a
falsifying example fails that one test (hypothesis prints the example in the child's stderr)."""
import pytest

from isolated import assert_survives

TARGETS = ["constructors", "forward_calls", "numerical_gradients", "train_epochs", "estimator"]


@pytest.mark.parametrize("target", TARGETS)
def test_fuzz(target):
    assert_survives(f"import fuzz_api\nfuzz_api.{target}()", timeout=600)


def test_targets_are_all_run():
    import fuzz_api
    assert sorted(fuzz_api.TARGETS) == sorted(TARGETS)
