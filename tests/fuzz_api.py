"""Fuzz targets over the networks' public API: hostile shapes, dtypes, NaN/inf, empty arrays, perms, batch
sizes, thread counts, h and optimizers, on every backend.

Each target asserts "a correct result, or one clear exception of a documented type": a result must be
finite and match the NumPy reference (the 'numpy' backend on the same parameters) where that is cheap;
an exception must be a ValueError or TypeError (KeyError for a missing parameter) raised before any
parameter changed, and the reference must refuse the same input with the same type.

Not collected by pytest (no ``test_`` prefix): ``tests/test_fuzz_api.py`` runs each target in a child
process (``tests/isolated.py``), so a segfault fails one test instead of killing the run. Examples are
bounded and derandomized (the 'fastnn-ci' profile, the default); ``HYPOTHESIS_PROFILE=fastnn-explore``
draws fresh random examples, more of them. ``FASTNN_FUZZ_EXAMPLES`` overrides the count.
"""
import os
import sys

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fastnn
from fastnn import _config
from fastnn.multilayer import MultiLayerNet, MultiLayerNetExtend

BACKENDS = fastnn.available_backends()
ERRORS = (ValueError, TypeError)

_EXAMPLES = int(os.environ.get("FASTNN_FUZZ_EXAMPLES", "25"))  # per target and hostile argument
_COMMON = dict(deadline=None, database=None, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                      HealthCheck.filter_too_much])
settings.register_profile("fastnn-ci", max_examples=_EXAMPLES, derandomize=True, **_COMMON)
settings.register_profile("fastnn-explore", max_examples=10 * _EXAMPLES, derandomize=False, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fastnn-ci"))


def _fail_on_unraisable(unraisable):
    """An exception a compiled kernel could not raise (e.g. IndexError of a bounds-checked build inside a
    nogil helper) is only printed by default: here it ends the child with an error."""
    sys.__unraisablehook__(unraisable)
    sys.stderr.flush()
    os._exit(70)


sys.unraisablehook = _fail_on_unraisable

# --- strategies -------------------------------------------------------------------------------------

D, H, K = 4, 3, 3  # input, hidden, output widths of every network fuzzed (small: the reference is cheap)

finite = st.floats(-1e3, 1e3, allow_nan=False, width=64)
hostile_float = st.one_of(finite, st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e300, -1e300, 5e-324]))
DTYPES = ["float64", "float32", "float16", "int64", "int8", "uint8", "bool", "complex128", "timedelta64[s]",
          "datetime64[s]", "object", "U3"]


X_KINDS = ["valid", "shape", "empty", "dtype", "nonfinite", "list", "scalar"]
T_KINDS = ["int", "onehot", "column", "range", "length", "dtype", "bad_onehot"]
#: One hostile argument per run of a target (the others valid), each run with its own example budget,
#: so that every guard is reached whatever examples hypothesis tries first.
DATA_AXES = [("x", k) for k in X_KINDS] + [("t", k) for k in T_KINDS if k != "int"]


def per_axis(test, axes):
    """Run the hypothesis test ``test(axis=a, ...)`` for every axis a."""
    def run():
        for axis in axes:
            test(axis=axis)
    run.__name__ = test.__name__.lstrip("_")
    run.__doc__ = test.__doc__
    return run


#: Input kinds every network must refuse (whatever the reference does).
BAD_X = {"shape", "empty", "nonfinite", "scalar"}
BAD_X_DTYPES = {"complex128", "timedelta64[s]", "datetime64[s]", "object", "U3"}
BAD_T = {"range", "length", "dtype", "bad_onehot"}


