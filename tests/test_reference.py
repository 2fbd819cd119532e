"""The reference judged on its own: hand-computed cases and higher-order finite differences."""
import warnings

import numpy as np
import pytest

from fastnn import reference as ref
from helpers import fourth_order_gradient, problem

COMBOS = [(a, l) for a in ref.ACTIVATIONS for l in ref.LOSSES]


def test_sigmoid_is_stable_at_extremes():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            y = ref.sigmoid(np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0]))
    assert y[0] == 0.0 and y[-1] == 1.0 and y[2] == 0.5
    x = np.linspace(-20, 20, 41)
    np.testing.assert_allclose(ref.sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-15)


def test_softmax_is_row_wise_and_stable():
    a = np.array([[1000.0, 1001.0, 999.0], [0.0, 0.0, 0.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = ref.softmax(a)
    np.testing.assert_allclose(y.sum(axis=1), 1.0)
    np.testing.assert_allclose(y[1], 1 / 3)
    np.testing.assert_allclose(y[0], ref.softmax(a[0] - 1000))
    np.testing.assert_allclose(ref.softmax(np.array([1.0, 2.0])), ref.softmax(np.array([[1.0, 2.0]]))[0])


def test_cross_entropy_is_the_batch_mean_with_either_label_form():
    y = np.array([[0.1, 0.9], [0.8, 0.2]])
    expected = -(np.log(0.9) + np.log(0.8)) / 2
    assert ref.cross_entropy_error(y, np.array([1, 0])) == pytest.approx(expected, rel=1e-15)
    assert ref.cross_entropy_error(y, np.array([[0, 1], [1, 0]])) == pytest.approx(expected, rel=1e-15)
    assert ref.cross_entropy_error(y[0], np.array([0, 1])) == pytest.approx(-np.log(0.9))  # 1-D: batch of one
    assert ref.cross_entropy_error(y[0], 1) == pytest.approx(-np.log(0.9))
    assert np.isfinite(ref.cross_entropy_error(np.array([[0.0, 1.0]]), np.array([0])))  # log(0) stays finite


def test_mean_squared_error_hand_case():
    y = np.array([[0.6, 0.4], [0.2, 0.8]])
    expected = 0.5 * ((0.4 ** 2 + 0.4 ** 2) + (0.2 ** 2 + 0.2 ** 2)) / 2
    assert ref.mean_squared_error(y, np.array([0, 1])) == pytest.approx(expected, rel=1e-15)
    assert ref.mean_squared_error(y[0], np.array([1.0, 0.0])) == pytest.approx(0.5 * 0.32)


def test_network_loss_matches_the_book_functions():
    params, x, t = problem(0)
    _, a2 = ref.forward(params, x)
    assert ref.loss(params, x, t) == pytest.approx(ref.cross_entropy_error(ref.softmax(a2), t), rel=1e-13)
    assert ref.loss(params, x, t, loss="mse") == pytest.approx(ref.mean_squared_error(ref.softmax(a2), t), rel=1e-13)


def test_hand_computed_one_unit_network():
    # x=1, W1=0 -> z1 = sigmoid(0) = 1/2; W2 = [2, 0] -> a2 = [1, 0]; t = 0.
    params = {"W1": np.array([[0.0]]), "b1": np.array([0.0]), "W2": np.array([[2.0, 0.0]]), "b2": np.zeros(2)}
    x, t = np.array([[1.0]]), np.array([0])
    value, g = ref.gradient(params, x, t)
    s = 1 / (1 + np.exp(-1.0))  # softmax([1, 0])[0]
    assert value == pytest.approx(np.log(1 + np.exp(-1.0)), rel=1e-15)
    da2 = np.array([s - 1, 1 - s])
    np.testing.assert_allclose(g["b2"], da2, rtol=1e-15)
    np.testing.assert_allclose(g["W2"], [0.5 * da2], rtol=1e-15)
    da1 = (2 * (s - 1)) * 0.25
    np.testing.assert_allclose(g["W1"], [[da1]], rtol=1e-14)
    np.testing.assert_allclose(g["b1"], [da1], rtol=1e-14)


@pytest.mark.parametrize("activation, loss", COMBOS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_backprop_matches_fourth_order_differences(activation, loss, seed):
    params, x, t = problem(seed)
    assert np.abs(x @ params["W1"] + params["b1"]).min() > 3e-5  # no relu kink within the +-2h steps
    _, grads = ref.gradient(params, x, t, activation, loss)
    for key in params:
        num = fourth_order_gradient(lambda: ref.loss(params, x, t, activation, loss), params[key])
        np.testing.assert_allclose(grads[key], num, rtol=1e-7, atol=1e-10, err_msg=key)


@pytest.mark.parametrize("activation, loss", COMBOS)
@pytest.mark.parametrize("h", [1e-4, 0.5])
def test_reference_numerical_gradient_is_the_central_difference(activation, loss, h):
    """(L(p + h e_i) - L(p - h e_i)) / 2h element by element, written out here; at h = 0.5 that is far from
    backprop (O(h^2) away), so a backprop posing as the central difference fails."""
    params, x, t = problem(3)
    num = ref.numerical_gradient(params, x, t, activation, loss, h=h)
    for key in params:
        want = np.zeros_like(params[key])
        for idx in np.ndindex(want.shape):
            values = []
            for step in (h, -h):
                p = {k: v.copy() for k, v in params.items()}
                p[key][idx] += step
                values.append(ref.loss(p, x, t, activation, loss))
            want[idx] = (values[0] - values[1]) / (2 * h)
        np.testing.assert_allclose(num[key], want, rtol=0, atol=1e-12, err_msg=key)
    _, grads = ref.gradient(params, x, t, activation, loss)
    worst = max(float(np.abs(num[k] - grads[k]).max()) for k in params)
    if h == 0.5:
        assert worst > 1e-4  # the O(h^2) gap: not backprop
    else:
        assert worst < 1e-9


def test_numerical_gradient_of_visits_every_element_of_a_matrix():
    x = np.arange(6.0).reshape(2, 3)
    g = ref.numerical_gradient_of(lambda: np.sum(x ** 2), x)
    np.testing.assert_allclose(g, 2 * np.arange(6.0).reshape(2, 3), atol=1e-8)
    np.testing.assert_array_equal(x, np.arange(6.0).reshape(2, 3))  # restored


def relative_error(a, n):
    """|a - n| / max(1e-8, |a| + |n|) over a whole parameter (norms).

    Element by element this bound cannot hold for any central difference: W1 has entries with
    gradients near 1e-10 whose O(h^2) truncation alone is 1e-6 of their size.
    """
    return np.linalg.norm(a - n) / max(1e-8, np.linalg.norm(a) + np.linalg.norm(n))


def test_book_gradient_check_on_three_mnist_images(mnist):
    """The book's check (ch. 5): 784-50-10, 3 images; relative error below 1e-7 for every parameter."""
    import fastnn
    (x, t), _ = mnist
    net = fastnn.TwoLayerNet(784, 50, 10, backend="numpy", seed=0)
    x3, t3 = x[:3].astype(np.float64), t[:3]
    num = net.numerical_gradient(x3, t3)
    grad = net.gradient(x3, t3)
    for key in ("W1", "b1", "W2", "b2"):
        assert relative_error(grad[key], num[key]) < 1e-7, key
        assert np.abs(grad[key] - num[key]).max() < 1e-8, key


def test_hits_takes_integer_labels_and_one_hot_rows():
    """Rows whose logits' argmax (the first of equal largest) is the label, whichever way labels are given."""
    logits = np.array([[0.1, 0.9, 0.0], [2.0, 2.0, 1.0], [0.0, 0.0, 3.0], [1.0, 0.0, 0.0]])
    t = np.array([1, 1, 2, 1])  # hit, tie broken to 0 (miss), hit, miss
    assert ref.hits(logits, t) == 2
    assert ref.hits(logits, np.eye(3)[t]) == 2
