"""Inputs held over their nonzeros: scipy.sparse matrices given to ``train_epoch``, and the CSR of the inputs that
the Trainer and MLPClassifier build once for a fit (fastnn._sparse.SparseRows). Every builder of it agrees with
scipy's CSR; an epoch on it equals the epoch on the dense array (every backend, network and optimizer, whichever
first-layer path runs); a fit builds it once, not every epoch; bad sparse inputs are refused by name."""
import numpy as np
import pytest
import scipy.sparse as sps

import fastnn
from fastnn import _sparse
from fastnn.backends import available_backends, get_backend
from fastnn.multilayer import MultiLayerNetExtend
from helpers import assert_close
from test_first_layer import COMPILED, HYPER, make, sparse_data

BUILDERS = ["numpy"] + [b for b in ("numba", "cython") if b in available_backends()]


def builder(name):
    return _sparse.csr_rows_numpy if name == "numpy" else get_backend(name).csr_rows


def scipy_csr(x):
    m = sps.csr_matrix(x)
    m.sort_indices()
    return m


@pytest.mark.parametrize("name", BUILDERS)
@pytest.mark.parametrize("n_threads", [1, 2, 3, 7])
@pytest.mark.parametrize("per_row", [0, 1, 2, 30], ids=lambda k: f"upto{k}-per-row")
def test_builders_agree_with_scipy(name, n_threads, per_row, dtype):
    """Rows with few nonzeros (a compressor's spill then reaches into later rows and other threads' chunks),
    all-zero rows, columns past a vector width; own rows, and rows picked with repeats in any order."""
    rng = np.random.default_rng(per_row)
    n, d = 97, 37
    x = np.zeros((n, d), dtype)
    for i in range(n):
        cols = rng.choice(d, size=rng.integers(0, per_row + 1), replace=False)
        x[i, cols] = rng.uniform(-2, 2, cols.size)
    for rows in (np.empty(0, np.intp), rng.integers(0, n, 250).astype(np.intp)):
        indptr, indices, values = builder(name)(x, rows, n_threads)
        want = scipy_csr(x if rows.size == 0 else x[rows])
        assert indptr.dtype == np.intp and indices.dtype == np.int32 and values.dtype == dtype
        np.testing.assert_array_equal(indptr, want.indptr)
        np.testing.assert_array_equal(indices, want.indices)
        np.testing.assert_array_equal(values, want.data)


@pytest.mark.parametrize("name", BUILDERS)
def test_sparse_rows_round_trip(name, dtype):
    x, _ = sparse_data(1, dtype=dtype)
    rows = _sparse.SparseRows.from_dense(x, 2, builder(name))
    assert rows.shape == x.shape and rows.dtype == dtype and rows.nnz == np.count_nonzero(x)
    np.testing.assert_array_equal(rows.toarray(), x)
    assert _sparse.density(rows) == np.count_nonzero(x) / x.size


def epochs(net, x, t, optimizer, n=2, batch_size=16):
    opt = getattr(fastnn, optimizer)(**HYPER[optimizer])
    for epoch in range(n):
        net.train_epoch(x, t, batch_size, opt, perm=np.random.default_rng(epoch).permutation(t.shape[0]))
    return net


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
@pytest.mark.parametrize("optimizer", COMPILED + ("AdaGrad",))
@pytest.mark.parametrize("kind", ["two-layer", "mlp"])
def test_epoch_on_a_scipy_matrix_equals_the_dense_epoch(backend, dtype, kind, optimizer, fmt):
    """The matrix in float64 whatever the network's dtype (cast on the way in); the first layer's path is the
    one the dense array gets (sparse in the compiled loop, dense elsewhere)."""
    x, t = sparse_data(4, dtype=dtype)
    want = epochs(make(kind, backend, dtype, None), x, t, optimizer)
    got = epochs(make(kind, backend, dtype, None), sps.csr_matrix(x.astype(np.float64)).asformat(fmt), t, optimizer)
    assert got.first_layer_used == want.first_layer_used
    assert_close(got.batch_losses, want.batch_losses, dtype)
    for key in want.params:
        assert_close(got.params[key], want.params[key], dtype, err_msg=key)


