"""A held sparse input's densest columns as a dense block (fastnn/_sparse.py ``dense_columns``; the cython
epoch takes their products by GEMM and the rest over the nonzeros): the split rebuilds the input exactly,
the compiled split equals NumPy's, and an epoch over a split input gives the dense path's results to rounding
at any threshold, batch size, thread count, dtype and optimizer of the compiled loop, with W1 and the
optimizer's state back in the input's column order after the epoch (also when it fails)."""
import numpy as np
import pytest

import fastnn
from fastnn import _config, _sparse
from fastnn.multilayer import MultiLayerNet
from helpers import assert_close

D = 40


def graded_data(seed, n=150, d=D, k=4, dtype=np.float64):
    """Column j nonzero in a share of rows that runs from 0 (column 0) to 1 (the last column), shuffled over
    the columns; labels that depend on the inputs."""
    rng = np.random.default_rng(seed)
    share = rng.permutation(np.linspace(0, 1, d))
    x = rng.uniform(0.2, 1.2, (n, d)) * (rng.random((n, d)) < share)
    t = ((x - x.mean(axis=0)) @ rng.standard_normal((d, k))).argmax(axis=1)
    return x.astype(dtype), t


def held(x, n_threads=1):
    rows = _sparse.SparseRows.from_dense(np.ascontiguousarray(x))
    rows.held = True
    return rows


def cython_kernels():
    from fastnn.backends import get_backend
    if "cython" not in fastnn.available_backends():
        pytest.skip("the cython backend is not built")
    cy = get_backend("cython")
    return cy.column_counts, cy.split_columns


def dense_blocks_seen(monkeypatch):
    """The shapes of the dense block (its x argument) that every compiled epoch from now on is given."""
    from fastnn.backends import _cython
    seen = []
    real = _cython.ext.train_epoch
    monkeypatch.setattr(_cython.ext, "train_epoch", lambda x_, *a: seen.append(x_.shape) or real(x_, *a),
                        raising=False)
    return seen


@pytest.fixture(autouse=True)
def wide_gemm(monkeypatch):
    """The split runs where the dense columns' products have a vector body (_config.DENSE_COLUMN_ISAS); here on
    any CPU, since what it computes does not depend on that. ``test_the_split_follows_the_kernels_isa`` lifts it."""
    if "cython" in fastnn.available_backends():
        from fastnn.backends import _cython
        monkeypatch.setattr(_cython, "_vector_panels", lambda: True)


@pytest.mark.parametrize("min_density", [0.0, 0.3, 0.5, 0.99, 1.5])
@pytest.mark.parametrize("compiled", [False, True], ids=["numpy", "cython"])
def test_the_split_rebuilds_the_input(dtype, min_density, compiled):
    x, _ = graded_data(0, dtype=dtype)
    rows = held(x)
    split = _sparse.dense_columns(rows, min_density, cython_kernels() if compiled else None, 2)
    share = np.count_nonzero(x, axis=0) / x.shape[0]
    want = np.flatnonzero((share >= min_density) & (share > 0))
    if want.size == 0:
        assert split is None
        return
    np.testing.assert_array_equal(split.order[:split.kd], want)  # the dense columns first, ascending
    np.testing.assert_array_equal(np.sort(split.order), np.arange(D))
    assert np.all(np.diff(split.order[split.kd:]) > 0)
    assert split.dense.dtype == dtype and split.dense.flags.c_contiguous and split.dense.shape == (len(x), want.size)
    rest = split.rest
    assert rest.indices.dtype == np.int32 and rest.values.dtype == dtype
    assert np.all(rest.indices >= split.kd)
    for i in range(len(x)):  # columns ascending within every row
        assert np.all(np.diff(rest.indices[rest.indptr[i]:rest.indptr[i + 1]]) > 0)
    rebuilt = np.hstack([split.dense, rest.toarray()[:, split.kd:]])
    np.testing.assert_array_equal(rebuilt, x[:, split.order])
    assert _sparse.dense_columns(rows, min_density) is split  # kept on the input for the next epoch


