"""Issue 17: one epoch of MNIST's first-layer products (z := xb W1 + b1 and dW1 := xb^T dA1; 60,000 rows,
batch 100, hidden 100, float32, one thread) -- dense (gather + two GEMMs through NumPy) vs the sparse
kernels in C and in numba, side by side.

Each contender's z and dW1 of a few batches are checked against the dense products BEFORE its timing
counts; extra_info gives the nanoseconds per nonzero of x and the C kernels' instruction-set body.
"""
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from conftest import QUICK, passed_check
from fastnn import _config

H, BATCH, DT = 100, 100, np.float32
ROUNDS = 1 if QUICK else 5
CONTENDERS = ["dense", "c-sparse", "numba-sparse"]


@pytest.fixture(scope="module")
def workload(mnist_train):
    x, _ = mnist_train
    x = np.ascontiguousarray(x, dtype=DT)
    rng = np.random.default_rng(0)
    return {"x": x, "perm": rng.permutation(len(x)).astype(np.intp), "nnz": int(np.count_nonzero(x)),
            "W1": (0.01 * rng.standard_normal((x.shape[1], H))).astype(DT), "b1": (0.1 * rng.standard_normal(H)).astype(DT),
            "dA1": rng.standard_normal((BATCH, H)).astype(DT)}


def dense_epoch(w):
    """Per batch: xb := x[perm] (np.take), z := xb W1 + b1, dW1 := xb^T dA1; returns the last batch's (z, dW1)."""
    x, perm, W1, b1, dA1 = w["x"], w["perm"], w["W1"], w["b1"], w["dA1"]
    xb, z, dW1 = np.empty((BATCH, x.shape[1]), DT), np.empty((BATCH, H), DT), np.empty_like(W1)
    for start in range(0, len(perm) - BATCH + 1, BATCH):  # whole batches
        np.take(x, perm[start:start + BATCH], axis=0, out=xb)
        np.dot(xb, W1, out=z)
        z += b1
        np.dot(xb.T, dA1, out=dW1)
    return z, dW1


def sparse_epoch(kernels, w):
    """The same with the sparse kernels: gather_csr, forward, csr_to_csc, weight_grad."""
    x, perm, W1, b1, dA1 = w["x"], w["perm"], w["W1"], w["b1"], w["dA1"]
    d = x.shape[1]
    indptr, indices, values = np.empty(BATCH + 1, np.intp), np.empty(BATCH * d, np.int32), np.empty(BATCH * d, DT)
    colptr, rows, cvalues = np.empty(d + 1, np.intp), np.empty(BATCH * d, np.int32), np.empty(BATCH * d, DT)
    z, dW1 = np.empty((BATCH, H), DT), np.empty_like(W1)
    for start in range(0, len(perm) - BATCH + 1, BATCH):
        kernels.gather_csr(x, perm, start, start + BATCH, indptr, indices, values)
        kernels.forward(indptr, indices, values, W1, b1, z, 0, BATCH)
        kernels.csr_to_csc(indptr, indices, values, d, colptr, rows, cvalues)
        kernels.weight_grad(colptr, rows, cvalues, dA1, dW1, 0, d)
    return z, dW1


def contender(name):
    if name == "dense":
        return None
    if name == "c-sparse":
        return pytest.importorskip("fastnn._sparse_kernels", reason="compiled extension not built")
    from fastnn import _sparse_numba
    return _sparse_numba


@pytest.mark.parametrize("name", CONTENDERS)
def test_first_layer_epoch(benchmark, workload, name):
    benchmark.group = "first-layer products, MNIST epoch float32 batch 100 hidden 100, 1 thread"
    kernels = contender(name)
    run = (lambda: dense_epoch(workload)) if kernels is None else (lambda: sparse_epoch(kernels, workload))
    if kernels is not None:  # check before timing: the first batches against the dense products
        short = dict(workload, perm=workload["perm"][:3 * BATCH])
        want, got = dense_epoch(short), sparse_epoch(kernels, short)
        rtol, atol = _config.TOLERANCES["float32"]
        for g, wnt, what in zip(got, want, ("z", "dW1")):
            np.testing.assert_allclose(g, wnt, rtol=rtol, atol=atol * 100, err_msg=f"{name} {what}")
    with threadpool_limits(1):
        benchmark.pedantic(run, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    stats = benchmark.stats  # None under --benchmark-disable
    nnz_seconds = stats.stats.min / workload["nnz"] if stats else float("nan")
    benchmark.extra_info.update(rows=len(workload["perm"]), batch=BATCH, hidden=H, dtype="float32",
                                nonzeros=workload["nnz"], ns_per_nonzero_min=nnz_seconds * 1e9,
                                isa=(kernels.isa() if name == "c-sparse" else None))
    passed_check(benchmark, "z and dW1 of the first 3 batches vs the dense NumPy products (float32 tolerances)"
                 if kernels is not None else "the reference itself")