@pytest.mark.parametrize("first_layer", ["dense", "sparse"])
def test_a_forced_path_on_a_scipy_matrix(fast_backend, first_layer):
    x, t = sparse_data(5)
    want = epochs(make("two-layer", fast_backend, np.float64, "dense"), x, t, "Adam")
    got = epochs(make("two-layer", fast_backend, np.float64, first_layer), sps.csr_matrix(x), t, "Adam")
    assert got.first_layer_used == first_layer
    for key in want.params:
        assert_close(got.params[key], want.params[key], np.float64, err_msg=key)


def test_duplicates_and_unsorted_columns_are_summed(fast_backend):
    """A COO matrix with repeated (row, column) entries means their sum, as scipy and x.toarray() say."""
    x, t = sparse_data(6)
    r, c = np.nonzero(x)
    half = x[r, c] / 2
    order = np.random.default_rng(0).permutation(2 * r.size)  # every entry twice, halves, shuffled
    coo = sps.coo_matrix((np.concatenate([half, half])[order], (np.concatenate([r, r])[order],
                                                                np.concatenate([c, c])[order])), shape=x.shape)
    want = epochs(make("two-layer", fast_backend, np.float64, "sparse"), x, t, "SGD")
    got = epochs(make("two-layer", fast_backend, np.float64, "sparse"), coo, t, "SGD")
    for key in want.params:
        assert_close(got.params[key], want.params[key], np.float64, err_msg=key)


def test_every_method_takes_a_scipy_matrix(backend):
    x, t = sparse_data(7)
    net = make("two-layer", backend, np.float64, None)
    m = sps.csr_matrix(x)
    assert_close(net.predict(m), net.predict(x), np.float64)  # its first layer over the nonzeros: to rounding
    assert net.loss(m, t) == net.loss(x, t)
    assert net.accuracy(m, t) == net.accuracy(x, t)
    for key, g in net.gradient(m, t).items():
        np.testing.assert_array_equal(g, net.gradient(x, t)[key])


def test_a_network_on_the_reference_path_takes_a_scipy_matrix():
    """Dropout runs the reference's own loop: the matrix is made dense for it."""
    x, t = sparse_data(8)
    nets = [MultiLayerNetExtend(37, [9], 5, use_dropout=True, dropout_ration=0.2, seed=1, backend=b)
            for b in ("numpy", "numpy")]
    np.random.seed(0)
    nets[0].train_epoch(x, t, 16, "SGD", perm=np.arange(len(t)))
    np.random.seed(0)
    nets[1].train_epoch(sps.csr_matrix(x), t, 16, "SGD", perm=np.arange(len(t)))
    assert nets[1].first_layer_used == "dense"
    for key in nets[0].params:
        np.testing.assert_array_equal(nets[1].params[key], nets[0].params[key])


@pytest.mark.parametrize("bad, error, words", [
    (sps.csr_matrix(np.ones((4, 36))), ValueError, "37 columns"),
    (sps.csr_matrix((0, 37)), ValueError, "at least one row"),
    (sps.csr_matrix(np.ones((4, 37), np.complex128)), TypeError, "real numbers"),
    (sps.csr_matrix(np.where(np.eye(4, 37, 2) > 0, np.nan, 0.0)), ValueError, r"NaN or inf \(first at index \(0, 2\)\)"),
], ids=["columns", "empty", "complex", "nan"])
def test_bad_sparse_inputs_are_refused_by_name(bad, error, words):
    net = fastnn.TwoLayerNet(37, 5, 3, seed=0)
    with pytest.raises(error, match=words) as info:
        net.train_epoch(bad, np.zeros(bad.shape[0], int), 2)
    assert "x" in str(info.value)