def draw_xt(data, axis):
    """(x, t, n, bad) with only the argument the data axis names made hostile; bad when it must be refused."""
    x_kind, t_kind = (axis[1], "int") if axis[0] == "x" else ("valid", axis[1])
    x = data.draw(inputs(x_kind))
    n = np.shape(x)[0] if np.ndim(x) >= 1 else 1
    bad = x_kind in BAD_X or t_kind in BAD_T or (x_kind == "dtype" and str(np.asarray(x).dtype) in BAD_X_DTYPES)
    return x, data.draw(labels(n, t_kind)), n, bad


@st.composite
def inputs(draw, kind=None, d=D):
    """x of one kind: a valid (n, d) float batch, a wrong shape, an empty batch, a hostile dtype, NaN/inf, a
    nested list or a scalar (any kind when None)."""
    kind = kind or draw(st.sampled_from(X_KINDS))
    n = draw(st.integers(1, 6))
    x = draw(hnp.arrays(np.float64, (n, d), elements=finite))
    if kind == "shape":
        shape = draw(st.sampled_from([(n, d + 1), (n, d - 1), (n, 1, d), (d + 2,), (0,), (n, 0)]))
        x = np.zeros(shape)
    elif kind == "empty":
        x = np.zeros((0, d))
    elif kind == "dtype":
        dtype = draw(st.sampled_from(DTYPES))
        base = np.abs(x) % 200
        x = base.astype(dtype) if dtype[0] in "fcoU" else base.astype(np.int64).astype(dtype)
    elif kind == "nonfinite":
        x[draw(st.integers(0, n - 1)), draw(st.integers(0, d - 1))] = draw(st.sampled_from([np.nan, np.inf,
                                                                                          -np.inf]))
    elif kind == "list":
        x = x.tolist()
    elif kind == "scalar":
        x = draw(st.sampled_from([1.0, None, "x", np.float64(2.0)]))
    return x


@st.composite
def labels(draw, n, kind=None):
    """t for n rows of one kind: integer labels, one-hot, out of range, wrong length or dtype (any when None)."""
    kind = kind or draw(st.sampled_from(T_KINDS))
    t = np.asarray(draw(st.lists(st.integers(0, K - 1), min_size=max(n, 1), max_size=max(n, 1))), np.intp)
    if kind == "onehot":
        return np.eye(K, dtype=draw(st.sampled_from(["float64", "int64", "bool"])))[t]
    if kind == "range":
        t[0] = draw(st.sampled_from([-1, K, 10 ** 9, -(2 ** 62)]))
    elif kind == "length":
        t = np.concatenate([t, t])
    elif kind == "dtype":
        t = t.astype(draw(st.sampled_from(["float64", "complex128", "bool", "timedelta64[s]", "object", "U3"])))
    elif kind == "bad_onehot":
        t = np.full((max(n, 1), K), 0.5)
    elif kind == "column":
        t = t.reshape(-1, 1)
    return t


def small_net(kind, backend, dtype=np.float64, activation=None, seed=0, **kw):
    if kind == "TwoLayerNet":
        return fastnn.TwoLayerNet(D, H, K, 0.5, backend=backend, dtype=dtype, seed=seed,
                                  activation=activation or "sigmoid", **kw)
    if kind == "MultiLayerNet":
        return MultiLayerNet(D, [H, H], K, activation=activation or "relu", backend=backend, dtype=dtype, seed=seed,
                             **kw)
    return MultiLayerNetExtend(D, [H], K, activation=activation or "relu", use_batchnorm=True, use_dropout=True,
                               dropout_ration=0.2, backend=backend, dtype=dtype, seed=seed, **kw)


def twin(net, kind, backend="numpy"):
    """The same network (same parameters) on another backend."""
    other = small_net(kind, backend, dtype=net.dtype, activation=net.activation)
    if kind == "TwoLayerNet":
        other.loss_name = net.loss_name
    other.params = {k: v.copy() for k, v in net.params.items()}
    return other


def outcome(call):
    """('ok', value) or ('error', exception)."""
    try:
        return "ok", call()
    except ERRORS as exc:
        assert str(exc), f"{type(exc).__name__} without a message"
        return "error", exc


