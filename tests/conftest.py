"""Shared fixtures: one `backend` fixture over every available backend, and real MNIST when present."""
import os
from pathlib import Path

import numpy as np
import pytest

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
if "FASTNN_MNIST_DIR" not in os.environ and SHARED_MNIST.is_dir():
    os.environ["FASTNN_MNIST_DIR"] = str(SHARED_MNIST)

import fastnn  # noqa: E402

JIT_DISABLED = os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0")
BACKENDS = fastnn.available_backends()
FAST_BACKENDS = [b for b in BACKENDS if b != "numpy"]
needs_jit = pytest.mark.skipif(JIT_DISABLED, reason="too slow with NUMBA_DISABLE_JIT=1 (kernel bodies run in Python)")


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Every backend this build has; a test written once runs on numpy, numba and cython."""
    return request.param


@pytest.fixture(params=FAST_BACKENDS)
def fast_backend(request):
    return request.param


@pytest.fixture(params=[np.float64, np.float32], ids=["float64", "float32"])
def dtype(request):
    return np.dtype(request.param)


@pytest.fixture(scope="session")
def mnist():
    """Real MNIST scaled to [0, 1] (skipped with the reason when the files are not here)."""
    if not os.environ.get("FASTNN_MNIST_DIR"):
        pytest.skip(f"real MNIST not found: set FASTNN_MNIST_DIR or put the IDX files in {SHARED_MNIST}")
    from fastnn.datasets import load_mnist
    return load_mnist(normalize=True)
