"""gradient_check and doctor, judged on a zoo of book-style networks each carrying exactly one bug."""
import importlib.util
import sys

import numpy as np
import pytest

import fastnn
from fastnn.doctor import doctor
from fastnn.gradcheck import gradient_check

BOOK_NET = '''
import numpy as np


def sigmoid(x):
    return np.exp(-np.logaddexp(0, -x))


def softmax(a):
    a = a - a.max(axis=-1, keepdims=True)
    e = np.exp(a)
    return e / e.sum(axis=-1, keepdims=True)


def cross_entropy_error(y, t):
    if y.ndim == 1:
        t, y = t.reshape(1, t.size), y.reshape(1, y.size)
    if t.size == y.size:
        t = t.argmax(axis=1)
    batch_size = y.shape[0]
    return -np.sum(np.log(y[np.arange(batch_size), t] + 1e-7)) / batch_size


def numerical_gradient(f, x):
    h = 1e-4
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=['multi_index'], op_flags=['readwrite'])
    while not it.finished:
        idx = it.multi_index
        tmp = x[idx]
        x[idx] = tmp + h
        fxh1 = f(x)
        x[idx] = tmp - h
        fxh2 = f(x)
        grad[idx] = (fxh1 - fxh2) / (2 * h)
        x[idx] = tmp
        it.iternext()
    return grad


class TwoLayerNet:
    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01):
        rng = np.random.default_rng(0)
        self.params = {'W1': weight_init_std * rng.standard_normal((input_size, hidden_size)),
                       'b1': np.zeros(hidden_size),
                       'W2': weight_init_std * rng.standard_normal((hidden_size, output_size)),
                       'b2': np.zeros(output_size)}

    def predict(self, x):
        z1 = sigmoid(x @ self.params['W1'] + self.params['b1'])
        return softmax(z1 @ self.params['W2'] + self.params['b2'])

    def loss(self, x, t):
        return cross_entropy_error(self.predict(x), t)

    def numerical_gradient(self, x, t):
        f = lambda W: self.loss(x, t)
        return {k: numerical_gradient(f, self.params[k]) for k in ('W1', 'b1', 'W2', 'b2')}

    def gradient(self, x, t):
        W1, b1, W2, b2 = (self.params[k] for k in ('W1', 'b1', 'W2', 'b2'))
        n = x.shape[0]
        z1 = sigmoid(x @ W1 + b1)
        y = softmax(z1 @ W2 + b2)
        dy = (y - t) / n
        grads = {'W2': z1.T @ dy, 'b2': np.sum(dy, axis=0)}
        da1 = (dy @ W2.T) * (1.0 - z1) * z1
        grads['W1'] = x.T @ da1
        grads['b1'] = np.sum(da1, axis=0)
        return grads
'''

BUGS = {
    "softmax-axis": ("    return e / e.sum(axis=-1, keepdims=True)", "    return e / np.sum(e)"),
    "loss-not-averaged": ("    return -np.sum(np.log(y[np.arange(batch_size), t] + 1e-7)) / batch_size",
                          "    return -np.sum(np.log(y[np.arange(batch_size), t] + 1e-7))"),
    "numgrad-first-axis": ("    it = np.nditer(x, flags=['multi_index'], op_flags=['readwrite'])\n"
                           "    while not it.finished:\n        idx = it.multi_index",
                           "    for idx in range(x.shape[0]):\n        it = None"),
    "zero-gradient": ("        grads['W1'] = x.T @ da1", "        grads['W1'] = np.zeros_like(W1)"),
    "nan-gradient": ("        grads = {'W2': z1.T @ dy, 'b2': np.sum(dy, axis=0)}",
                     "        grads = {'W2': z1.T @ dy, 'b2': np.sum(dy, axis=0) / 0.0}"),
    "overflow": ("    a = a - a.max(axis=-1, keepdims=True)\n", ""),
    "backprop-scale": ("        dy = (y - t) / n", "        dy = (y - t)"),
    "backprop-sign": ("        dy = (y - t) / n", "        dy = (t - y) / n"),
    "backprop-mismatch": ("        grads = {'W2': z1.T @ dy,", "        grads = {'W2': (x @ W1 + b1).T @ dy,"),
    "backprop-transpose": ("        grads = {'W2': z1.T @ dy,", "        grads = {'W2': dy.T @ z1,"),
    "backprop-shape": ("'b2': np.sum(dy, axis=0)}", "'b2': np.sum(dy, axis=0, keepdims=True)}"),
    "numgrad-no-effect": ("    grad = np.zeros_like(x)\n", "    grad = np.zeros_like(x)\n    x = x.copy()\n"),
}
#: The parameter each bug is in (None: not tied to one parameter).
PARAM = {"backprop-mismatch": "W2", "backprop-transpose": "W2", "backprop-shape": "b2", "zero-gradient": "W1",
         "nan-gradient": "b2"}