def malformed(kind):
    """A 6 x 37 matrix whose index arrays were edited in place (scipy trusts them, as would every kernel)."""
    x = sps.random(6, 37, density=0.3, format="csc" if kind.startswith("csc") else "csr", random_state=0)
    if kind == "lil-column":  # scipy's LIL -> CSR conversion copies the column as it is
        x = x.tolil()
        x.rows[0].append(10**7)
        x.data[0].append(1.0)
        return x
    if kind == "csr-float-indptr":
        x.indptr = x.indptr.astype(np.float64)
        return x
    if kind.startswith("coo"):
        x = x.tocoo()
        getattr(x, "row" if kind == "coo-row" else "col")[0] = 10**8
        return x
    if kind in ("csr-index-past-the-end", "csc-index-past-the-end"):
        x.indices[0] = x.shape[1 if kind.startswith("csr") else 0]
    elif kind == "csr-negative-index":
        x.indices[0] = -1
    elif kind == "csr-huge-index":
        x.indices[0] = 10**8
    elif kind == "csr-decreasing-indptr":
        x.indptr[2] = x.indptr[3] + 5
    elif kind == "csr-indptr-past-the-data":
        x.data = x.data[:3]
    elif kind == "csr-short-indptr":
        x.indptr = x.indptr[:4]
    return x


MALFORMED = ["csr-index-past-the-end", "csc-index-past-the-end", "csr-negative-index", "csr-huge-index",
             "csr-decreasing-indptr", "csr-indptr-past-the-data", "csr-short-indptr", "coo-row", "coo-col",
             "lil-column", "csr-float-indptr"]


@pytest.mark.parametrize("kind", MALFORMED)
def test_a_matrix_with_broken_index_arrays_is_refused_before_any_kernel(kind, fast_backend):
    """Every entry point refuses it by name (the kernels, and scipy's own conversions, would read and write
    outside the arrays: a crash, or silently wrong results)."""
    from fastnn.sklearn import MLPClassifier
    x, t = malformed(kind), np.arange(6) % 3
    for first_layer in ("sparse", "dense"):
        net = fastnn.TwoLayerNet(37, 5, 3, seed=0, backend=fast_backend, first_layer=first_layer)
        with pytest.raises(ValueError, match=r"^x \(a scipy.sparse"):
            net.train_epoch(x, t, 2, fastnn.SGD(0.1))
    with pytest.raises(ValueError, match=r"^x \(a scipy.sparse"):
        net.predict(x)
    with pytest.raises(ValueError, match=r"^x \(a scipy.sparse"):
        fastnn.Trainer(net, x, t, x, t, epochs=1, mini_batch_size=2, verbose=False)
    with pytest.raises(ValueError, match=r"^X \(a scipy.sparse"):
        MLPClassifier(hidden_layer_sizes=(4,), max_iter=1, backend=fast_backend).fit(x, t)


def test_a_sparse_array_that_is_not_2d_is_refused_by_name():
    from fastnn.gradcheck import gradient_check
    from fastnn.sklearn import MLPClassifier
    one_d = sps.coo_array(np.ones(37))
    net = fastnn.TwoLayerNet(37, 5, 3, seed=0)
    with pytest.raises(ValueError, match="^X must be 2-D"):
        MLPClassifier(hidden_layer_sizes=(4,), max_iter=1).fit(one_d, [0])
    with pytest.raises(ValueError, match="^x must be 2-D"):
        gradient_check(net, one_d, [0])