def assert_same_outcome(got, want, what):
    """Both refuse with the same exception type, or both answer the same finite values."""
    assert got[0] == want[0], f"{what}: {got[0]} {got[1]!r} but the reference gives {want[0]} {want[1]!r}"
    if got[0] == "error":
        assert type(got[1]) is type(want[1]), f"{what}: {got[1]!r} vs the reference's {want[1]!r}"
        return
    a, b = got[1], want[1]
    if isinstance(b, dict):
        for k in b:
            assert_close(a[k], b[k], f"{what}[{k}]")
    else:
        assert_close(a, b, what)


def assert_close(a, b, what, rtol=1e-6, atol=1e-8):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert np.all(np.isfinite(a)), f"{what}: non-finite result {a}"
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol * (1 + np.max(np.abs(b), initial=0)), err_msg=what)


def unchanged(net, before):
    for k, v in before.items():
        assert np.array_equal(net.params[k], v), f"params[{k!r}] changed by a refused call"


# --- targets ----------------------------------------------------------------------------------------

size = st.one_of(st.integers(1, 8), st.sampled_from([0, -1, 2.5, True, "3", None, np.int64(3), np.uint8(2)]))
std = st.one_of(st.floats(0, 2), st.sampled_from([np.nan, np.inf, -1.0, "he", "xavier", "bogus", None]))
threads = st.one_of(st.none(), st.integers(1, 3),
                    st.sampled_from([0, -1, _config.MAX_THREADS + 1, 10 ** 6, 1.5, "2", True, np.int64(2)]))
dtype_arg = st.sampled_from([np.float64, np.float32, "float64", "float32", np.float16, int, complex, "bogus",
                             None])


@given(kind=st.sampled_from(["TwoLayerNet", "MultiLayerNet", "MultiLayerNetExtend"]),
       backend=st.sampled_from(BACKENDS + ["auto", "bogus"]), sizes=st.tuples(size, size, size), std=std,
       activation=st.sampled_from(["sigmoid", "relu", "tanh", "bogus", None]), dtype=dtype_arg, n_threads=threads)
def constructors(kind, backend, sizes, std, activation, dtype, n_threads):
    """A network whose parameters have the right shapes, dtype and finite values, or a ValueError/TypeError."""
    d, h, k = sizes
    try:
        if kind == "TwoLayerNet":
            net = fastnn.TwoLayerNet(d, h, k, std, activation=activation, dtype=dtype, backend=backend,
                                     n_threads=n_threads)
        else:
            cls = MultiLayerNet if kind == "MultiLayerNet" else MultiLayerNetExtend
            net = cls(d, [h], k, activation=activation, weight_init_std=std, dtype=dtype, backend=backend,
                      n_threads=n_threads)
    except ERRORS:
        return
    assert net.dtype in (np.float32, np.float64)
    assert net.params["W1"].shape == (int(d), int(h)) and net.params["W2"].shape == (int(h), int(k))
    for key, value in net.params.items():
        assert value.dtype == net.dtype and np.all(np.isfinite(value)), key
    assert 1 <= _config.resolve_threads(net.n_threads) <= _config.MAX_THREADS


@given(kind=st.sampled_from(["TwoLayerNet", "MultiLayerNet"]), backend=st.sampled_from(BACKENDS),
       dtype=st.sampled_from([np.float64, np.float32]), activation=st.sampled_from(["sigmoid", "relu"]),
       data=st.data())