def book_module(tmp_path, name, bug=None):
    source = BOOK_NET
    if bug:
        old, new = BUGS[bug]
        assert old in source, bug
        source = source.replace(old, new)
        if bug == "numgrad-first-axis":
            source = source.replace("        it.iternext()\n", "")
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def digits():
    from fastnn.datasets import load_digits
    (x, t), _ = load_digits()
    x, t = x[:32].astype(np.float64), t[:32]
    return x, t, np.eye(10)[t]


def codes(findings):
    return sorted(f.code for f in findings)


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_each_bug_gets_its_own_code_and_no_other(tmp_path, digits, bug):
    x, t, onehot = digits
    net = book_module(tmp_path, f"zoo_{bug.replace('-', '_')}", bug).TwoLayerNet(64, 10, 10)
    found = doctor(net, x, onehot, verbose=False)
    assert codes(found) == [bug], [str(f) for f in found]
    assert found[0].param == PARAM.get(bug), str(found[0])
    assert all(f.message and f.why and f.fix and "?" not in f.message for f in found)
    if bug == "backprop-scale":
        assert found[0].measured["factor"] == pytest.approx(32, rel=1e-3) and "batch size" in found[0].message


def test_the_books_sigmoid_is_not_an_overflow(tmp_path, digits):
    """1 / (1 + np.exp(-x)) warns at -1000 but returns the right 0.0: no finding."""
    x, t, onehot = digits
    module = book_module(tmp_path, "zoo_book_sigmoid")
    module.sigmoid = lambda a: 1 / (1 + np.exp(-a))
    assert doctor(module.TwoLayerNet(64, 10, 10), x, onehot, verbose=False) == []


def test_zero_learning_rate_and_zero_gradients_do_not_crash(tmp_path, digits):
    x, t, onehot = digits
    net = book_module(tmp_path, "zoo_lr0").TwoLayerNet(64, 10, 10)
    assert codes(doctor(net, x, onehot, lr=0, verbose=False)) == ["learning-rate"]
    flat = book_module(tmp_path, "zoo_flat").TwoLayerNet(64, 10, 10)
    for key in flat.params:
        flat.params[key][...] = 0.0
    found = doctor(flat, x, onehot, lr=0.1, verbose=False)
    assert codes(found)[0] == "init-symmetric" and found[0].param is None


def test_raw_pixels_are_input_scale_only(tmp_path, digits):
    x, t, onehot = digits
    net = book_module(tmp_path, "zoo_raw").TwoLayerNet(64, 10, 10)
    assert codes(doctor(net, x * 16 * 16, onehot, verbose=False)) == ["input-scale"]


def test_saturated_units_and_tiny_init(tmp_path, digits):
    x, t, onehot = digits
    net = book_module(tmp_path, "zoo_sat").TwoLayerNet(64, 10, 10)
    net.params["b1"] += 20.0  # every hidden unit starts saturated: an initialisation problem
    assert codes(doctor(net, x, onehot, verbose=False)) == ["init-scale"]
    tiny = book_module(tmp_path, "zoo_tiny").TwoLayerNet(64, 10, 10, weight_init_std=1e-6)
    assert codes(doctor(tiny, x, onehot, verbose=False)) == ["init-scale"]


