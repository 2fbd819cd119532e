"""The sparse first-layer kernels (C through fastnn._sparse_kernels, with each instruction-set body this CPU
runs, and numba) against the dense NumPy products, and the density policy that chooses them."""
import numpy as np
import pytest

from fastnn import _config, _isa, _sparse
from helpers import assert_close

try:
    _sparse_kernels = _isa.load_extension("_sparse_kernels")  # the variant the library itself would use
except ImportError:  # pragma: no cover - a build without the extension
    _sparse_kernels = None

_ISA_ORDER = ("scalar", "avx2", "avx512")
C_ISAS = ([] if _sparse_kernels is None else
          list(_ISA_ORDER[:_ISA_ORDER.index(_sparse_kernels.cpu_isa()) + 1]))
IMPLS = [f"c-{isa}" for isa in C_ISAS] + ["numba"]
WIDTHS = (1, 7, 100, 512, 513)


@pytest.fixture(params=IMPLS)
def kernels(request):
    """The kernel module under test: C with one instruction-set body forced, or numba."""
    if request.param == "numba":
        from fastnn import _sparse_numba
        yield _sparse_numba
        return
    _sparse_kernels.set_isa(request.param[2:])
    yield _sparse_kernels
    _sparse_kernels.set_isa(_sparse_kernels.cpu_isa())


def sparse_rows(rng, n, d, density, dtype):
    """Rows with values in [0.5, 1.5) at a share `density` of places, exact zeros elsewhere."""
    x = rng.uniform(0.5, 1.5, (n, d))
    x[rng.random((n, d)) >= density] = 0
    return x.astype(dtype)


def first_layer(kernels, x, perm, start, stop, W1, b1, dA1):
    """Every kernel on the batch x[perm[start:stop]], outputs poisoned with NaN first (so an unwritten entry
    fails). Returns (CSR, CSC, z, dW1)."""
    rows, d, h = stop - start, x.shape[1], W1.shape[1]
    dt = W1.dtype
    indptr, indices, values = np.full(rows + 1, -1, np.intp), np.full(rows * d, -1, np.int32), np.full(rows * d, np.nan, dt)
    nnz = kernels.gather_csr(x, perm, start, stop, indptr, indices, values)
    colptr, crow, cval = np.full(d + 1, -1, np.intp), np.full(rows * d, -1, np.int32), np.full(rows * d, np.nan, dt)
    kernels.csr_to_csc(indptr, indices, values, d, colptr, crow, cval)
    z, dW1 = np.full((rows, h), np.nan, dt), np.full((d, h), np.nan, dt)
    kernels.forward(indptr, indices, values, W1, b1, z, 0, rows)
    kernels.weight_grad(colptr, crow, cval, dA1, dW1, 0, d)
    return (nnz, indptr, indices, values), (colptr, crow, cval), z, dW1


def dense_batch(x, perm, start, stop):
    return x[perm[start:stop]] if len(perm) else x[start:stop]


def check(kernels, x, perm, start, stop, h, seed=0):
    """Every kernel's output equals the dense products (to rounding) and the CSR/CSC hold exactly xb."""
    dt = x.dtype
    rng = np.random.default_rng(seed)
    W1, b1 = rng.standard_normal((x.shape[1], h)).astype(dt), rng.standard_normal(h).astype(dt)
    dA1 = rng.standard_normal((stop - start, h)).astype(dt)
    (nnz, indptr, indices, values), (colptr, crow, cval), z, dW1 = first_layer(kernels, x, perm, start, stop, W1,
                                                                               b1, dA1)
    xb = dense_batch(x, perm, start, stop)
    assert nnz == np.count_nonzero(xb) == indptr[-1]
    rebuilt = np.zeros_like(xb)
    for b in range(len(xb)):
        assert np.all(np.diff(indices[indptr[b]:indptr[b + 1]]) > 0)
        rebuilt[b, indices[indptr[b]:indptr[b + 1]]] = values[indptr[b]:indptr[b + 1]]
    np.testing.assert_array_equal(rebuilt, xb)
    by_column = np.zeros_like(xb)
    for j in range(x.shape[1]):
        assert np.all(np.diff(crow[colptr[j]:colptr[j + 1]]) > 0)
        by_column[crow[colptr[j]:colptr[j + 1]], j] = cval[colptr[j]:colptr[j + 1]]
    np.testing.assert_array_equal(by_column, xb)
    scale = 1 + float(np.abs(xb).sum(axis=1).max())
    assert_close(z, xb @ W1 + b1, dt, scale=scale, err_msg="forward")
    assert_close(dW1, xb.T @ dA1, dt, scale=scale, err_msg="weight_grad")
    return W1, dA1, (colptr, crow, cval)


