"""The numerical gradient at several steps h, judged element by element against the reference's loss.

At h = 1e-4 a central difference and backprop agree to ~1e-10, so a test there cannot tell a numerical
gradient from backprop posing as one, nor a kernel that ignores ``h``. At h = 1e-2, 0.05 and 0.5 the
central difference (L(p + h e_i) - L(p - h e_i)) / 2h moves away from the analytic gradient by O(h^2 L''');
so every case here is compared with the central difference computed *in this file*, element by element,
from ``fastnn.reference``'s loss (or a few lines of NumPy for the deeper networks), and, where h is large,
a companion test asserts that the result is *not* the analytic gradient (after asserting that the gap
exists in the data itself, far beyond the tolerance, so that it cannot pass vacuously).

Tolerances (per element): ``atol * max(1, max |g|) + C eps L_max / h`` -- relative to the gradient's size
where gradients are large (raw 0..255 pixels give gradients of ~60), plus the rounding of a difference of
two losses of size ``L_max`` in float64, the dtype every network computes its differences in whatever its
parameters' dtype (the NumPy reference loop's too: in float32 it was off by up to ~6%).
"""
import numpy as np
import pytest

import fastnn
from fastnn import reference as ref

H = [1e-4, 1e-2, 0.05, 0.5]
LARGE_H = [1e-2, 0.05, 0.5]
PIXELS = ["scaled", "raw"]
ACTIVATIONS = ["sigmoid", "relu"]
DTYPES = [np.float64, np.float32]
#: (atol relative to max(1, max |g|), rtol) per parameter dtype: float32 results are rounded to float32.
RESULT_TOL = {"float64": (1e-9, 0.0), "float32": (1e-9, 2e-7)}
#: How many roundings of the loss the reference's and the network's differences may each carry.
ROUNDINGS = 64
#: The companion needs a gap between central difference and backprop this many tolerances wide.
GAP = 20

def dtype_id(dtype):
    return np.dtype(dtype).name


def data(seed, n=6, d=8, k=4, pixels="scaled"):
    rng = np.random.default_rng(seed)
    x = rng.random((n, d))
    x[rng.random((n, d)) < 0.3] = 0.0
    if pixels == "raw":
        x = np.round(x * 255)
    return x, rng.integers(0, k, n).astype(np.intp)


def central_difference(loss, params, h):
    """{key: (L(p + h e_i) - L(p - h e_i)) / 2h} for every element i of every parameter, one at a time,
    on float64 copies; also the largest |L| met (for the rounding part of the tolerance)."""
    work = {k: np.array(v, dtype=np.float64, copy=True) for k, v in params.items()}
    grads, l_max = {}, abs(loss(work))
    for key, p in work.items():
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            saved = p[idx]
            p[idx] = saved + h
            plus = loss(work)
            p[idx] = saved - h
            minus = loss(work)
            p[idx] = saved
            g[idx] = (plus - minus) / (2 * h)
            l_max = max(l_max, abs(plus), abs(minus))
        grads[key] = g
    return grads, l_max


def tolerance(want, l_max, h, dtype):
    """Per-element bound of |got - want| (see the module docstring): every path takes its differences in float64
    (README's dtype row; the NumPy reference's loop too, since 2026-12-06)."""
    atol, rtol = RESULT_TOL[dtype_id(dtype)]
    g_max = max(float(np.abs(v).max()) for v in want.values())
    rounding = ROUNDINGS * np.finfo(np.float64).eps * max(1.0, l_max) / h
    return atol * max(1.0, g_max) + rounding, rtol


def assert_is_the_central_difference(got, want, tol, err=""):
    atol, rtol = tol
    assert set(got) == set(want)
    for key in want:
        g = np.asarray(got[key], np.float64)
        assert g.shape == want[key].shape, key
        assert np.all(np.isfinite(g)), f"{err} {key}: non-finite numerical gradient"
        excess = np.abs(g - want[key]) - (atol + rtol * np.abs(want[key]))
        worst = np.unravel_index(int(np.argmax(excess)), excess.shape)
        assert excess[worst] <= 0, (f"{err} {key}{list(worst)}: got {g[worst]!r}, central difference "
                                    f"{want[key][worst]!r}, tolerance {atol + rtol * abs(want[key][worst]):.3g}")


def gap(a, b):
    return max(float(np.abs(np.asarray(a[k], np.float64) - np.asarray(b[k], np.float64)).max()) for k in b)