def test_the_compiled_split_equals_numpys(dtype):
    x, _ = graded_data(1, n=333, dtype=dtype)
    a = _sparse.dense_columns(held(x), 0.4)
    b = _sparse.dense_columns(held(x), 0.4, cython_kernels(), 3)
    for got, want in ((b.order, a.order), (b.dense, a.dense), (b.rest.indptr, a.rest.indptr),
                      (b.rest.indices, a.rest.indices), (b.rest.values, a.rest.values)):
        np.testing.assert_array_equal(got, want)


def test_no_split_for_an_input_not_held():
    """A SparseRows made for one call (a scipy matrix passed to train_epoch) is not split: the split costs
    about what holding it did."""
    x, _ = graded_data(2)
    assert _sparse.dense_columns(_sparse.SparseRows.from_dense(x), 0.1) is None
    assert _sparse.dense_columns(held(x), 0.1) is not None


def make(kind, dtype, first_layer, n_threads):
    if kind == "two-layer":
        return fastnn.TwoLayerNet(D, 13, 4, weight_init_std=0.3, backend="cython", dtype=dtype, seed=3,
                                  first_layer=first_layer, n_threads=n_threads)
    return MultiLayerNet(D, [9, 7], 4, activation="sigmoid", weight_init_std=0.5, weight_decay_lambda=0.01,
                         backend="cython", dtype=dtype, seed=3, first_layer=first_layer, n_threads=n_threads)


HYPER = {"SGD": {"lr": 0.5}, "Momentum": {"lr": 0.2, "momentum": 0.9}, "Adam": {"lr": 0.01}}


def run(net, x, t, optimizer, batch_size, epochs=2):
    """Epochs of one optimizer object (its state carried over, so a state left relabelled shows)."""
    opt = getattr(fastnn, optimizer)(**HYPER[optimizer])
    losses = []
    for epoch in range(epochs):
        perm = np.random.default_rng(epoch).permutation(len(x))
        net.train_epoch(x, t, batch_size, opt, perm=perm)
        losses.append(net.batch_losses)
    return np.concatenate(losses), opt


@pytest.mark.parametrize("min_density", [0.0, 0.5, 2.0])
@pytest.mark.parametrize("optimizer", ["SGD", "Momentum", "Adam"])
@pytest.mark.parametrize("kind", ["two-layer", "mlp"])
def test_an_epoch_over_dense_columns_equals_the_dense_path(dtype, kind, optimizer, min_density, monkeypatch):
    cython_kernels()
    monkeypatch.setitem(_config.DENSE_COLUMN_MIN_DENSITY, np.dtype(dtype).name, min_density)
    x, t = graded_data(3, dtype=dtype)
    dense_net, sparse_net = make(kind, dtype, "dense", 2), make(kind, dtype, "sparse", 2)
    want, want_opt = run(dense_net, x, t, optimizer, 16)
    rows = held(x)
    seen = dense_blocks_seen(monkeypatch)
    got, got_opt = run(sparse_net, rows, t, optimizer, 16)
    split = _sparse.dense_columns(rows, min_density)
    kd = 0 if split is None else split.kd
    assert kd == {0.0: D - 1, 0.5: np.count_nonzero(np.count_nonzero(x, axis=0) >= 0.5 * len(x)), 2.0: 0}[min_density]
    assert seen and all(shape[0] == (len(x) if kd else 0) and shape[1] == (kd if kd else D) for shape in seen)
    assert sparse_net.first_layer_used == "sparse"
    for key in dense_net.params:
        assert_close(sparse_net.params[key], dense_net.params[key], dtype, err_msg=key)
    assert_close(got, want, dtype, err_msg="batch losses")
    for name in ("v", "m"):
        if getattr(want_opt, name, None):
            for key in want_opt.__dict__[name]:
                assert_close(got_opt.__dict__[name][key], want_opt.__dict__[name][key], dtype,
                             err_msg=f"optimizer state {name} {key}")