def test_a_stale_canonical_flag_is_not_trusted(fast_backend):
    """A CSR whose arrays were edited after scipy marked it canonical (now a repeated column in a row): its
    entries are summed on both paths, as in its dense array."""
    x = sps.csr_matrix(np.array([[1.0, 2.0, 0.0], [0.0, 3.0, 4.0]]))
    assert x.has_canonical_format
    x.indices[1] = 0  # row 0: (0, 1.0) and (0, 2.0)
    dense = np.array([[3.0, 0.0, 0.0], [0.0, 3.0, 4.0]])
    np.testing.assert_array_equal(x.toarray(), dense)
    for first_layer in ("sparse", "dense"):
        nets = [fastnn.TwoLayerNet(3, 4, 2, 0.3, seed=0, backend=fast_backend, first_layer=first_layer)
                for _ in range(2)]
        for net, inputs in zip(nets, (x, dense)):
            net.train_epoch(inputs, np.array([0, 1]), 2, fastnn.SGD(1.0), perm=np.arange(2))
        for key in nets[0].params:
            assert_close(nets[0].params[key], nets[1].params[key], np.float64, err_msg=f"{first_layer} {key}")


def count_builds(monkeypatch):
    calls = []
    original = _sparse.SparseRows.from_dense.__func__

    def counted(cls, *args, **kwargs):
        calls.append(1)
        return original(cls, *args, **kwargs)
    monkeypatch.setattr(_sparse.SparseRows, "from_dense", classmethod(counted))
    return calls


def test_the_trainer_builds_the_sparse_rows_once(fast_backend, monkeypatch):
    """Three epochs, one CSR of x_train; the result equals a dense first layer's."""
    x, t = sparse_data(9)
    calls = count_builds(monkeypatch)
    runs = {}
    for mode in ("sparse", "dense"):
        net = make("two-layer", fast_backend, np.float64, mode)
        trainer = fastnn.Trainer(net, x, t, x[:20], t[:20], epochs=3, mini_batch_size=16, optimizer="Adam",
                                 optimizer_param={"lr": 0.01}, verbose=False, seed=0)
        trainer.train()
        runs[mode] = net
    assert len(calls) == 1
    assert isinstance(trainer.x_train, np.ndarray)  # the user's view of the data is unchanged
    for key in runs["dense"].params:
        assert_close(runs["sparse"].params[key], runs["dense"].params[key], np.float64, err_msg=key)


def test_mlpclassifier_builds_the_sparse_rows_once_per_fit(fast_backend, monkeypatch):
    from fastnn.sklearn import MLPClassifier
    x, t = sparse_data(10)
    calls = count_builds(monkeypatch)
    clf = MLPClassifier(hidden_layer_sizes=(11,), max_iter=4, tol=0, n_iter_no_change=100, random_state=0,
                        backend=fast_backend, first_layer="sparse")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(x, t)
    assert clf.n_iter_ == 4 and clf.first_layer_used_ == "sparse"
    assert len(calls) == 1