def _forward_calls(axis, kind, backend, dtype, activation, data):
    """predict / loss / accuracy / gradient / loss_and_gradient agree with the reference or refuse alike."""
    net = small_net(kind, backend, dtype=dtype, activation=activation, seed=data.draw(st.integers(0, 3)))
    ref = twin(net, kind)
    x, t, n, bad = draw_xt(data, axis)
    before = {k: v.copy() for k, v in net.params.items()}
    loose = dict(rtol=1e-3, atol=1e-4) if dtype == np.float32 else {}
    for name in ("predict", "loss", "accuracy", "gradient", "loss_and_gradient"):
        args = (x,) if name == "predict" else (x, t)
        got = outcome(lambda: getattr(net, name)(*args))
        want = outcome(lambda: getattr(ref, name)(*args))
        if bad and (name != "predict" or axis[0] == "x"):
            assert got[0] == "error", f"{name} accepted a bad {axis}: {got[1]!r}"
        if name == "loss_and_gradient" and got[0] == "ok" == want[0]:
            assert_close(got[1][0], want[1][0], name, **loose)
            got, want = ("ok", got[1][1]), ("ok", want[1][1])
        if loose and got[0] == "ok" == want[0]:
            vals = got[1] if isinstance(got[1], dict) else {"": got[1]}
            refs = want[1] if isinstance(want[1], dict) else {"": want[1]}
            for k in refs:
                assert_close(vals[k], refs[k], f"{name}{k}", **loose)
        elif name == "accuracy" and got[0] == "ok" == want[0]:
            assert 0.0 <= got[1] <= 1.0
        else:
            assert_same_outcome(got, want, name)
        unchanged(net, before)


forward_calls = per_axis(_forward_calls, DATA_AXES)

H_AXES = {
    "h_small": st.one_of(st.sampled_from([1e-4, 1e-6]), st.floats(1e-7, 1e-2)),
    "h_large": st.one_of(st.sampled_from([0.5, 3.0, 50.0, 711.0, 800.0]), st.floats(0.5, 1e3)),
    "h_bad": st.sampled_from([0, -1e-4, np.nan, np.inf, -np.inf, 1e308, 1e-300, 5e-324, True, "1e-4", None, 1j]),
}


@given(kind=st.sampled_from(["TwoLayerNet", "MultiLayerNet", "MultiLayerNetExtend"]),
       backend=st.sampled_from(BACKENDS), activation=st.sampled_from(["sigmoid", "relu"]),
       loss=st.sampled_from(["cross_entropy", "mse"]), scale=st.sampled_from([1.0, 255.0]),
       data=st.data())
def _numerical_gradients(axis, kind, backend, activation, loss, scale, data):
    """numerical_gradient: finite and close to the reference's central difference, or a clear refusal of h/x/t."""
    if kind != "TwoLayerNet":
        loss = "cross_entropy"
    net = small_net(kind, backend, activation=activation, seed=data.draw(st.integers(0, 3)))
    if kind == "TwoLayerNet":
        net.loss_name = loss
    h = data.draw(H_AXES[axis] if axis in H_AXES else H_AXES["h_small"])
    x, t, n, bad = draw_xt(data, axis if axis not in H_AXES else ("x", "valid"))
    bad = bad or axis == "h_bad"
    if isinstance(x, np.ndarray) and x.dtype.kind == "f":
        x = np.abs(x) * (scale / 1e3)  # pixels in [0, 1] or raw [0, 255]
    before = {k: v.copy() for k, v in net.params.items()}
    got = outcome(lambda: net.numerical_gradient(x, t, h=h))
    assert got[0] == "error" or not bad, f"numerical_gradient accepted a bad {axis}"
    if kind == "MultiLayerNetExtend":  # the reference itself (dropout and batchnorm): finite or refused
        if got[0] == "ok":
            for k, v in got[1].items():
                assert np.all(np.isfinite(v)), k
        unchanged(net, before)
        return
    ref = twin(net, kind)
    if kind == "TwoLayerNet":
        ref.loss_name = loss
    want = outcome(lambda: ref.numerical_gradient(x, t, h=h))
    unchanged(net, before)
    assert got[0] == want[0], f"{got} vs reference {want}"
    if got[0] == "error":
        assert type(got[1]) is type(want[1]), (got, want)
        return
    # the reference's own rounding: eps |loss| / h per element, plus the O(h^2) terms both share
    f = abs(ref.loss(x, t)) + 1.0
    atol = 1e-6 + 64 * np.finfo(np.float64).eps * f / float(h)
    for k in want[1]:
        assert np.all(np.isfinite(want[1][k])), k
        assert np.all(np.isfinite(got[1][k])), f"{k}: non-finite where the reference is finite"
        np.testing.assert_allclose(got[1][k], want[1][k], rtol=1e-5, atol=atol, err_msg=k)