def test_learning_rate_and_labels(tmp_path, digits):
    x, t, onehot = digits
    net = book_module(tmp_path, "zoo_lr").TwoLayerNet(64, 10, 10)
    assert codes(doctor(net, x, onehot, lr=1e4, verbose=False)) == ["learning-rate"]
    assert codes(doctor(net, x, onehot, lr=0.1, verbose=False)) == []
    assert codes(doctor(net, x, onehot[:, :9], verbose=False)) == ["labels"]
    assert codes(doctor(net, x, t, verbose=False)) == []  # the book's loss takes integer labels too


def test_healthy_networks_get_no_findings(tmp_path, digits, backend):
    x, t, onehot = digits
    assert doctor(book_module(tmp_path, "zoo_ok").TwoLayerNet(64, 10, 10), x, onehot, verbose=False) == []
    net = fastnn.TwoLayerNet(64, 30, 10, "xavier", backend=backend, seed=0)
    assert doctor(net, x, t, lr=0.1, verbose=False) == []


def test_healthy_fastnn_network_on_scaled_mnist(mnist):
    (x, t), _ = mnist
    net = fastnn.TwoLayerNet(784, 100, 10, "xavier", seed=0)
    assert doctor(net, x[:32], t[:32], lr=0.1, verbose=False) == []


def test_gradient_check_passes_on_every_backend(backend, dtype, digits):
    x, t, _ = digits
    net = fastnn.TwoLayerNet(64, 12, 10, "xavier", backend=backend, dtype=dtype, seed=0)
    result = gradient_check(net, x[:3].astype(dtype), t[:3])
    assert result.passed, str(result)
    assert [p.name for p in result] == ["W1", "b1", "W2", "b2"]


def test_gradient_check_names_the_wrong_parameter(tmp_path, digits):
    x, t, onehot = digits
    module = book_module(tmp_path, "zoo_wrong_backprop")
    net = module.TwoLayerNet(64, 8, 10, weight_init_std=0.5)
    right = net.gradient

    def wrong(x, t):
        g = right(x, t)
        g["b1"] = g["b1"] * 1.01  # a 1% error in one parameter
        return g
    net.gradient = wrong
    result = gradient_check(net, x[:3], onehot[:3])
    assert not result.passed and result.failed() == ["b1"]
    assert "FAILED for b1" in str(result)
    net.gradient = right
    assert gradient_check(net, x[:3], onehot[:3]).passed


def test_doctor_command_on_the_learners_script(capsys):
    """The learner's original network: every one of its bugs is named, by its code."""
    from pathlib import Path

    from fastnn.cli import main
    script = Path(__file__).resolve().parents[1] / "examples" / "learner_seed_net.py"
    assert main(["doctor", str(script), "--static", "--hidden", "20", "--batch", "8"]) == 0
    out = capsys.readouterr().out
    assert "skipped `from keras.datasets import mnist`" in out and "definitions only" in out
    assert "[softmax-axis]" in out and "[input-scale]" not in out  # --static runs no training loop


def test_gradcheck_command(capsys):
    from fastnn.cli import main
    assert main(["gradcheck", "--hidden", "10"]) == 0
    assert "gradient check passed" in capsys.readouterr().out


def test_every_code_has_a_chinese_explanation(tmp_path, digits, capsys):
    from fastnn._doctor_text import TEMPLATES
    from fastnn.doctor import ORDER, report
    assert all(code in TEMPLATES or any(k.startswith(code) for k in TEMPLATES) for code in ORDER)
    assert all(set(table) == {"en", "zh"} for table in TEMPLATES.values())
    x, t, onehot = digits
    net = book_module(tmp_path, "zoo_zh", "softmax-axis").TwoLayerNet(64, 10, 10)
    found = doctor(net, x, onehot, verbose=True, lang="zh")
    out = capsys.readouterr().out
    assert "[softmax-axis]" in out and "按行归一化" in out and "发现 1 个问题" in out
    assert report([], "zh") == "doctor：未发现问题。" and codes(found) == ["softmax-axis"]
    with pytest.raises(ValueError, match="lang must be"):
        report([], "fr")
