"""fastnn/_memory.py: a held training set's large arrays in plain pages (no huge-page advice), as zeros.

The advice is read off the kernel's own record of each mapping (/proc/self/smaps, VmFlags ``hg`` =
MADV_HUGEPAGE), against a NumPy array of the same size as the control: where NumPy gives no advice here
(a NumPy built without it, NUMPY_MADVISE_HUGEPAGE=0, not Linux) the comparison means nothing and is skipped.
"""
import sys

import numpy as np
import pytest

import fastnn
from fastnn import _memory, _sparse

BIG = _memory.HUGE_PAGE_ADVICE_BYTES


def vm_flags(a):
    """The VmFlags of the mapping holding a's middle byte (NumPy advises from the page after the first)."""
    address = a.__array_interface__["data"][0] + a.nbytes // 2
    flags, inside = None, False
    with open("/proc/self/smaps", encoding="ascii", errors="replace") as f:
        for line in f:
            head = line.split()[0]
            if "-" in head and ":" not in head:
                lo, hi = (int(v, 16) for v in head.split("-"))
                inside = lo <= address < hi
            elif inside and line.startswith("VmFlags:"):
                flags = line.split()[1:]
    assert flags is not None, "no mapping holds the array"
    return flags


def numpy_advises():
    if not sys.platform.startswith("linux"):
        return False
    control = np.zeros(2 * BIG, np.uint8)
    control[::4096] = 1
    return "hg" in vm_flags(control)


needs_advice = pytest.mark.skipif(not numpy_advises(), reason="NumPy gives no huge-page advice here")


@pytest.mark.parametrize("shape", [0, 7, (3, 5), BIG // 4 - 1, BIG // 4, (BIG // 64, 33), (0, 5)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.intp])
def test_zeros_is_a_writable_contiguous_array_of_zeros(shape, dtype):
    a = _memory.zeros(shape, dtype)
    want = (shape,) if np.ndim(shape) == 0 else shape
    assert a.shape == want and a.dtype == np.dtype(dtype) and a.flags.c_contiguous and a.flags.writeable
    assert a.flags.aligned and not a.any()
    a[...] = 3
    assert np.all(a == 3)


def test_zeros_frees_with_its_array():
    import gc
    import mmap
    import weakref
    a = _memory.zeros(BIG, np.uint8)
    base = a
    while base is not None and not isinstance(base, mmap.mmap):  # array -> ... -> memoryview -> mmap
        base = base.obj if isinstance(base, memoryview) else base.base
    if base is None:
        pytest.skip("zeros is NumPy's own here")
    alive = weakref.ref(base)
    del a, base
    gc.collect()
    assert alive() is None


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="no fork here")
def test_a_forked_childs_writes_stay_its_own():
    """As with NumPy's memory: a child made by fork (multiprocessing's default on Linux) that writes into
    the array in place changes its own copy, never the parent's."""
    import os
    a = _memory.zeros(2 * BIG, np.uint8)
    a[::4096] = 7
    pid = os.fork()
    if pid == 0:  # the child
        a[:] = 0
        os._exit(0 if not a.any() else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert np.all(a[::4096] == 7) and int(a.sum()) == 7 * len(a[::4096])


@needs_advice
def test_large_zeros_come_without_huge_page_advice():
    a = _memory.zeros(2 * BIG, np.uint8)
    a[::4096] = 1
    assert "hg" not in vm_flags(a)


@needs_advice
@pytest.mark.skipif("cython" not in fastnn.available_backends(), reason="the cython backend is not built")
def test_a_held_training_set_and_its_split_are_in_plain_pages():
    """What a fit holds: the compiled CSR of a dense x and its dense-column split (block and rest)."""
    from fastnn.backends import _cython
    rng = np.random.default_rng(0)
    n, d = 30000, 400
    x = (rng.random((n, d)) < np.linspace(0.05, 0.95, d)).astype(np.float32)  # 6.5 MB of values in the rest
    rows = _sparse.SparseRows.from_dense(x, 2, _cython.csr_rows)
    rows.held = True
    split = _sparse.dense_columns(rows, 0.5, (_cython.column_counts, _cython.split_columns), 2)
    assert split is not None and split.dense.nbytes >= BIG and split.rest.values.nbytes >= BIG
    for name, a in [("indices", rows.indices), ("values", rows.values), ("dense block", split.dense),
                    ("rest indices", split.rest.indices), ("rest values", split.rest.values)]:
        assert "hg" not in vm_flags(a), name
    np.testing.assert_array_equal(rows.toarray(), x)


@needs_advice
def test_loaded_mnist_images_are_in_plain_pages_and_scaled_in_float32():
    import os
    if not os.environ.get("FASTNN_MNIST_DIR"):
        pytest.skip("real MNIST not found (FASTNN_MNIST_DIR)")
    from fastnn.datasets import load_mnist
    (x, _), (xt, _) = load_mnist(normalize=True)
    (xu, _), _ = load_mnist(normalize=False, flatten=False)
    for name, a in [("train", x), ("test", xt), ("raw train", xu)]:
        assert "hg" not in vm_flags(a), name
    assert xu.dtype == np.uint8 and xu.shape == (60000, 1, 28, 28)
    want = xu.reshape(60000, -1).astype(np.float32) / np.float32(255.0)
    assert x.dtype == np.float32 and np.array_equal(x.view(np.uint32), want.view(np.uint32))