def assert_is_not_the_analytic_gradient(got, want, analytic, tol):
    """The data first: the central difference must differ from backprop by far more than the tolerance;
    then the result must show that difference (a backprop posing as a numerical gradient, or a kernel
    that ignores h, would not)."""
    atol = tol[0] + tol[1] * max(float(np.abs(v).max()) for v in want.values())
    expected_gap = gap(want, analytic)
    assert expected_gap > GAP * atol, (
        f"this case cannot tell: central difference and backprop differ by only {expected_gap:.3g} "
        f"(tolerance {atol:.3g})")
    assert all(np.all(np.isfinite(v)) for v in got.values()), "non-finite numerical gradient"
    assert gap(got, analytic) > expected_gap / 2, (
        f"the numerical gradient is (nearly) the analytic gradient: they differ by {gap(got, analytic):.3g}, "
        f"the central difference and backprop by {expected_gap:.3g}")


#: (dtype, h) of the companion tests: float32 results carry a rounding of 2e-7 |g|, more than the O(h^2)
#: gap at h = 1e-2 in some cases, so float32 is judged at 0.05 and 0.5 only.
COMPANION = [pytest.param(dt, h, id=f"{dtype_id(dt)}-{h}") for dt in DTYPES for h in LARGE_H
             if not (dt == np.float32 and h < 0.05)]


# --- TwoLayerNet ------------------------------------------------------------------------------------------

def two_layer(backend, dtype, activation, loss, pixels, seed=0):
    x, t = data(seed, pixels=pixels)
    std = 1.0 if pixels == "scaled" else "xavier"
    net = fastnn.TwoLayerNet(8, 6, 4, std, activation=activation, loss=loss, dtype=dtype, backend=backend, seed=seed)
    rng = np.random.default_rng(seed + 100)
    for key in ("b1", "b2"):  # non-zero biases: no relu unit of a zero row sits on its kink
        net.params[key] = 0.3 * rng.standard_normal(net.params[key].shape)
    x = x.astype(dtype)
    P = {k: np.array(v, np.float64) for k, v in net.params.items()}
    return net, P, x, x.astype(np.float64), t


def two_layer_case(backend, dtype, activation, loss, pixels, h):
    net, P, x, x64, t = two_layer(backend, dtype, activation, loss, pixels)
    want, l_max = central_difference(lambda p: ref.loss(p, x64, t, activation, loss), P, h)
    got = net.numerical_gradient(x, t, h=h)
    tol = tolerance(want, l_max, h, dtype)
    return got, want, tol, ref.gradient(P, x64, t, activation, loss)[1]