@pytest.mark.parametrize("n_threads", [1, 2, 3])
@pytest.mark.parametrize("batch_size", [1, 7, 32, 149, 150, 400])
def test_dense_columns_at_any_batch_size_and_thread_count(batch_size, n_threads, monkeypatch):
    """Region 2 splits W1's rows into chunks that may straddle the dense block's edge; one-row batches, a
    short last batch, one batch of everything, a batch larger than the data."""
    cython_kernels()
    monkeypatch.setitem(_config.DENSE_COLUMN_MIN_DENSITY, "float64", 0.3)
    x, t = graded_data(4)
    nets = {mode: make("two-layer", np.float64, mode, n_threads) for mode in ("dense", "sparse")}
    rows = held(x)
    for mode, net in nets.items():
        net.train_epoch(x if mode == "dense" else rows, t, batch_size, fastnn.SGD(lr=0.3),
                        perm=np.random.default_rng(5).permutation(len(x)))
    assert 0 < _sparse.dense_columns(rows, 0.3).kd < D
    assert_close(nets["sparse"].batch_losses, nets["dense"].batch_losses, np.float64)
    for key in nets["dense"].params:
        assert_close(nets["sparse"].params[key], nets["dense"].params[key], np.float64, err_msg=key)


@pytest.mark.parametrize("n_threads", [2, 3, 5])
@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
@pytest.mark.parametrize("batch_size", [1, 7, 149, 400])
@pytest.mark.parametrize("kind", ["two-layer", "mlp"])
def test_an_epoch_split_by_input_pixels_at_any_thread_count(kind, batch_size, optimizer, n_threads):
    """With no dense block and more than one thread the compiled epoch cuts W1's rows by input pixel, one part a
    thread (src_cython/_sparse_batch.pxd): the first, middle (bounded on both sides) and last threads' parts of
    x W1 summed, each thread's own batch by pixel and its rows' update; one-row batches, a short last batch,
    one batch of everything and a batch larger than the data; weight decay's sum over every thread's rows."""
    cython_kernels()
    x, t = graded_data(6)
    nets = {mode: make(kind, np.float64, mode, n_threads) for mode in ("dense", "sparse")}
    got = {mode: run(net, x, t, optimizer, batch_size) for mode, net in nets.items()}
    assert nets["sparse"].first_layer_used == "sparse"
    assert_close(got["sparse"][0], got["dense"][0], np.float64, err_msg="batch losses")
    for key in nets["dense"].params:
        assert_close(nets["sparse"].params[key], nets["dense"].params[key], np.float64, err_msg=key)