numerical_gradients = per_axis(_numerical_gradients, ["h_small", "h_large", "h_bad", ("x", "dtype"),
                                                      ("x", "nonfinite"), ("x", "shape"), ("t", "range"),
                                                      ("t", "dtype")])


BAD_PERMS = ["oob", "oob_negative", "bool", "float", "empty", "2d", "complex", "object"]
GOOD_PERMS = ["permutation", "long", "repeats", "negative", "short", "list"]


@st.composite
def perms(draw, n, hostile=False):
    """None (train_epoch draws one), a valid index array (any length, repeats, negatives), or a bad one."""
    kind = draw(st.sampled_from(BAD_PERMS) if hostile else st.sampled_from([None] + GOOD_PERMS))
    if kind is None:
        return None
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    return {
        "permutation": lambda: rng.permutation(n), "long": lambda: rng.choice(n, 5 * n + 3),
        "repeats": lambda: np.repeat(np.arange(n), 2), "negative": lambda: rng.integers(-n, n, 2 * n),
        "short": lambda: rng.choice(n, max(1, n // 2), replace=False), "list": lambda: list(range(n)),
        "oob": lambda: np.array([0, n]), "oob_negative": lambda: np.array([-n - 1]),
        "bool": lambda: np.ones(n, bool), "float": lambda: np.arange(n, dtype=float),
        "empty": lambda: np.array([], np.intp), "2d": lambda: np.arange(n).reshape(1, n),
        "complex": lambda: np.arange(n) + 0j, "object": lambda: np.arange(n).astype(object),
    }[kind]()


good_optimizer = st.tuples(st.sampled_from(["SGD", "Momentum", "Adam", "AdaGrad", "RMSprop", "Nesterov", "sgd"]),
                           st.floats(1e-4, 0.5))
bad_optimizer = st.tuples(st.sampled_from(["SGD", "Adam", "bogus", 3, None]),
                          st.sampled_from([0.0, -0.1, np.nan, np.inf, None]))
good_threads = st.one_of(st.none(), st.integers(1, 3))
bad_threads = st.sampled_from([0, -1, _config.MAX_THREADS + 1, 10 ** 6, 1.5, "2", True])
good_batch = st.one_of(st.integers(1, 40), st.just(10 ** 9))  # larger than x: one batch
bad_batch = st.sampled_from([0, -3, 2.0, True, "8", None])
#: Each example makes at most one argument hostile (or none), so every guard is reached often.
AXES = ["none", "perm", "batch_size", "optimizer", "n_threads", "data", "read_only"]


@given(kind=st.sampled_from(["TwoLayerNet", "MultiLayerNet", "MultiLayerNetExtend"]),
       backend=st.sampled_from(BACKENDS), dtype=st.sampled_from([np.float64, np.float32]), data=st.data())
def _train_epochs(axis, kind, backend, dtype, data):
    """train_epoch: the reference's updated parameters and finite batch losses, or a refusal that leaves the
    parameters untouched."""
    n = data.draw(st.integers(1, 12))
    x = data.draw(hnp.arrays(np.float64, (n, D), elements=st.floats(0, 1)))
    t = np.asarray(data.draw(st.lists(st.integers(0, K - 1), min_size=n, max_size=n)), np.intp)
    bad = axis in ("perm", "batch_size", "optimizer", "n_threads")  # every hostile value drawn is invalid
    if axis == "data":
        x, t, _, bad = draw_xt(data, data.draw(st.sampled_from(DATA_AXES)))
    perm = data.draw(perms(n, hostile=axis == "perm"))
    batch_size = data.draw(bad_batch if axis == "batch_size" else good_batch)
    name, lr = data.draw(bad_optimizer if axis == "optimizer" else good_optimizer)
    net = small_net(kind, backend, dtype=dtype)
    net.n_threads = data.draw(bad_threads if axis == "n_threads" else good_threads)
    if axis == "read_only":
        for v in net.params.values():
            v.setflags(write=False)
    originals = dict(net.params)
    before = {k: v.copy() for k, v in net.params.items()}
    perm_arg = dict(seed=0) if perm is None else dict(perm=perm)
    got = outcome(lambda: net.train_epoch(x, t, batch_size, name, lr=lr, **perm_arg))
    assert got[0] == "error" or not bad, f"train_epoch accepted a bad {axis}"
    if got[0] == "error":
        unchanged(net, before)
        return
    assert np.all(np.isfinite(net.batch_losses)) and np.isfinite(got[1])
    for k, v in net.params.items():
        assert v.dtype == net.dtype and np.all(np.isfinite(v)), k
        assert np.array_equal(originals[k], before[k]) or originals[k].flags.writeable, \
            f"the read-only params[{k!r}] was written"
    if kind == "MultiLayerNetExtend" or backend == "numpy":
        return  # dropout draws differ; the numpy backend is the reference itself
    ref = small_net(kind, "numpy", dtype=dtype)
    want = outcome(lambda: ref.train_epoch(x, t, batch_size, name, lr=lr, **perm_arg))
    assert want[0] == "ok", want
    tol = dict(rtol=1e-3, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-7, atol=1e-9)
    assert_close(net.batch_losses, ref.batch_losses, "batch_losses", **tol)
    for k in ref.params:
        assert_close(net.params[k], ref.params[k], f"params[{k!r}]", **tol)


train_epochs = per_axis(_train_epochs, AXES)


@given(backend=st.sampled_from(BACKENDS),
       hidden=st.sampled_from([(3,), (4, 2), 3, (), (0,), (-1,), (2.5,), "3"]),
       solver=st.sampled_from(["adam", "sgd", "lbfgs", "bogus"]),
       batch_size=st.sampled_from(["auto", 1, 7, 1000, 0, -1, 2.5]), n_threads=threads,
       alpha=st.sampled_from([1e-4, 0.0, -1.0, np.nan]), data=st.data())
def estimator(backend, hidden, solver, batch_size, n_threads, alpha, data):
    """MLPClassifier.fit/predict: labels from classes_ and probabilities that sum to 1, or a clear refusal."""
    import warnings

    from fastnn.sklearn import MLPClassifier
    n = data.draw(st.integers(2, 12))
    X = data.draw(inputs())
    if not (isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[0] == n):
        X = data.draw(hnp.arrays(np.float64, (n, D), elements=finite))
    y = np.asarray(data.draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n)))
    if data.draw(st.booleans()):
        y = data.draw(st.sampled_from([y.astype(object), np.arange(n) % 2, np.full(n, 0.5), np.zeros((n, 2)), y[:-1]]))
    clf = MLPClassifier(hidden, solver=solver, batch_size=batch_size, alpha=alpha, n_threads=n_threads,
                        backend=backend, max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            clf.fit(X, y)
        except ERRORS:
            return
    Xt = np.asarray(X, np.float64)
    pred = clf.predict(Xt)
    assert set(np.asarray(pred).tolist()) <= set(clf.classes_.tolist())
    proba = clf.predict_proba(Xt)
    assert np.all(np.isfinite(proba)) and np.allclose(proba.sum(axis=1), 1.0)


TARGETS = {f.__name__: f for f in (constructors, forward_calls, numerical_gradients, train_epochs, estimator)}