@pytest.mark.parametrize("solver, early_stopping", [("adam", False), ("sgd", True), ("lbfgs", False)])
@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_mlpclassifier_on_a_scipy_matrix_equals_the_dense_fit(backend, solver, early_stopping, fmt):
    """scikit-learn's MLPClassifier takes sparse X; so does this one, with the dense fit's results."""
    from fastnn.sklearn import MLPClassifier
    import warnings
    x, t = sparse_data(11)
    fits = []
    for X in (x, sps.csr_matrix(x).asformat(fmt)):
        clf = MLPClassifier(hidden_layer_sizes=(11,), solver=solver, max_iter=5, random_state=0, backend=backend,
                            early_stopping=early_stopping, n_iter_no_change=100)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fits.append(clf.fit(X, t))
    dense, sparse = fits
    assert sparse.n_iter_ == dense.n_iter_
    np.testing.assert_allclose(sparse.loss_curve_ if solver != "lbfgs" else [sparse.loss_],
                               dense.loss_curve_ if solver != "lbfgs" else [dense.loss_], rtol=1e-9)
    for a, b in zip(sparse.coefs_ + sparse.intercepts_, dense.coefs_ + dense.intercepts_):
        assert_close(a, b, np.float64)
    np.testing.assert_allclose(sparse.predict_proba(sps.csr_matrix(x[:20]).asformat(fmt)),
                               dense.predict_proba(x[:20]), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("where", ["first", "last", "middle", "gathered-by-perm"])
def test_the_densest_batch_fits_its_workspace(fast_backend, where):
    """A batch's regrouping by pixel has room for the most nonzeros any batch holds, not batch_size * d: one
    fully dense batch among nearly empty ones (first, middle, or the short last one; or dense rows spread over
    x that perm brings together, so x's own order would underestimate it) gives the dense results."""
    rng = np.random.default_rng(12)
    n, d, b = 61, 37, 8
    x = np.zeros((n, d))
    x[rng.random((n, d)) < 0.02] = 1.0
    perm = np.arange(n)
    rows = {"first": slice(0, b), "last": slice(56, 61), "middle": slice(24, 32),
            "gathered-by-perm": slice(0, n, 7)}[where]
    x[rows] = rng.uniform(0.5, 1.5, x[rows].shape)
    if where == "gathered-by-perm":
        perm = np.concatenate([perm[rows], np.delete(perm, perm[rows])])
    t = rng.integers(0, 5, n)
    want = make("two-layer", fast_backend, np.float64, "dense")
    got = make("two-layer", fast_backend, np.float64, "sparse")
    for net in (want, got):
        net.train_epoch(x, t, b, "Adam", perm=perm)
    assert got.first_layer_used == "sparse"
    for key in want.params:
        assert_close(got.params[key], want.params[key], np.float64, err_msg=key)


def test_held_rows_take_the_path_of_the_dense_array(fast_backend, monkeypatch):
    """The density of x held over its nonzeros is estimated from the same rows as the dense array's (rows the
    sample skips are all ones here, the sampled ones all zeros): a fit builds its CSR and then uses it, never
    making it dense again, and takes the path ``train_epoch`` takes on the dense array."""
    n, d = 4096, 8
    x = np.ones((n, d))
    x[np.linspace(0, n - 1, 2048).astype(np.intp)] = 0
    t = np.random.default_rng(0).integers(0, 3, n)
    assert _sparse.density(_sparse.SparseRows.from_dense(x)) == _sparse.density(x)
    net = fastnn.TwoLayerNet(d, 11, 3, backend=fast_backend, seed=3, first_layer="auto")
    net.train_epoch(x, t, 64, "SGD", perm=np.arange(n))
    dense_path = net.first_layer_used
    calls = []
    original = _sparse.SparseRows.toarray
    monkeypatch.setattr(_sparse.SparseRows, "toarray", lambda self: calls.append(1) or original(self))
    net = fastnn.TwoLayerNet(d, 11, 3, backend=fast_backend, seed=3, first_layer="auto")
    fastnn.Trainer(net, x, t, x[:10], t[:10], epochs=3, mini_batch_size=64, optimizer="SGD", verbose=False,
                   seed=0).train()
    assert net.first_layer_used == dense_path and not calls


def test_stored_zeros_and_an_unsorted_csr_are_the_same_input(fast_backend):
    """A CSR built by hand with columns out of order, a repeated entry and explicit zeros: the same path and
    results as its dense array (a stored zero is not a nonzero, for the density either)."""
    x, t = sparse_data(13)
    r, c = np.nonzero(x)
    rng = np.random.default_rng(1)
    zeros = np.flatnonzero(x == 0)[rng.permutation(np.count_nonzero(x == 0))[:3 * r.size]]  # 3x as many zeros
    rows = np.concatenate([r, r[:5], zeros // x.shape[1]])
    cols = np.concatenate([c, c[:5], zeros % x.shape[1]])
    vals = np.concatenate([x[r, c], np.zeros(5), np.zeros(zeros.size)])
    order = np.lexsort((rng.random(rows.size), rows))  # rows in order, columns shuffled within each
    m = sps.csr_matrix((vals[order], cols[order], np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=len(x)))])),
                       shape=x.shape)
    assert not m.has_canonical_format and m.nnz > 3 * np.count_nonzero(x)
    want = epochs(make("two-layer", fast_backend, np.float64, None), x, t, "Momentum")
    got = epochs(make("two-layer", fast_backend, np.float64, None), m, t, "Momentum")
    assert got.first_layer_used == want.first_layer_used
    for key in want.params:
        assert_close(got.params[key], want.params[key], np.float64, err_msg=key)