def test_w1_comes_back_in_order_when_the_epoch_fails(monkeypatch):
    """The epoch relabels W1's rows (and the optimizer's) to put the dense columns first; an error inside it
    must not leave them relabelled."""
    cython_kernels()
    monkeypatch.setitem(_config.DENSE_COLUMN_MIN_DENSITY, "float64", 0.3)
    x, t = graded_data(5)
    net = make("two-layer", np.float64, "sparse", 2)
    opt = fastnn.Momentum(lr=0.1)
    rows = held(x)
    net.train_epoch(rows, t, 16, opt, seed=0)
    before = {k: v.copy() for k, v in net.params.items()}
    velocity = {k: v.copy() for k, v in opt.v.items()}
    from fastnn.backends import _cython

    def fails(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(_cython.ext, "train_epoch", fails, raising=False)
    with pytest.raises(KeyboardInterrupt):
        net.train_epoch(rows, t, 16, opt, seed=1)
    assert _sparse.dense_columns(rows, 0.3).kd > 0
    for key in before:
        np.testing.assert_array_equal(net.params[key], before[key], err_msg=key)
        np.testing.assert_array_equal(opt.v[key], velocity[key], err_msg=key)


@pytest.mark.parametrize("optimizer", ["SGD", "Momentum", "Adam"])
@pytest.mark.parametrize("max_units", [12, 13])
def test_wide_first_layers_split_only_for_plain_sgd(optimizer, max_units, monkeypatch):
    """With an optimizer other than SGD the split is made for first layers of at most DENSE_COLUMN_MAX_UNITS
    units only (13 here)."""
    cython_kernels()
    monkeypatch.setitem(_config.DENSE_COLUMN_MIN_DENSITY, "float64", 0.3)
    monkeypatch.setattr(_config, "DENSE_COLUMN_MAX_UNITS", max_units)
    seen = dense_blocks_seen(monkeypatch)
    x, t = graded_data(6)
    net = make("two-layer", np.float64, "sparse", 2)
    run(net, held(x), t, optimizer, 16, epochs=1)
    split = optimizer == "SGD" or max_units >= 13
    assert seen == [(len(x), _sparse.dense_columns(held(x), 0.3).kd) if split else (0, D)]


@pytest.mark.parametrize("isa", ["scalar", "avx2", "avx512"])
def test_the_split_follows_the_kernels_isa(isa, monkeypatch):
    """Dense columns only where their products run a vector body (the sparse kernels' instruction set, which
    FASTNN_ISA=v3 caps at AVX2): not with the scalar body."""
    cython_kernels()
    from fastnn.backends import _cython
    order = ["scalar", "avx2", "avx512"]
    if order.index(isa) > order.index(_cython.sparse_ext.cpu_isa()):
        pytest.skip(f"this CPU does not run the {isa} body")
    monkeypatch.undo()  # the autouse fixture's forced True
    wide = isa in _config.DENSE_COLUMN_ISAS
    assert wide is (isa != "scalar")
    monkeypatch.setitem(_config.DENSE_COLUMN_MIN_DENSITY, "float64", 0.3)
    seen = dense_blocks_seen(monkeypatch)
    x, t = graded_data(7)
    try:
        _cython.sparse_ext.set_isa(isa)
        assert _cython._vector_panels() is wide
        make("two-layer", np.float64, "sparse", 2).train_epoch(held(x), t, 16, fastnn.SGD(lr=0.1), seed=0)
    finally:
        _cython.sparse_ext.set_isa(_cython.sparse_ext.cpu_isa())
    assert seen == [(len(x), _sparse.dense_columns(held(x), 0.3).kd) if wide else (0, D)]


def counted_splits(monkeypatch):
    from fastnn.backends import _cython
    calls = []
    real = _cython.split_columns
    monkeypatch.setattr(_cython, "split_columns", lambda *a: calls.append(1) or real(*a))
    monkeypatch.setitem(_config.DENSE_COLUMN_MIN_DENSITY, "float64", 0.3)
    monkeypatch.setitem(_config.DENSE_COLUMN_MIN_DENSITY, "float32", 0.3)
    return calls


@pytest.mark.parametrize("epochs", [1, 3])
def test_a_fit_of_one_epoch_is_not_split(epochs, monkeypatch):
    """The split pays back over a fit's epochs: a Trainer of one epoch and every MLPClassifier.partial_fit call
    (one epoch each) hold the input without it; a fit of several splits it once."""
    cython_kernels()
    from fastnn.sklearn import MLPClassifier
    calls = counted_splits(monkeypatch)
    x, t = graded_data(8)
    net = make("two-layer", np.float64, "sparse", 2)
    fastnn.Trainer(net, x, t, x[:20], t[:20], epochs=epochs, mini_batch_size=16, optimizer="SGD",
                   optimizer_param={"lr": 0.1}, verbose=False).train()
    assert len(calls) == (epochs > 1)
    calls.clear()
    clf = MLPClassifier(hidden_layer_sizes=(13,), solver="sgd", momentum=0, backend="cython", first_layer="sparse",
                        random_state=0, max_iter=epochs, batch_size=16)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter reached before convergence
        clf.fit(x, t)
    assert len(calls) == (epochs > 1)
    calls.clear()
    for _ in range(3):
        clf.partial_fit(x, t)
    assert calls == []


def test_state_is_left_alone_when_relabelling_fails(monkeypatch):
    """An array that cannot be relabelled (here Adam's v made read-only under its views) fails the epoch with
    every array as it was, none left relabelled."""
    cython_kernels()
    monkeypatch.setitem(_config.DENSE_COLUMN_MIN_DENSITY, "float64", 0.3)
    x, t = graded_data(9)
    rows = held(x)
    net = make("two-layer", np.float64, "sparse", 2)
    opt = fastnn.Adam(lr=0.01)
    net.train_epoch(rows, t, 16, opt, seed=0)
    before = {k: v.copy() for k, v in net.params.items()}
    m = {k: v.copy() for k, v in opt.m.items()}
    opt._flat_state["v"][0].flags.writeable = False
    with pytest.raises(ValueError):
        net.train_epoch(rows, t, 16, opt, seed=1)
    for key in before:
        np.testing.assert_array_equal(net.params[key], before[key], err_msg=key)
        np.testing.assert_array_equal(opt.m[key], m[key], err_msg=key)