@pytest.mark.parametrize("h", WIDTHS)
def test_random_sparse_any_width(kernels, dtype, h):
    rng = np.random.default_rng(h)
    x = sparse_rows(rng, 40, 37, 0.25, dtype)
    x[3] = 0                      # an empty row
    x[:, 5] = 0                   # an empty column
    x[7] = 0
    x[7, -1] = 1.25               # a row whose only nonzero is the last column
    perm = rng.permutation(40).astype(np.intp)
    check(kernels, x, perm, 0, 40, h)
    check(kernels, x, perm, 11, 29, h)  # a batch from the middle of perm


@pytest.mark.parametrize("h", (7, 100))
def test_perm_with_repeats_and_no_perm(kernels, dtype, h):
    rng = np.random.default_rng(1)
    x = sparse_rows(rng, 20, 30, 0.3, dtype)
    check(kernels, x, np.array([3, 3, 0, 19, 3, 7, 7], np.intp), 0, 7, h)
    check(kernels, x, np.empty(0, np.intp), 4, 13, h)  # an empty perm: rows of x themselves


def test_all_zero_batch_gives_bias_and_zero_gradient(kernels, dtype):
    x = np.zeros((5, 12), dtype)
    W1, dA1, _ = check(kernels, x, np.arange(5, dtype=np.intp), 0, 5, 9)


def test_single_row_and_single_nonzero(kernels, dtype):
    x = np.zeros((3, 50), dtype)
    x[1, 49] = 0.75
    check(kernels, x, np.array([1], np.intp), 0, 1, 513)
    check(kernels, x, np.array([2, 1], np.intp), 0, 2, 17)


@pytest.mark.parametrize("h", (100, 513))
def test_dense_random_input_forced_sparse_is_exact(kernels, dtype, h):
    x = np.random.default_rng(2).uniform(0.1, 1.0, (16, 64)).astype(dtype)
    check(kernels, x, np.random.default_rng(3).permutation(16).astype(np.intp), 0, 16, h)


def test_mnist_rows(kernels, dtype, mnist):
    (x, _), _ = mnist
    x = np.ascontiguousarray(x[:2000], dtype=dtype)
    perm = np.random.default_rng(4).permutation(len(x)).astype(np.intp)
    check(kernels, x, perm, 100, 200, 100)
    check(kernels, x, perm, 0, 32, 513)


def test_row_and_pixel_ranges_write_only_their_rows(kernels, dtype):
    rng = np.random.default_rng(5)
    x = sparse_rows(rng, 10, 20, 0.3, dtype)
    W1, b1 = rng.standard_normal((20, 13)).astype(dtype), rng.standard_normal(13).astype(dtype)
    dA1 = rng.standard_normal((10, 13)).astype(dtype)
    (_, indptr, indices, values), (colptr, crow, cval), z_all, dW_all = first_layer(
        kernels, x, np.empty(0, np.intp), 0, 10, W1, b1, dA1)
    z, dW1 = np.full_like(z_all, np.nan), np.full_like(dW_all, np.nan)
    kernels.forward(indptr, indices, values, W1, b1, z, 3, 7)
    kernels.weight_grad(colptr, crow, cval, dA1, dW1, 4, 15)
    np.testing.assert_array_equal(z[3:7], z_all[3:7])
    assert np.isnan(z[:3]).all() and np.isnan(z[7:]).all()
    np.testing.assert_array_equal(dW1[4:15], dW_all[4:15])
    assert np.isnan(dW1[:4]).all() and np.isnan(dW1[15:]).all()


