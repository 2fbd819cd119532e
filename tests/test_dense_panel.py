"""The products over a held input's dense columns (src_cython/_panel.h, through fastnn._sparse_kernels'
dense_forward / dense_wgrad), with each instruction-set body this CPU runs, against NumPy's: every shape
around the register tile's edges (rows not a multiple of the tile's 6, units not a multiple of a vector or of
a block of vectors), alpha and beta as the epoch passes them (dW1: 1 and 0; an SGD step: -lr and 1 - lr lam),
and outputs poisoned so that an unwritten or wrongly read entry fails."""
import numpy as np
import pytest

from fastnn import _isa
from helpers import assert_close

try:
    _kernels = _isa.load_extension("_sparse_kernels")
except ImportError:  # pragma: no cover - a build without the extension
    _kernels = None

pytestmark = pytest.mark.skipif(_kernels is None, reason="the cython backend is not built")

_ORDER = ("scalar", "avx2", "avx512")
ISAS = [] if _kernels is None else list(_ORDER[:_ORDER.index(_kernels.cpu_isa()) + 1])
#: Units: one lane; under one AVX2 / AVX-512 vector; exactly one; one past; blocks of 2 and 4 vectors and past
#: them (AVX2's blocks are 2 vectors, AVX-512's 4); MNIST's 100; a wide layer.
UNITS = (1, 5, 8, 9, 16, 17, 31, 64, 65, 100, 130)
ROWS = (1, 5, 6, 7, 12, 13, 100)


@pytest.fixture(params=ISAS)
def isa(request):
    _kernels.set_isa(request.param)
    yield request.param
    _kernels.set_isa(_kernels.cpu_isa())


def operands(rng, rows, k, h, dtype):
    x = rng.uniform(-1, 1, (rows, k)).astype(dtype)
    x[rng.random((rows, k)) < 0.3] = 0  # dense columns still hold zeros
    return x, rng.standard_normal((k, h)).astype(dtype)


@pytest.mark.parametrize("h", UNITS)
@pytest.mark.parametrize("rows", ROWS)
def test_forward_equals_numpys_product(isa, dtype, rows, h):
    rng = np.random.default_rng(rows * 1000 + h)
    for k in (1, 7, 40):
        x, w = operands(rng, rows, k, h, dtype)
        z = np.full((rows, h), np.nan, dtype)
        _kernels.dense_forward(x, w, z)
        scale = max(1.0, float((np.abs(x) @ np.abs(w)).max()))
        assert_close(z, x.astype(np.float64) @ w.astype(np.float64), dtype, scale, err_msg=f"{isa} k={k}")


def test_forward_uses_every_column_and_row(isa):
    """A one in a single place of x picks W's row of that column into the output row of that row (an ignored
    column, a shifted row or a W read with the wrong stride shows)."""
    rows, k, h = 13, 11, 37
    w = np.arange(k * h, dtype=np.float64).reshape(k, h)
    for r in range(rows):
        for j in range(k):
            x = np.zeros((rows, k))
            x[r, j] = 1
            z = np.full((rows, h), np.nan)
            _kernels.dense_forward(x, w, z)
            want = np.zeros((rows, h))
            want[r] = w[j]
            np.testing.assert_array_equal(z, want, err_msg=f"{isa} row {r} column {j}")


@pytest.mark.parametrize("h", UNITS)
@pytest.mark.parametrize("rows", ROWS)
def test_weight_gradient_equals_numpys_product(isa, dtype, rows, h):
    """Columns i0:i1 of the batch (every count of the tile's rows, from an offset), G outside them untouched."""
    rng = np.random.default_rng(rows * 1000 + h + 1)
    k = 20
    x, _ = operands(rng, rows, k, h, dtype)
    dA = rng.standard_normal((rows, h)).astype(dtype)
    want = x.T.astype(np.float64) @ dA.astype(np.float64)
    scale = max(1.0, float((np.abs(x).T @ np.abs(dA)).max()))  # float32 sums of ~100 terms: their size's rounding
    for i0, i1 in ((0, k), (3, 4), (2, 15), (13, 20)):
        G = np.full((k, h), np.nan, dtype)
        _kernels.dense_wgrad(x, dA, G, 1.0, 0.0, i0, i1)  # beta 0: G is not read (NaN stays out)
        assert_close(G[i0:i1], want[i0:i1], dtype, scale, err_msg=f"{isa} columns {i0}:{i1}")
        assert np.isnan(G[:i0]).all() and np.isnan(G[i1:]).all(), "rows outside i0:i1 written"


@pytest.mark.parametrize("h", (9, 100))
def test_sgd_step_scales_both_terms(isa, dtype, h):
    """G := beta G + alpha x^T dA with the epoch's fused SGD step (alpha -lr, beta 1 - lr lam): a kernel
    that drops beta, or applies alpha to G too, fails."""
    rng = np.random.default_rng(h)
    rows, k, lr, lam = 31, 14, 0.3, 0.25
    x, _ = operands(rng, rows, k, h, dtype)
    dA = rng.standard_normal((rows, h)).astype(dtype)
    W = rng.standard_normal((k, h)).astype(dtype)
    want = (1 - lr * lam) * W.astype(np.float64) - lr * (x.T.astype(np.float64) @ dA.astype(np.float64))
    got = W.copy()
    _kernels.dense_wgrad(x, dA, got, -lr, 1 - lr * lam, 0, k)
    assert_close(got, want, dtype, max(1.0, float((np.abs(x).T @ np.abs(dA)).max())), err_msg=isa)


def test_every_body_agrees_to_rounding(dtype):
    """The bodies this CPU runs give the same products to rounding (they differ only in vector width)."""
    rng = np.random.default_rng(7)
    x, w = operands(rng, 100, 140, 100, dtype)
    dA = rng.standard_normal((100, 100)).astype(dtype)
    results = []
    try:
        for isa in ISAS:
            _kernels.set_isa(isa)
            z = np.empty((100, 100), dtype)
            g = np.empty((140, 100), dtype)
            _kernels.dense_forward(x, w, z)
            _kernels.dense_wgrad(x, dA, g, 1.0, 0.0, 0, 140)
            results.append((isa, z, g))
    finally:
        _kernels.set_isa(_kernels.cpu_isa())
    zs, gs = max(1.0, float((np.abs(x) @ np.abs(w)).max())), max(1.0, float((np.abs(x).T @ np.abs(dA)).max()))
    for isa, z, g in results[1:]:
        assert_close(z, results[0][1], dtype, zs, err_msg=f"forward {isa} vs {results[0][0]}")
        assert_close(g, results[0][2], dtype, gs, err_msg=f"wgrad {isa} vs {results[0][0]}")