@pytest.mark.parametrize("h", H)
@pytest.mark.parametrize("pixels", PIXELS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
def test_two_layer_numerical_gradient_is_the_central_difference(backend, dtype, loss, activation, pixels,
                                                                 h):
    got, want, tol, _ = two_layer_case(backend, dtype, activation, loss, pixels, h)
    for key in got:
        assert got[key].dtype == dtype, key
    assert_is_the_central_difference(got, want, tol, f"h={h}")


@pytest.mark.parametrize("pixels", PIXELS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
@pytest.mark.parametrize("dtype, h", COMPANION)
def test_two_layer_numerical_gradient_at_large_h_is_not_backprop(backend, dtype, h, loss, activation,
                                                                  pixels):
    got, want, tol, analytic = two_layer_case(backend, dtype, activation, loss, pixels, h)
    assert_is_not_the_analytic_gradient(got, want, analytic, tol)


def test_the_function_form_takes_h(backend):
    """fastnn.numerical_gradient(params, x, t, h=...) passes h through to the kernels."""
    net, P, x, x64, t = two_layer(backend, np.float64, "sigmoid", "cross_entropy", "scaled")
    want, l_max = central_difference(lambda p: ref.loss(p, x64, t), P, 0.5)
    got = fastnn.numerical_gradient(P, x, t, h=0.5, backend=backend)
    assert_is_the_central_difference(got, want, tolerance(want, l_max, 0.5, np.float64))
    assert_is_not_the_analytic_gradient(got, want, ref.gradient(P, x64, t)[1],
                                        tolerance(want, l_max, 0.5, np.float64))


# --- MultiLayerNet and MultiLayerNetExtend ---------------------------------------------------------------

ACT = {"sigmoid": ref.sigmoid, "relu": ref.relu}
BN_EPS = 1e-6  # the book's 10e-7 inside the square root


def mlp_loss(P, x, t, activation, lam, n_layers, batchnorm=False):
    """The chapter-6 network's training-mode loss, written here from the reference's pieces: affine
    [-> batchnorm over the batch] -> activation per hidden layer, affine, softmax cross-entropy, plus
    0.5 lambda sum ||W||^2."""
    z = x
    for i in range(1, n_layers):
        a = z @ P[f"W{i}"] + P[f"b{i}"]
        if batchnorm:
            centred = a - a.mean(axis=0)
            a = P[f"gamma{i}"] * centred / np.sqrt(np.mean(centred ** 2, axis=0) + BN_EPS) + P[f"beta{i}"]
        z = ACT[activation](a)
    scores = z @ P[f"W{n_layers}"] + P[f"b{n_layers}"]
    decay = 0.5 * lam * sum(np.sum(P[f"W{i}"] ** 2) for i in range(1, n_layers + 1))
    return float(ref.softmax_cross_entropy(scores, t) + decay)


def multilayer(net_class, backend, dtype, activation, pixels, batchnorm=False, seed=1):
    x, t = data(seed, pixels=pixels)
    std = 0.8 if pixels == "scaled" else "xavier"
    kw = dict(use_batchnorm=True) if batchnorm else {}
    net = net_class(8, [6, 5], 4, activation=activation, weight_init_std=std, weight_decay_lambda=0.1, dtype=dtype,
                    backend=backend, seed=seed, **kw)
    rng = np.random.default_rng(seed + 100)
    for key in [k for k in net.params if k.startswith(("b", "gamma"))]:
        net.params[key] = net.params[key] + 0.3 * rng.standard_normal(net.params[key].shape)
    x = x.astype(dtype)
    P = {k: np.array(v, np.float64) for k, v in net.params.items()}
    loss = lambda p: mlp_loss(p, x.astype(np.float64), t, activation, 0.1, 3, batchnorm)  # noqa: E731
    return net, P, x, t, loss


def multilayer_case(net_class, backend, dtype, activation, pixels, h, batchnorm=False):
    net, P, x, t, loss = multilayer(net_class, backend, dtype, activation, pixels, batchnorm)
    assert loss(P) == pytest.approx(net.loss(x, t, train_flg=True), rel=1e-5 if dtype == np.float32 else 1e-12)
    want, l_max = central_difference(loss, P, h)
    got = net.numerical_gradient(x, t, h=h)
    tol = tolerance(want, l_max, h, dtype)
    twin = net_class(8, [6, 5], 4, activation=activation, weight_decay_lambda=0.1, backend="numpy",
                     **(dict(use_batchnorm=True) if batchnorm else {}))
    twin.params = P
    return net, got, want, tol, twin.gradient(x.astype(np.float64), t)


@pytest.mark.parametrize("h", H)
@pytest.mark.parametrize("pixels", PIXELS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_id)
def test_multilayer_numerical_gradient_is_the_central_difference(backend, dtype, activation, pixels, h):
    net, got, want, tol, _ = multilayer_case(fastnn.MultiLayerNet, backend, dtype, activation, pixels, h)
    for key in got:
        assert got[key].dtype == dtype, key
    assert_is_the_central_difference(got, want, tol, f"h={h}")


@pytest.mark.parametrize("pixels", PIXELS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("dtype, h", COMPANION)
def test_multilayer_numerical_gradient_at_large_h_is_not_backprop(backend, dtype, h, activation, pixels):
    net, got, want, tol, analytic = multilayer_case(fastnn.MultiLayerNet, backend, dtype, activation, pixels, h)
    assert_is_not_the_analytic_gradient(got, want, analytic, tol)


@pytest.mark.parametrize("h", H)
@pytest.mark.parametrize("pixels", PIXELS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_batchnorm_network_numerical_gradient_is_the_central_difference(activation, pixels, h):
    """MultiLayerNetExtend with batchnorm: the NumPy reference path, gamma and beta included."""
    net, got, want, tol, analytic = multilayer_case(fastnn.MultiLayerNetExtend, "auto", np.float64, activation,
                                                    pixels, h, batchnorm=True)
    assert net.kernels == "numpy reference"
    assert {"gamma1", "beta2"} <= set(got)
    assert_is_the_central_difference(got, want, tol, f"h={h}")
    if h >= 0.05:
        assert_is_not_the_analytic_gradient(got, want, analytic, tol)