@pytest.mark.parametrize("h", (7, 100, 513))
def test_sgd_step_is_the_step_and_leaves_untouched_rows_bit_identical(kernels, dtype, h):
    rng = np.random.default_rng(h)
    x = sparse_rows(rng, 30, 40, 0.2, dtype)
    x[:, [0, 17, 39]] = 0          # pixels no row of the batch has
    perm = rng.permutation(30).astype(np.intp)
    W1, dA1, (colptr, crow, cval) = check(kernels, x, perm, 0, 30, h)
    dW1 = dense_batch(x, perm, 0, 30).T @ dA1
    lr = 0.1
    W_new, touched = W1.copy(), np.full(40, -1, np.int32)
    n = kernels.sgd_step(colptr, crow, cval, dA1, W_new, lr, 0, 40, touched)
    want = np.flatnonzero(np.diff(colptr))
    np.testing.assert_array_equal(touched[:n], want)
    assert 0 not in want and 17 not in want and 39 not in want
    untouched = np.setdiff1d(np.arange(40), want)
    np.testing.assert_array_equal(W_new[untouched], W1[untouched])  # bit-identical
    assert_close(W_new, W1 - dtype.type(lr) * dW1, dtype, scale=1 + float(np.abs(W1).max()))
    assert not np.array_equal(W_new[want], W1[want])


def test_isa_is_the_cpus_widest_and_never_above_it():
    if _sparse_kernels is None:
        pytest.skip("compiled extension not built")
    assert _sparse_kernels.isa() == _sparse_kernels.cpu_isa()
    try:
        assert _sparse_kernels.set_isa("avx512") == _sparse_kernels.cpu_isa()
        assert _sparse_kernels.set_isa("scalar") == "scalar"
    finally:
        _sparse_kernels.set_isa(_sparse_kernels.cpu_isa())


# --- the policy -----------------------------------------------------------------------------------------

def test_density_is_sampled_and_exact_on_small_inputs():
    x = np.zeros((10, 8))
    x[::2, :2] = 1
    assert _sparse.density(x) == 10 / 80
    big = np.zeros((10_000, 4))
    big[:, 0] = 1
    assert _sparse.density(big, n_rows=100) == 0.25
    assert _sparse.density(np.zeros((0, 3))) == 0.0


def test_policy_chooses_dense_for_dense_random_input_and_sparse_for_mnist(dtype, mnist):
    dense_random = np.random.default_rng(0).random((3000, 784)).astype(dtype)
    assert not _sparse.use_sparse(dense_random, 100, dtype)
    (x, _), _ = mnist
    assert _sparse.use_sparse(x.astype(dtype), 100, dtype)


def test_policy_threshold_is_the_configured_one(dtype):
    limit = _config.SPARSE_MAX_DENSITY[dtype.name]
    x = np.zeros((100, 1000), dtype)
    x[:, :round(limit * 1000)] = 1
    assert _sparse.use_sparse(x, 10, dtype)
    x[:, :round(limit * 1000) + 10] = 1
    assert not _sparse.use_sparse(x, 10, dtype)


def test_override_by_argument_and_environment(monkeypatch):
    x = np.ones((10, 10))
    assert _sparse.use_sparse(x, 5, np.float64, first_layer="sparse")
    assert not _sparse.use_sparse(np.zeros((10, 10)), 5, np.float64, first_layer="dense")
    monkeypatch.setenv(_config.ENV_FIRST_LAYER, "sparse")
    assert _sparse.use_sparse(x, 5, np.float64)
    assert not _sparse.use_sparse(x, 5, np.float64, first_layer="auto")  # the argument wins
    monkeypatch.setenv(_config.ENV_FIRST_LAYER, "bogus")
    with pytest.raises(ValueError, match=_config.ENV_FIRST_LAYER):
        _sparse.use_sparse(x, 5, np.float64)


@pytest.mark.parametrize("bad, match", [({"first_layer": "Sparse"}, "first_layer"), ({"dtype": np.int32}, "dtype"),
                                         ({"n_hidden": 0}, "n_hidden")])
def test_policy_rejects_bad_arguments(bad, match):
    kwargs = dict(x=np.ones((3, 3)), n_hidden=4, dtype=np.float32) | bad
    with pytest.raises((ValueError, TypeError), match=match):
        _sparse.use_sparse(**kwargs)