def test_the_compiled_loop_refuses_short_sparse_workspaces():
    """The Cython epoch checks the sparse workspaces against the layout it binds (two CSC buffers of m entries,
    the zero row after them, the batch's dA_1 in rows of whole cache lines, two column-pointer arrays, an
    offset pair per epoch row) before any step."""
    if "cython" not in available_backends():
        pytest.skip("compiled extension not built")
    from fastnn.backends import _cython
    x, t = sparse_data(14)
    n, d, h, k, b = len(x), x.shape[1], 6, 5, 16
    sizes = np.array([d, h, k], np.intp)
    theta = np.zeros(d * h + h + h * k + k)
    perm = np.arange(n, dtype=np.intp)
    begin, end, indices, values = _sparse.epoch_rows(x, perm, _cython.csr_rows, 1)
    m = _sparse.most_batch_nonzeros(begin, end, b)

    def run(idx_ws, int_ws, val_ws, begin=begin, end=end):
        zs, ds = _cython._blocks(sizes, b, np.float64)
        return _cython.ext.train_epoch(np.empty((0, d)), t.astype(np.intp), perm, b, theta, sizes, 0, 0, 0.0, 0, 0.1,
                                       0.0, 0.0, 1e-8, 0, np.empty(0), np.empty(0), np.empty((0, d)),
                                       np.empty(b, np.intp), zs, ds, np.empty(b), np.empty(b, np.int8),
                                       np.empty_like(theta), begin, end, indices, values, idx_ws, int_ws, val_ws,
                                       np.empty(-(-n // b)), np.empty(-(-n // b), np.intp), 1)
    good = _cython._sparse_workspace(m, d, h, np.float64, b)
    assert run(*good) == -(-n // b)
    short = [(good[0][:2 * d + 1], good[1], good[2]),                        # column pointers
             (good[0], good[1][:2 * m - 2], good[2]),                        # CSC room below the densest batch
             (good[0], np.empty(2 * m + 2 * h, np.int32), good[2]),          # zero row past the values
             (good[0], good[1], good[2][:-1]),                               # dA_1's padded rows
             ]
    for ws in short:
        with pytest.raises(ValueError, match="sparse workspaces"):
            run(*ws)
    with pytest.raises(ValueError, match="offsets"):
        run(*good, begin=begin[:-1])


@pytest.mark.parametrize("fit", ["early-stopping", "partial-fit"])
def test_mlpclassifier_sparse_x_on_the_sparse_path(fast_backend, fit):
    """Adam (the compiled loop) with first_layer='sparse' on a sparse X: early stopping's split and partial_fit
    give the dense X's results."""
    from fastnn.sklearn import MLPClassifier
    import warnings
    x, t = sparse_data(15)
    fits = []
    for X in (x, sps.csr_matrix(x)):
        clf = MLPClassifier(hidden_layer_sizes=(11,), max_iter=4, random_state=0, backend=fast_backend,
                            first_layer="sparse", early_stopping=fit == "early-stopping", n_iter_no_change=100)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if fit == "partial-fit":
                for _ in range(3):
                    clf.partial_fit(X, t, classes=np.unique(t))
            else:
                clf.fit(X, t)
        assert clf.first_layer_used_ == "sparse"
        fits.append(clf)
    for a, b in zip(fits[1].coefs_ + fits[1].intercepts_, fits[0].coefs_ + fits[0].intercepts_):
        assert_close(a, b, np.float64)


def record_densified(monkeypatch):
    """Rows of every sparse matrix made dense from now on (scipy's toarray of CSR/CSC/COO, SparseRows')."""
    import scipy.sparse._compressed as compressed
    import scipy.sparse._coo as coo
    rows = []
    for cls in (compressed._cs_matrix, coo._coo_base, _sparse.SparseRows):
        def recording(self, *args, _original=cls.toarray, **kwargs):
            rows.append(self.shape[0])
            return _original(self, *args, **kwargs)
        monkeypatch.setattr(cls, "toarray", recording)
    return rows


@pytest.mark.parametrize("kind", ["two-layer", "mlp", "no-hidden", "mlpclassifier", "dropout", "batchnorm"])
def test_predict_never_makes_a_large_sparse_x_dense_at_once(kind, fast_backend, dtype, monkeypatch):
    """predict on a scipy matrix: the same outputs as on the dense array; a plain network never makes x dense
    (its first layer over the nonzeros), one with dropout or batchnorm only in blocks of rows under
    PREDICT_DENSE_BYTES. An empty matrix is refused as an empty array is."""
    from fastnn import _config
    x, t = sparse_data(16, dtype=dtype)
    budget_rows = 7
    monkeypatch.setattr(_config, "PREDICT_DENSE_BYTES", budget_rows * x.shape[1] * np.dtype(dtype).itemsize)
    if kind == "mlpclassifier":
        from fastnn.sklearn import MLPClassifier
        model = MLPClassifier(hidden_layer_sizes=(11,), max_iter=2, random_state=0, backend=fast_backend)
        with pytest.warns(Warning):
            model.fit(x, t)
        predict = model.predict_proba
    elif kind in ("dropout", "batchnorm"):
        model = MultiLayerNetExtend(x.shape[1], [9, 30], 5, use_dropout=kind == "dropout",
                                    use_batchnorm=kind == "batchnorm", backend=fast_backend, dtype=dtype, seed=3)
        predict = model.predict
    else:
        model = make(kind, fast_backend, dtype, None)
        epochs(model, x, t, "Momentum")
        predict = model.predict
    want = predict(x)
    densified = record_densified(monkeypatch)
    for fmt in ("csr", "csc", "coo"):
        densified.clear()
        got = predict(sps.csr_matrix(x).asformat(fmt))
        assert got.dtype == want.dtype
        assert_close(got, want, dtype, scale=10, err_msg=fmt)
        if kind in ("dropout", "batchnorm"):
            assert sum(densified) == len(x) and max(densified) <= budget_rows, densified
        else:
            assert densified == []
    with pytest.raises(ValueError, match="at least one row|0 sample"):  # fastnn's words, scikit-learn's
        predict(sps.csr_matrix((0, x.shape[1]), dtype=dtype))


def test_the_gradient_check_and_the_doctor_take_a_scipy_matrix():
    """Both work on a batch made dense (its index arrays checked first), as on the dense array."""
    from fastnn.gradcheck import gradient_check
    x, t = sparse_data(17, n=12)
    net = fastnn.TwoLayerNet(x.shape[1], 5, 5, seed=0)
    m = sps.csr_matrix(x)
    want, got = gradient_check(net, x, t), gradient_check(net, m, t)
    assert got.passed and want.passed
    assert [r.max_rel_error for r in got] == [r.max_rel_error for r in want]
    assert [f.code for f in fastnn.doctor(net, m, t, verbose=False)] == [
        f.code for f in fastnn.doctor(net, x, t, verbose=False)]
    bad = m.copy()
    bad.indices[0] = 10**6
    for check in (lambda: gradient_check(net, bad, t), lambda: fastnn.doctor(net, bad, t, verbose=False)):
        with pytest.raises(ValueError, match=r"^x \(a scipy.sparse"):
            check()


@pytest.mark.parametrize("name", available_backends())
@pytest.mark.parametrize("n_threads", [1, 2, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("window", [(0, 203), (7, 150), (9, 10), (30, 30)])
def test_sparse_first_layer_equals_the_dense_product(name, n_threads, dtype, window):
    """Every backend's x W1 + b1 over a CSR's nonzeros, for rows r0:r1 (indptr from any offset; rows without a
    nonzero among them, and a window of none), equals the dense product to rounding."""
    x, _ = sparse_data(21, dtype=dtype)
    x[[9, 40, 41]] = 0
    rows = _sparse.SparseRows.from_dense(np.ascontiguousarray(x))
    rng = np.random.default_rng(2)
    W1, b1 = rng.standard_normal((x.shape[1], 13)).astype(dtype), rng.standard_normal(13).astype(dtype)
    r0, r1 = window
    got = get_backend(name).sparse_first_layer(rows.indptr[r0:r1 + 1], rows.indices, rows.values, W1, b1, n_threads)
    assert got.dtype == dtype and got.shape == (r1 - r0, 13)
    assert_close(got, x[r0:r1] @ W1 + b1, dtype)


@pytest.mark.parametrize("name", available_backends())
def test_sparse_first_layer_of_an_all_zero_matrix_is_the_bias(name):
    rows = _sparse.SparseRows.from_dense(np.zeros((5, 8)))
    b1 = np.arange(3.0)
    got = get_backend(name).sparse_first_layer(rows.indptr, rows.indices, rows.values, np.ones((8, 3)), b1, 2)
    np.testing.assert_array_equal(got, np.tile(b1, (5, 1)))


def test_predict_on_a_scipy_matrix_takes_the_backends_sparse_first_layer(backend, monkeypatch):
    """A plain network's predict on a scipy matrix runs its first layer through its backend's sparse kernel,
    with the network's threads, on every row once."""
    x, t = sparse_data(22)
    net = make("two-layer", backend, np.float64, None)
    net.n_threads = 2
    calls = []
    module = net._backend._module
    original = module.sparse_first_layer

    def recording(indptr, indices, values, W1, b1, n_threads):
        calls.append((indptr.shape[0] - 1, n_threads))
        return original(indptr, indices, values, W1, b1, n_threads)
    monkeypatch.setattr(module, "sparse_first_layer", recording)
    assert_close(net.predict(sps.csr_matrix(x)), net.predict(x), np.float64)
    assert sum(n for n, _ in calls) == len(x) and {k for _, k in calls} == {2}, calls


def strided_csr(x):
    """x as a CSR whose index arrays are strided views (valid for scipy, which keeps them as they are)."""
    m = sps.csr_matrix(x)
    indices = np.repeat(m.indices, 2)[::2]
    indptr = np.repeat(m.indptr.astype(np.int64), 2)[::2]
    strided = sps.csr_matrix((m.data, indices, indptr), shape=x.shape)
    assert not (strided.indices.flags.c_contiguous and strided.indptr.flags.c_contiguous)
    return strided


def test_a_csr_with_strided_index_arrays_is_taken_as_any_other(backend, dtype):
    """predict, loss and a sparse-first-layer epoch on a CSR whose index arrays are not contiguous (the
    compiled kernels take contiguous buffers: its rows are copied contiguous when held)."""
    x, t = sparse_data(23, dtype=dtype)
    net = make("two-layer", backend, dtype, None)
    m = strided_csr(x)
    assert_close(net.predict(m), net.predict(x), dtype)
    assert net.loss(m, t) == net.loss(x, t)
    rows = _sparse.SparseRows.from_scipy(m, dtype)
    assert rows.indices.flags.c_contiguous and rows.indptr.flags.c_contiguous and rows.indptr.dtype == np.intp
    if backend != "numpy":
        got, want = make("two-layer", backend, dtype, "sparse"), make("two-layer", backend, dtype, "sparse")
        epochs(got, m, t, "SGD")
        epochs(want, x, t, "SGD")
        for key in want.params:
            assert_close(got.params[key], want.params[key], dtype, err_msg=key)
