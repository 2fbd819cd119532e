"""gradient_check and doctor, judged on a zoo of book-style networks each carrying exactly one bug."""
import importlib.util
import sys
import textwrap

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
    "numgrad-mismatch": ("        x[idx] = tmp\n        it.iternext()", "        it.iternext()"),
    # the book's sigmoid behind a guard that never fires (x.all() is one True/False, never below -500)
    "dead-guard": ("def sigmoid(x):\n", "def sigmoid(x):\n    if x.all() < -500:\n        return 0.0\n"),
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


def test_gradient_check_of_a_fastnn_network_judges_by_a_real_central_difference(backend, digits):
    """For fastnn networks gradient_check takes its numerical side from a fast path: it must be the central
    difference itself (here: the reference's loss differenced element by element in this test), not a second
    backprop. At h = 0.5 the two differ by O(h^2), so the check must fail there and report that very gap."""
    from fastnn import reference as ref
    x, t, _ = digits
    net = fastnn.TwoLayerNet(64, 6, 10, "xavier", backend=backend, seed=0)
    x3, t3 = x[:3], t[:3]
    P = {k: v.copy() for k, v in net.params.items()}
    for h, passes in ((1e-4, True), (0.5, False)):
        result = gradient_check(net, x3, t3, h=h)
        assert result.passed == passes, str(result)
        analytic = ref.gradient(P, x3, t3)[1]
        for row in result:
            p = P[row.name]
            central = np.zeros_like(p)
            for idx in np.ndindex(p.shape):
                saved = p[idx]
                p[idx] = saved + h
                plus = ref.loss(P, x3, t3)
                p[idx] = saved - h
                minus = ref.loss(P, x3, t3)
                p[idx] = saved
                central[idx] = (plus - minus) / (2 * h)
            gap = float(np.abs(analytic[row.name] - central).max())
            rounding = 64 * np.finfo(float).eps * max(abs(plus), abs(minus)) / h  # of this test's difference
            assert row.max_abs_error == pytest.approx(gap, rel=1e-6, abs=rounding), row.name
            if h == 0.5:
                assert gap > 1e-4, row.name
        np.testing.assert_array_equal(net.params["W1"], P["W1"])  # restored


def test_gradient_check_catches_a_wrong_gradient_of_a_fastnn_network(backend, digits):
    x, t, _ = digits
    net = fastnn.TwoLayerNet(64, 6, 10, "xavier", backend=backend, seed=0)
    right = net.gradient

    def wrong(x, t):
        g = right(x, t)
        g["W2"] = g["W2"] * 1.01
        return g
    net.gradient = wrong
    result = gradient_check(net, x[:3], t[:3])
    assert result.failed() == ["W2"], str(result)


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
    assert "[dead-guard] sigmoid() line 15: `if np.all(x < -709)`" in out  # its guard tests the whole array


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


WATCHED_DATA = '''
import numpy as np

rng = np.random.default_rng(0)
centres = rng.normal(size=(10, 20))
labels = rng.integers(0, 10, 300)
x_train = np.clip(0.5 + 0.2 * (centres[labels] + 0.3 * rng.normal(size=(300, 20))), 0, 1)
t_train = np.eye(10)[labels]


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(a):
    a = a - a.max(axis=1, keepdims=True)
    return np.exp(a) / np.exp(a).sum(axis=1, keepdims=True)


'''

WATCHED = WATCHED_DATA + '''params = {"W1": 0.1 * rng.normal(size=(20, 16)), "b1": np.zeros(16),
          "W2": 0.1 * rng.normal(size=(16, 10)), "b2": np.zeros(10)}


def loss(params, x, t):
    y = softmax(sigmoid(x @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"])
    return -np.sum(t * np.log(y + 1e-7)) / len(x)


def gradient(params, x, t):
    z1 = sigmoid(x @ params["W1"] + params["b1"])
    y = softmax(z1 @ params["W2"] + params["b2"])
    dy = (y - t) / len(x)
    dz1 = (dy @ params["W2"].T) * z1 * (1 - z1)
    return {"W1": x.T @ dz1, "b1": dz1.sum(axis=0), "W2": z1.T @ dy, "b2": dy.sum(axis=0)}


learning_rate = 0.5
for step in range(1000):
    batch = rng.choice(300, 32)
    grads = gradient(params, x_train[batch], t_train[batch])
    for key in params:
        params[key] -= learning_rate * grads[key]
    print(step, loss(params, x_train[batch], t_train[batch]))
'''


@pytest.fixture
def run_watched(tmp_path, capsys):
    import json

    from fastnn.cli import main

    def run(source, *args):
        path = tmp_path / "learner.py"
        path.write_text(source)
        assert main(["doctor", str(path), *args]) == 0
        out = capsys.readouterr().out
        return json.loads(out) if "--json" in args else out
    return run


def test_watch_a_healthy_program_finds_nothing(run_watched):
    report = run_watched(WATCHED, "--json", "--steps", "4")
    assert report["steps"] == 4 and report["findings"] == [], report
    assert report["program_error"] is None and "4 training steps" in report["stop_reason"]
    assert report["output_tail"][0].startswith("0 ")  # the learner's own output, kept apart


@pytest.mark.parametrize("old,new,code", [
    ("params[key] -= learning_rate", "params[key] += learning_rate", "update-sign"),
    ("learning_rate = 0.5", "learning_rate = 0", "learning-rate"),
    ("params[key] -= learning_rate * grads[key]", "p = params[key] - learning_rate * grads[key]", "update-lost"),
    ("learning_rate = 0.5", "learning_rate = 5000.0", "learning-rate"),
    ("learning_rate = 0.5", "learning_rate = 1e-7", "learning-rate"),
    ("dy = (y - t) / len(x)", "dy = (y - t)", "backprop-scale"),
    ("x_train[batch], t_train[batch])", "x_train[batch] * 255, t_train[batch])", "input-scale"),
])
def test_watch_names_the_programs_bug(run_watched, old, new, code):
    assert old in WATCHED
    report = run_watched(WATCHED.replace(old, new), "--json")
    assert report["findings"] and report["findings"][0]["code"] == code, report["findings"]


WATCHED_INLINE = WATCHED_DATA + '''W1 = 0.1 * rng.normal(size=(20, 16))
b1 = np.zeros(16)
W2 = 0.1 * rng.normal(size=(16, 10))
b2 = np.zeros(10)
learning_rate, batch_size = 0.5, 32
for step in range(1000):
    batch = rng.choice(300, batch_size)
    x_batch = x_train[batch]
    t_batch = t_train[batch]
    a1 = x_batch @ W1 + b1
    z1 = sigmoid(a1)
    y = softmax(z1 @ W2 + b2)
    loss = -np.sum(t_batch * np.log(y + 1e-7)) / batch_size
    dy = (y - t_batch) / batch_size
    dW2 = z1.T @ dy
    db2 = dy.sum(axis=0)
    da1 = (dy @ W2.T) * z1 * (1 - z1)
    dW1 = x_batch.T @ da1
    db1 = da1.sum(axis=0)
    W1 -= learning_rate * dW1
    b1 -= learning_rate * db1
    W2 -= learning_rate * dW2
    b2 -= learning_rate * db2
    print(step, loss)
'''


def test_watch_a_step_written_inline_in_a_module_loop(run_watched):
    """No gradient() or loss() to watch: the loop's body is replayed as the learner's loss and gradient."""
    report = run_watched(WATCHED_INLINE, "--json", "--steps", "4")
    assert report["steps"] == 4 and report["findings"] == [], report
    assert "4 training steps" in report["stop_reason"] and report["output_tail"][0].startswith("0 ")
    assert not any("no-step" in str(n) or "no training step" in str(n) for n in report["not_checked"])


@pytest.mark.parametrize("old,new,code,param", [
    ("da1 = (dy @ W2.T) * z1 * (1 - z1)", "da1 = (dy @ W2.T) * a1 * (1 - a1)", "backprop-mismatch", "W1"),
    ("dW1 = x_batch.T @ da1", "dW1 = -(x_batch.T @ da1)", "backprop-sign", "W1"),
    ("dW2 = z1.T @ dy", "dW2 = a1.T @ dy", "backprop-mismatch", "W2"),
    ("    loss = -np.sum(t_batch * np.log(y + 1e-7)) / batch_size\n    dy = (y - t_batch) / batch_size",
     "    loss = -np.sum(t_batch * np.log(y + 1e-7))\n    dy = y - t_batch", "loss-not-averaged", None),
    ("W2 -= learning_rate * dW2", "W2 += learning_rate * dW2", "update-sign", "W2"),
    ("    W1 -= learning_rate * dW1\n", "", "update-lost", "W1"),
    ("learning_rate, batch_size = 0.5, 32", "learning_rate, batch_size = 1e-7, 32", "learning-rate", None),
    ("x_batch = x_train[batch]", "x_batch = x_train[batch] * 255", "input-scale", None),
    ("return np.exp(a) / np.exp(a).sum(axis=1, keepdims=True)", "return np.exp(a) / np.exp(a).sum()",
     "softmax-axis", None),
])
def test_watch_names_the_bug_of_an_inline_step(run_watched, old, new, code, param):
    assert old in WATCHED_INLINE
    report = run_watched(WATCHED_INLINE.replace(old, new), "--json")
    got = [(f["code"], f["param"]) for f in report["findings"]]
    assert got and got[0][0] == code and (param is None or got[0][1] == param), (got, report["not_checked"])


def _with_optimizer(source):
    """WATCHED_INLINE_DICT updated by the book's optimizer object, its batch size written as a number."""
    return source.replace("learning_rate, batch_size = 0.5, 32", "class SGD:\n    def __init__(self, lr):\n"
                          "        self.lr = lr\n\n    def update(self, params, grads):\n        for key in params:\n"
                          "            params[key] -= self.lr * grads[key]\n\n\noptimizer = SGD(0.5)").replace(
        "    for key in ('W1', 'b1', 'W2', 'b2'):\n        params[key] -= learning_rate * grads[key]\n",
        "    optimizer.update(params, grads)\n").replace("batch_size", "32")


@pytest.mark.parametrize("old,new,code,param", [
    ("", "", None, None),
    ("db1 = da1.sum(axis=0)", "db1 = 2 * da1.sum(axis=0)", "backprop-scale", "b1"),
    ("dy = (y - t_batch) / 32", "dy = y - t_batch", "backprop-scale", None),
])
def test_watch_an_inline_step_updated_by_an_optimizer_object(run_watched, old, new, code, param):
    """optimizer.update(params, grads) is the loop's update; a division by the batch size written as a number
    divides a replayed batch by its own size (no false 'summed loss' on a batch twice as long)."""
    source = _with_optimizer(WATCHED_INLINE_DICT)
    assert "optimizer.update(params, grads)" in source and "/ 32" in source and "-=" not in source.split("optimizer =")[1]
    report = run_watched(source.replace(old, new) if old else source, "--json")
    got = [(f["code"], f["param"]) for f in report["findings"]]
    if code is None:
        assert got == [] and report["steps"] >= 2, report
    else:
        assert got and got[0][0] == code and (param is None or got[0][1] == param), (got, report["not_checked"])


WATCHED_COLUMNS = '''
import numpy as np

rng = np.random.default_rng(0)
centres = rng.normal(size=(10, 20))
labels = rng.integers(0, 10, 300)
X_all = np.clip(0.5 + 0.2 * (centres[labels] + 0.3 * rng.normal(size=(300, 20))), 0, 1).T


def softmax(Z):
    Z = Z - Z.max(axis=0, keepdims=True)
    return np.exp(Z) / np.exp(Z).sum(axis=0, keepdims=True)


Y_all = np.eye(10)[labels].T
W1 = 0.1 * rng.normal(size=(16, 20))
b1 = np.zeros((16, 1))
W2 = 0.1 * rng.normal(size=(10, 16))
b2 = np.zeros((10, 1))
m = 32
for it in range(1000):
    cols = rng.choice(300, m)
    X = X_all[:, cols]
    Y = Y_all[:, cols]
    A1 = np.tanh(W1 @ X + b1)
    A2 = softmax(W2 @ A1 + b2)
    cost = -np.sum(Y * np.log(A2 + 1e-8)) / m
    dZ2 = A2 - Y
    dW2 = dZ2 @ A1.T / m
    db2 = np.sum(dZ2, axis=1, keepdims=True) / m
    dZ1 = (W2.T @ dZ2) * (1 - A1 ** 2)
    dW1 = dZ1 @ X.T / m
    db1 = np.sum(dZ1, axis=1, keepdims=True) / m
    W1 = W1 - 0.5 * dW1
    b1 = b1 - 0.5 * db1
    W2 = W2 - 0.5 * dW2
    b2 = b2 - 0.5 * db2
    print(it, cost)
'''


@pytest.mark.parametrize("old,new,code,param", [
    ("", "", None, None),
    ("dZ1 = (W2.T @ dZ2) * (1 - A1 ** 2)", "dZ1 = (W2.T @ dZ2) * (1 - A1)", "backprop-mismatch", "W1"),
    ("dW2 = dZ2 @ A1.T / m", "dW2 = dZ2 @ A1.T", "backprop-scale", "W2"),
    ("X = X_all[:, cols]", "X = X_all[:, cols] * 255", "input-scale", None),
    ("return np.exp(Z) / np.exp(Z).sum(axis=0, keepdims=True)", "return np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)",
     "softmax-axis", None),
])
def test_watch_an_inline_step_with_an_example_a_column(run_watched, old, new, code, param):
    """X of inputs x examples (Z1 = W1 @ X + b1, biases of shape (n, 1), as Andrew Ng's course writes it): the
    doctor's checks see an example a row, the replay gets the loop's own layout back."""
    report = run_watched(WATCHED_COLUMNS.replace(old, new) if old else WATCHED_COLUMNS, "--json")
    got = [(f["code"], f["param"]) for f in report["findings"]]
    if code is None:
        assert got == [] and report["steps"] >= 2, report
    else:
        assert got and got[0][0] == code and (param is None or got[0][1] == param), (got, report["not_checked"])


def _named_by_layer(source):
    """WATCHED_INLINE with W_hidden, b_hidden, W_out, b_out and grad_* variables (names no pattern knows as
    parameters for the biases: the loop's own updates say they are)."""
    for old, new in (("dW1", "grad_W_hidden"), ("db1", "grad_b_hidden"), ("dW2", "grad_W_out"), ("db2", "grad_b_out"),
                     ("W1", "W_hidden"), ("b1", "b_hidden"), ("W2", "W_out"), ("b2", "b_out")):
        source = source.replace(old, new)
    return source


@pytest.mark.parametrize("old,new,code,param", [
    ("", "", None, None),
    ("grad_b_out = dy.sum(axis=0)", "grad_b_out = 3 * dy.sum(axis=0)", "backprop-scale", "b_out"),
])
def test_watch_an_inline_step_over_arrays_named_by_layer(run_watched, old, new, code, param):
    source = _named_by_layer(WATCHED_INLINE)
    assert "b_out -= learning_rate * grad_b_out" in source and old in source
    report = run_watched(source.replace(old, new) if old else source, "--json")
    got = [(f["code"], f["param"]) for f in report["findings"]]
    if code is None:
        assert got == [] and report["steps"] >= 2, report
    else:
        assert got and got[0] == (code, param), (got, report["not_checked"])
        assert report["findings"][0]["message"].startswith("grad_b_out is 3 times"), report["findings"][0]


def _epochs_of_slices(source):
    """WATCHED_INLINE with an epoch loop around a loop over the slices of a shuffled permutation."""
    head, _, body = source.partition("for step in range(1000):\n    batch = rng.choice(300, batch_size)\n")
    body = body.replace("print(step, loss)", "print(epoch, start, loss)").replace("\n    ", "\n        ")
    return (head + "for epoch in range(100):\n    order = rng.permutation(300)\n"
            "    for start in range(0, 300, batch_size):\n        batch = order[start:start + batch_size]\n    "
            + body.lstrip(" ").replace("x_batch", "    x_batch", 1))


def _in_main(source):
    """The training in a def main(): called at the end, its variables the function's locals."""
    head, _, loop = source.partition("W1 = 0.1")
    body = ("W1 = 0.1" + loop).replace("\n", "\n    ")
    return head + "def main():\n    " + body.rstrip() + "\n\n\nif __name__ == '__main__':\n    main()\n"


@pytest.mark.parametrize("shape", [_epochs_of_slices, _in_main, lambda s: _in_main(_epochs_of_slices(s))],
                         ids=["epochs-of-slices", "in-main", "epochs-in-main"])
@pytest.mark.parametrize("old,new,code", [(None, None, None), ("dW1 = x_batch.T @ da1", "dW1 = -(x_batch.T @ da1)",
                                                              "backprop-sign")])
def test_watch_an_inline_step_in_nested_loops_and_functions(run_watched, shape, old, new, code):
    source = shape(WATCHED_INLINE if old is None else WATCHED_INLINE.replace(old, new))
    compile(source, "learner.py", "exec")
    assert ("def main" in source) == (shape is not _epochs_of_slices)
    report = run_watched(source, "--json")
    got = [(f["code"], f["param"]) for f in report["findings"]]
    if code is None:
        assert got == [] and report["steps"] >= 2, report
    else:
        assert got and got[0] == (code, "W1"), (got, report["not_checked"])


#: WATCHED_INLINE's parameters as it creates them.
_INLINE_INIT = ("W1 = 0.1 * rng.normal(size=(20, 16))\nb1 = np.zeros(16)\nW2 = 0.1 * rng.normal(size=(16, 10))\n"
                "b2 = np.zeros(10)")


def _params_kept_in(source, init, ref, spellings=()):
    """WATCHED_INLINE with its parameters kept elsewhere: created by ``init`` and each read of parameter k (the
    spellings " k\\n", " k)", "@ k", "+ k" and ``spellings``) written ``ref.format(k=k)``."""
    source = source.replace(_INLINE_INIT, init)
    for k in ("W1", "b1", "W2", "b2"):
        for spelling in (" {k}\n", " {k})", "@ {k}", "+ {k}") + tuple(spellings):
            source = source.replace(spelling.format(k=k), spelling.format(k=ref.format(k=k)))
    return source


WATCHED_INLINE_DICT = _params_kept_in(WATCHED_INLINE.replace(
    "    W1 -= learning_rate * dW1\n    b1 -= learning_rate * db1\n    W2 -= learning_rate * dW2\n"
    "    b2 -= learning_rate * db2\n",
    "    grads = {'W1': dW1, 'b1': db1, 'W2': dW2, 'b2': db2}\n    for key in ('W1', 'b1', 'W2', 'b2'):\n"
    "        params[key] -= learning_rate * grads[key]\n"),
    "params = {'W1': 0.1 * rng.normal(size=(20, 16)), 'b1': np.zeros(16),\n"
    "          'W2': 0.1 * rng.normal(size=(16, 10)), 'b2': np.zeros(10)}", "params['{k}']", ("{k}.T",))


@pytest.mark.parametrize("old,new,code,param", [
    ("", "", None, None),
    ("'W2': dW2", "'W2': -dW2", "update-sign", "W2"),
    ("db1 = da1.sum(axis=0)", "db1 = da1.sum()", "backprop-shape", "b1"),
])
def test_watch_an_inline_step_over_a_params_dict(run_watched, old, new, code, param):
    """The parameters in a dict updated by a loop over its keys, the gradients gathered in a dict."""
    assert "params['W1']" in WATCHED_INLINE_DICT and "W1 -=" not in WATCHED_INLINE_DICT and old in WATCHED_INLINE_DICT
    _first_finding_is(run_watched(WATCHED_INLINE_DICT.replace(old, new) if old else WATCHED_INLINE_DICT, "--json"),
                      code, param)


def _first_finding_is(report, code, param):
    """The watched program's first finding is (code, param) (param None: any); code None: no finding, and the
    program was watched for at least two steps."""
    got = [(f["code"], f["param"]) for f in report["findings"]]
    if code is None:
        assert got == [] and report["steps"] >= 2, report
    else:
        assert got and got[0][0] == code and (param is None or got[0][1] == param), (got, report["not_checked"])


WATCHED_INLINE_OWNER = _params_kept_in(
    WATCHED_INLINE, "class Net:\n    def __init__(self):\n        self.W1 = 0.1 * rng.normal(size=(20, 16))\n"
    "        self.b1 = np.zeros(16)\n        self.W2 = 0.1 * rng.normal(size=(16, 10))\n"
    "        self.b2 = np.zeros(10)\n\n\nnet = Net()", "net.{k}", ("    {k} -= ",))


@pytest.mark.parametrize("old,new,code,param", [
    ("", "", None, None),
    ("net.W2 -= learning_rate * dW2", "net.W2 += learning_rate * dW2", "update-sign", "W2"),
    ("    net.W1 -= learning_rate * dW1\n", "", "update-lost", "W1"),
    ("    loss = -np.sum(t_batch * np.log(y + 1e-7)) / batch_size\n    dy = (y - t_batch) / batch_size",
     "    loss = -np.sum(t_batch * np.log(y + 1e-7))\n    dy = y - t_batch", "loss-not-averaged", None),
    ("da1 = (dy @ net.W2.T) * z1 * (1 - z1)", "da1 = (dy @ net.W2.T) * a1 * (1 - a1)", "backprop-mismatch", "W1"),
])
def test_watch_an_inline_step_over_a_network_objects_attributes(run_watched, old, new, code, param):
    """The parameters kept as attributes of an object (net.W1 -= learning_rate * dW1) in a module loop: before,
    no training step was observed at all and nothing was examined."""
    assert "net.W1 -= " in WATCHED_INLINE_OWNER and "\nW1 = " not in WATCHED_INLINE_OWNER
    assert "@ net.W2.T" in WATCHED_INLINE_OWNER and old in WATCHED_INLINE_OWNER
    report = run_watched(WATCHED_INLINE_OWNER.replace(old, new) if old else WATCHED_INLINE_OWNER, "--json")
    _first_finding_is(report, code, param)
    assert "training steps observed" in report["stop_reason"], report


def _trained_accuracy(source):
    """What the program really does when run to its end: its network's accuracy on its training set."""
    ns = {"print": lambda *args: None}
    with np.errstate(over="ignore"):
        exec(compile(source, "learner.py", "exec"), ns)
        p = ns["params"]
        y = ns["softmax"](ns["sigmoid"](ns["x_train"] @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"])
    return float(np.mean(y.argmax(axis=1) == ns["t_train"].argmax(axis=1)))


@pytest.mark.parametrize("lr,trains,template", [
    (5.0, True, None),  # overshoots ~3x on its first batch, its loss back down within ~8 steps: it learns
    (14.0, False, "learning-rate-high-stays"),  # overshoots ~8x, not back down in 50 steps: chance
    (30.0, False, "learning-rate-high"),  # overshoots ~16x: far too large at once
])
def test_watch_judges_a_large_learning_rate_by_how_far_it_overshoots(run_watched, lr, trains, template):
    """A first step that raises the loss is not a bug by itself (SGD at the edge of stability does that and
    learns); the doctor speaks of the learning rate only when the run would not learn, and watches past
    --steps until it knows."""
    source = WATCHED.replace("learning_rate = 0.5", f"learning_rate = {lr}")
    assert (_trained_accuracy(source) > 0.9) == trains  # the premise, run to the end
    report = run_watched(source, "--json")
    first_step = report["measured"]
    assert first_step["loss_after"] > first_step["loss_before"]  # every one of them overshoots at first
    if template is None:
        assert report["findings"] == [], report["findings"]
        assert 3 < report["steps"] < 50  # watched until the loss came back down, not stopped at --steps
    else:
        assert report["findings"][0]["code"] == "learning-rate", report["findings"]
        assert report["findings"][0]["template"] == template
        by = report["findings"][0]["measured"]["by"]
        assert (by >= 10) == (template == "learning-rate-high")
        suggested = WATCHED.replace("learning_rate = 0.5", f"learning_rate = {lr / by}")
        assert _trained_accuracy(suggested) > 0.9  # the rate it suggests does learn


@pytest.mark.parametrize("lr,template", [(5.0, None), (30.0, "learning-rate-high")])
def test_doctor_judges_a_learning_rate_as_the_watch_does(lr, template):
    """fastnn.doctor(net, x, t, lr) on the watched program's network and first batch: the same verdict as the
    watch above (lr 5 learns though its first step overshoots ~3x; lr 30 overshoots ~16x and does not)."""
    ns = {}
    exec(WATCHED[:WATCHED.index("learning_rate =")], ns)
    params, loss, gradient = ns["params"], ns["loss"], ns["gradient"]
    net = type("Net", (), {"params": params, "loss": lambda self, x, t: loss(params, x, t),
                           "gradient": lambda self, x, t: gradient(params, x, t)})()
    batch = ns["rng"].choice(300, 32)
    kept = {k: v.copy() for k, v in params.items()}
    found = doctor(net, ns["x_train"][batch], ns["t_train"][batch], lr=lr, verbose=False)
    assert [f.template for f in found] == ([template] if template else []), [f.message for f in found]
    assert all(np.array_equal(params[k], kept[k]) for k in params)  # the network is left as it was


def test_watch_a_gradient_check_before_training_is_no_step(run_watched):
    """Gradients taken on a few images before the loop, with no update between them, train nothing: the
    watched steps, the first step's judgement and the loss trajectory start at the first update."""
    check = "check = [gradient(params, x_train[:3], t_train[:3]) for _ in range(2)]\n"
    source = WATCHED.replace("learning_rate = 0.5\n", "learning_rate = 0.5\n" + check)
    report = run_watched(source, "--json", "--steps", "3")
    assert report["findings"] == [] and report["steps"] == 3, report
    first = report["measured"]["first_update"]
    assert first and all(m["changed"] for m in first.values()), first


def test_a_gradient_returned_as_lists_or_with_its_loss_is_matched_to_the_parameters_by_shape():
    from fastnn._doctor_gradients import as_grad_dict
    W1, b1, W2, b2 = np.ones((4, 3)), np.ones(3), np.ones((3, 2)), np.ones(2)
    params = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
    g = [np.full(a.shape, float(i)) for i, a in enumerate(params.values())]
    assert {k: v[0] if v.ndim == 1 else v[0, 0] for k, v in as_grad_dict(tuple(g), params).items()} == \
        {"W1": 0, "b1": 1, "W2": 2, "b2": 3}
    assert list(as_grad_dict((2.3, *g), params)) == ["W1", "b1", "W2", "b2"]  # (loss, dW1, db1, ...)
    nested = as_grad_dict(([g[0], g[2]], [g[1], g[3]]), params)  # ([dW1, dW2], [db1, db2])
    assert all(nested[k] is v for k, v in zip(["W1", "W2", "b1", "b2"], g[::2] + g[1::2]))
    cached = dict(params, z=np.ones((5, 3)))  # an object's cached activation among its arrays
    assert set(as_grad_dict(tuple(g), cached)) == set(params)
    assert as_grad_dict(("no", *g), params)[0] == "no"  # anything else: left as it is, not guessed


def test_predict_rows_not_summing_to_one_are_softmax_axis_only_when_normalised_over_the_batch():
    from fastnn._doctor_probes import check_predict_rows
    a = np.random.default_rng(0).normal(size=(8, 10))
    e = np.exp(a - a.max())
    assert check_predict_rows(e / e.sum(axis=1, keepdims=True)) is None  # a softmax per row
    assert check_predict_rows(e / e.sum()).code == "softmax-axis"  # over the whole batch
    assert check_predict_rows(e / e.sum(axis=0)).code == "softmax-axis"  # over each column
    assert check_predict_rows(1 / (1 + np.exp(-a))) is None  # independent sigmoids (a squared-error net)


@pytest.mark.parametrize("lr", [1e-7])
def test_watch_a_float32_step_too_small_to_move_the_loss_is_the_learning_rate_not_a_lost_update(run_watched, lr):
    """In float32 a step of lr 1e-7 can leave the loss exactly as it was: a 100x larger one moves it, so the
    forward does read the updated arrays (update-lost-forward would say it does not)."""
    source = WATCHED.replace('          "W2": 0.1 * rng.normal(size=(16, 10)), "b2": np.zeros(10)}',
                             '          "W2": 0.1 * rng.normal(size=(16, 10)), "b2": np.zeros(10)}\n'
                             'params = {k: v.astype(np.float32) for k, v in params.items()}\n'
                             'x_train, t_train = x_train.astype(np.float32), t_train.astype(np.float32)')
    source = source.replace("learning_rate = 0.5", f"learning_rate = {lr}")
    report = run_watched(source, "--json")
    assert report["measured"]["loss_after"] == report["measured"]["loss_before"]
    assert [f["code"] for f in report["findings"]][:1] == ["learning-rate"], report["findings"]


def test_watch_a_parameter_the_update_loop_misses_is_named(run_watched):
    """The other side of the test below: b2's gradient is a usual one and the loop never applies it."""
    source = WATCHED.replace("    for key in params:\n", "    for key in (\"W1\", \"b1\", \"W2\"):\n")
    assert source != WATCHED
    report = run_watched(source, "--json")
    assert [(f["code"], f["param"]) for f in report["findings"]][:1] == [("update-lost", "b2")], report["findings"]


def test_watch_gradients_too_small_to_move_any_weight_are_no_lost_update(run_watched):
    """A sigmoid clipped the wrong way round outputs sigmoid(-500) ~ 7e-218 everywhere: the gradients are ~1e-218
    and no learning rate moves a weight by them; the update is not what is broken."""
    source = WATCHED.replace("    return 1 / (1 + np.exp(-x))", "    return 1 / (1 + np.exp(-np.clip(x, 500, -500)))")
    report = run_watched(source, "--json")
    codes = [f["code"] for f in report["findings"]]
    assert codes and "update-lost" not in codes, report["findings"]


def test_watch_a_gradient_with_dropout_is_not_compared_with_the_loss(run_watched):
    """gradient() with dropout in training mode (another result at each call) against a deterministic loss:
    not a backprop bug; the check is listed as not made, with why."""
    source = WATCHED.replace("    dz1 = (dy @ params[\"W2\"].T) * z1 * (1 - z1)",
                             "    keep = rng.random(z1.shape) > 0.2\n"
                             "    dz1 = (dy @ params[\"W2\"].T) * z1 * (1 - z1) * keep / 0.8")
    assert "keep = rng" in source
    report = run_watched(source, "--json")
    assert report["findings"] == [], report["findings"]
    assert any(n[0] == "gradient" and "another result" in n[1] for n in report["not_checked"]), report["not_checked"]


def test_watch_reports_the_learners_error_as_theirs(run_watched):
    source = WATCHED.replace("    return -np.sum(t * np.log(y + 1e-7)) / len(x)",
                             "    return -np.sum(t * np.log(y + 1e-7)) / len(x) + undefined_name")
    out = run_watched(source)
    assert "NameError" in out and "learner.py:" in out and "Traceback" not in out


def test_watch_speaks_chinese(run_watched):
    out = run_watched(WATCHED.replace("params[key] -= learning_rate", "params[key] += learning_rate"), "--lang", "zh")
    assert "程序自己的输出" in out and "[update-sign]" in out and "梯度下降应减去梯度" in out


def test_watch_keeps_the_programs_files_out_of_its_folder(run_watched, tmp_path):
    source = WATCHED.replace("for step in range(1000):", "np.save('weights.npy', params['W1'])\n"
                             "with open('log.txt', 'w') as f:\n    f.write('start')\n"
                             "assert open('log.txt').read() == 'start'  # reads see the program's own writes\n"
                             "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()\n"
                             "for step in range(1000):")
    report = run_watched(source, "--json")
    assert report["program_error"] is None and report["steps"] == 3, report
    assert sorted(p.name for p in tmp_path.iterdir()) == ["learner.py"]


def test_static_runs_nothing_of_the_top_level(run_watched, tmp_path):
    source = WATCHED.replace("for step in range(1000):", "open('touched.txt', 'w').close()\nfor step in range(1000):")
    source += "\nclass TwoLayerNet:\n    def __init__(self, i, h, o):\n" \
              "        self.params = {'W1': np.zeros((i, h)) + 0.01}\n    def loss(self, x, t):\n        return 1.0\n"
    out = run_watched(source, "--static")
    assert "definitions only" in out and not (tmp_path / "touched.txt").exists()
    assert "\n0 " not in out  # the training loop's prints never ran


TRAIN_STEP = '''
import numpy as np

rng = np.random.default_rng(0)
centres = rng.normal(size=(10, 20))
labels = rng.integers(0, 10, 300)
x_train = np.clip(0.5 + 0.2 * (centres[labels] + 0.3 * rng.normal(size=(300, 20))), 0, 1)


class Net:
    def __init__(self, lr):
        self.params = {"W1": rng.normal(0, 0.1, (20, 16)), "b1": np.zeros(16),
                       "W2": rng.normal(0, 0.1, (16, 10)), "b2": np.zeros(10)}
        self.lr = lr

    def predict(self, x):
        h = 1 / (1 + np.exp(-(x @ self.params["W1"] + self.params["b1"])))
        s = h @ self.params["W2"] + self.params["b2"]
        e = np.exp(s - s.max(axis=1, keepdims=True))
        return h, e / e.sum(axis=1, keepdims=True)

    def loss(self, x, t):
        return -np.mean(np.log(self.predict(x)[1][np.arange(len(t)), t] + 1e-7))

    def train_step(self, x, t):  # backprop written inline: no gradient() to call
        h, p = self.predict(x)
        d = p.copy()
        d[np.arange(len(t)), t] -= 1
        d /= len(t)
        dh = (d @ self.params["W2"].T) * h * (1 - h)
        g = {"W1": x.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
        for k in self.params:
            self.params[k] -= self.lr * g[k]


net = Net(0.5)
for i in range(1000):
    batch = rng.choice(300, 32)
    net.train_step(x_train[batch], labels[batch])
'''


@pytest.mark.parametrize("old,new,code", [
    (None, None, None),
    ("net = Net(0.5)", "net = Net(0)", "learning-rate"),
    ("net = Net(0.5)", "net = Net(1e5)", "learning-rate"),
    ("self.params[k] -= self.lr", "self.params[k] += self.lr", "update-sign"),
])
def test_watch_a_train_step_without_gradient(run_watched, old, new, code):
    source = TRAIN_STEP if old is None else TRAIN_STEP.replace(old, new)
    report = run_watched(source, "--json")
    assert report["steps"] == 3
    assert [f["code"] for f in report["findings"]][:1] == ([code] if code else []), report["findings"]


def test_an_unused_softmax_is_not_probed_a_used_one_is(run_watched):
    ch3 = "\ndef softmax_ch3(a):\n    e = np.exp(a - np.max(a))\n    return e / np.sum(e)\n\n\nparams = "
    unused = WATCHED.replace("\nparams = ", ch3, 1)
    assert run_watched(unused, "--json")["findings"] == []
    used = unused.replace("    y = softmax(sigmoid(x @", "    y = softmax_ch3(sigmoid(x @")
    assert [f["code"] for f in run_watched(used, "--json")["findings"]][:1] == ["softmax-axis"]


def test_row_vector_biases_are_not_symmetric_weights(run_watched):
    source = WATCHED.replace('"b1": np.zeros(16)', '"b1": np.zeros((1, 16))').replace(
        '"b1": dz1.sum(axis=0)', '"b1": dz1.sum(axis=0, keepdims=True)')
    assert run_watched(source, "--json")["findings"] == []


GLOBALS = '''
import numpy as np

rng = np.random.default_rng(0)
centres = rng.normal(size=(10, 20))
labels = rng.integers(0, 10, 300)
x_train = np.clip(0.5 + 0.2 * (centres[labels] + 0.3 * rng.normal(size=(300, 20))), 0, 1)
t_train = np.eye(10)[labels]
W1, b1 = 0.1 * rng.normal(size=(20, 16)), np.zeros(16)
W2, b2 = 0.1 * rng.normal(size=(16, 10)), np.zeros(10)


def loss(x, t):
    y = 1 / (1 + np.exp(-(x @ W1 + b1))) @ W2 + b2
    e = np.exp(y - y.max(axis=1, keepdims=True))
    return -np.sum(t * np.log(e / e.sum(axis=1, keepdims=True) + 1e-7)) / len(x)


def gradient(x, t):
    z1 = 1 / (1 + np.exp(-(x @ W1 + b1)))
    s = z1 @ W2 + b2
    e = np.exp(s - s.max(axis=1, keepdims=True))
    dy = (e / e.sum(axis=1, keepdims=True) - t) / len(x)
    dz1 = (dy @ W2.T) * z1 * (1 - z1)
    return x.T @ dz1, dz1.sum(axis=0), z1.T @ dy, dy.sum(axis=0)


for i in range(1000):
    batch = rng.choice(300, 32)
    dW1, db1, dW2, db2 = gradient(x_train[batch], t_train[batch])
    W1, b1, W2, b2 = W1 - 0.5 * dW1, b1 - 0.5 * db1, W2 - 0.5 * dW2, b2 - 0.5 * db2
'''


@pytest.mark.parametrize("old,new,code,param", [
    (None, None, None, None),
    ("dz1 = (dy @ W2.T) * z1 * (1 - z1)", "dz1 = (dy @ W2.T) * z1", "backprop-mismatch", "W1"),
    ("W2 - 0.5 * dW2", "W2 + 0.5 * dW2", "update-sign", "W2"),  # the one line that climbs
])
def test_watch_parameters_kept_as_globals(run_watched, old, new, code, param):
    source = GLOBALS if old is None else GLOBALS.replace(old, new)
    report = run_watched(source, "--json")
    assert report["steps"] == 3
    got = [(f["code"], f["param"]) for f in report["findings"]][:1]
    assert got == ([(code, param)] if code else []), report["findings"]


PER_PARAMETER = '''
import numpy as np

rng = np.random.default_rng(0)
centres = rng.normal(size=(10, 20))
labels = rng.integers(0, 10, 300)
x_train = np.clip(0.5 + 0.2 * (centres[labels] + 0.3 * rng.normal(size=(300, 20))), 0, 1)
t_train = np.eye(10)[labels]


def softmax(a):
    a = a - a.max(axis=1, keepdims=True)
    return np.exp(a) / np.exp(a).sum(axis=1, keepdims=True)


def numerical_gradient(f, x):
    h = 1e-4
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        idx = it.multi_index
        tmp_val = x[idx]
        x[idx] = float(tmp_val) + h
        fxh1 = f(x)
        x[idx] = tmp_val - h
        fxh2 = f(x)
        grad[idx] = (fxh1 - fxh2) / (2 * h)
        x[idx] = tmp_val
        it.iternext()
    return grad


class Net:
    def __init__(self):
        self.params = {"W1": 0.1 * rng.normal(size=(20, 16)), "b1": np.zeros(16),
                       "W2": 0.1 * rng.normal(size=(16, 10)), "b2": np.zeros(10)}

    def predict(self, x):
        z1 = 1 / (1 + np.exp(-(x @ self.params["W1"] + self.params["b1"])))
        return softmax(z1 @ self.params["W2"] + self.params["b2"])

    def loss(self, x, t):
        return -np.sum(t * np.log(self.predict(x) + 1e-7)) / len(x)


def main():
    net = Net()
    lr = 0.5
    for step in range(1000):
        batch = rng.choice(300, 32)
        x_batch, t_batch = x_train[batch], t_train[batch]
        f = lambda W: net.loss(x_batch, t_batch)
        grads = {}
        for key in ("W1", "b1", "W2", "b2"):
            grads[key] = numerical_gradient(f, net.params[key])
        for key in ("W1", "b1", "W2", "b2"):
            net.params[key] -= lr * grads[key]


main()
'''

# the same network trained at module level, its update made right after each parameter's gradient
_HEAD, _MAIN = PER_PARAMETER.split("\ndef main():\n")
INTERLEAVED = _HEAD + textwrap.dedent(_MAIN.replace("\n\nmain()\n", "\n")).replace('''grads = {}
    for key in ("W1", "b1", "W2", "b2"):
        grads[key] = numerical_gradient(f, net.params[key])
    for key in ("W1", "b1", "W2", "b2"):
        net.params[key] -= lr * grads[key]''', '''for key in ("W1", "b1", "W2", "b2"):
        g = numerical_gradient(f, net.params[key])
        net.params[key] -= lr * g''')
assert "main" not in INTERLEAVED and "grads" not in INTERLEAVED

# parameters as module globals, read by a loss of the batch: f ignores its argument
GLOBAL_ARRAYS = PER_PARAMETER.split("class Net:")[0] + '''W1, b1 = 0.1 * rng.normal(size=(20, 16)), np.zeros(16)
W2, b2 = 0.1 * rng.normal(size=(16, 10)), np.zeros(10)


def loss(x, t):
    y = softmax(1 / (1 + np.exp(-(x @ W1 + b1))) @ W2 + b2)
    return -np.sum(t * np.log(y + 1e-7)) / len(x)


for step in range(1000):
    batch = rng.choice(300, 32)
    xb, tb = x_train[batch], t_train[batch]
    f = lambda _: loss(xb, tb)
    dW1, db1 = numerical_gradient(f, W1), numerical_gradient(f, b1)
    dW2, db2 = numerical_gradient(f, W2), numerical_gradient(f, b2)
    W1 -= 0.5 * dW1
    b1 -= 0.5 * db1
    W2 -= 0.5 * dW2
    b2 -= 0.5 * db2
'''


# the batch bound as the lambda's defaults
DEFAULTS = PER_PARAMETER.replace("f = lambda W: net.loss(x_batch, t_batch)",
                                 "f = lambda W, x=x_batch, t=t_batch: net.loss(x, t)")


# each element restored by arithmetic (+h, -2h, +h): back to within a few ulps, not bit for bit
ARITHMETIC = PER_PARAMETER.replace("x[idx] = float(tmp_val) + h", "x[idx] += h").replace(
    "x[idx] = tmp_val - h", "x[idx] -= 2 * h").replace("x[idx] = tmp_val\n", "x[idx] += h\n")


@pytest.mark.parametrize("source", [PER_PARAMETER, INTERLEAVED, GLOBAL_ARRAYS, DEFAULTS, ARITHMETIC],
                         ids=["closure", "interleaved", "globals", "defaults", "restored-by-arithmetic"])
def test_watch_a_numerical_gradient_called_once_per_parameter_is_a_step(run_watched, source):
    """numerical_gradient(f, W) for each parameter with f = lambda W: net.loss(x, t) (the book's simpleNet way,
    used to train): the calls of one step are one step, the loss is f on the batch f reads, and the program's
    numerical gradient is compared with the doctor's."""
    assert source.count("numerical_gradient(f, ") >= 2
    report = run_watched(source, "--json", "--steps", "3")
    assert report["findings"] == [] and report["steps"] == 3, report
    checked = report["measured"]["numerical_gradient"]
    assert sorted(checked) == ["W1", "W2", "b1", "b2"] and all(c["pattern"] == "agree" for c in checked.values())
    first = report["measured"]["first_update"]
    assert sorted(first) == ["W1", "W2", "b1", "b2"] and all(m["changed"] for m in first.values()), first
    assert report["measured"]["lr"] == pytest.approx(0.5, rel=1e-6)  # every parameter's update against its own gradient


@pytest.mark.parametrize("source,old,new,code,param", [
    (PER_PARAMETER, "a = a - a.max(axis=1, keepdims=True)\n    return np.exp(a) / np.exp(a).sum(axis=1, keepdims=True)",
     "return np.exp(a) / np.exp(a).sum()", "softmax-axis", None),
    (PER_PARAMETER, "/ len(x)", "", "loss-not-averaged", None),
    (PER_PARAMETER, "net.params[key] -= lr * grads[key]", "net.params[key] += lr * grads[key]", "update-sign", None),
    (PER_PARAMETER, "net.params[key] -= lr * grads[key]", "W = net.params[key].copy()\n            W -= lr * grads[key]",
     "update-lost", None),
    (PER_PARAMETER, "x_batch, t_batch = x_train[batch], t_train[batch]",
     "x_batch, t_batch = x_train[batch] * 255, t_train[batch]", "input-scale", None),
    (PER_PARAMETER, "grad[idx] = (fxh1 - fxh2) / (2 * h)", "grad[idx] = (fxh1 - fxh2) / h", "numgrad-mismatch", None),
    (INTERLEAVED, "grad[idx] = (fxh1 - fxh2) / (2 * h)", "grad[idx] = (fxh1 - fxh2) / h", "numgrad-mismatch", None),
    (GLOBAL_ARRAYS, "b2 -= 0.5 * db2", "b2 - 0.5 * db2", "update-lost", "b2"),
])
def test_watch_names_the_bug_of_a_per_parameter_numerical_gradient_program(run_watched, source, old, new, code, param):
    assert old in source
    report = run_watched(source.replace(old, new), "--json")
    got = [(f["code"], f["param"]) for f in report["findings"]][:1]
    assert got == [(code, param)], report["findings"]


def _slow_subject(numgrad_delay, loss_delay=0.0):
    """A one-layer softmax regression whose loss waits ``loss_delay`` (so the doctor's estimate of a full
    element loop is large) and whose numerical gradient waits ``numgrad_delay`` then returns the true one."""
    import time
    from fastnn import reference as ref
    from fastnn._doctor_examine import Subject
    rng = np.random.default_rng(0)
    params = {"W": 0.1 * rng.standard_normal((6, 3)), "b": np.zeros(3)}

    def loss(x, t):
        time.sleep(loss_delay)
        return ref.cross_entropy_error(ref.softmax(x @ params["W"] + params["b"]), t)

    def numerical_gradient(x, t):
        params["W"][0, 0] += 1.0  # a perturbation in flight when the doctor stops the call
        time.sleep(numgrad_delay)
        params["W"][0, 0] -= 1.0
        # the true gradient without a loss per element (standing in for a loop that makes far fewer calls)
        d = (ref.softmax(x @ params["W"] + params["b"]) - np.eye(3)[t]) / len(x)
        return {"W": x.T @ d, "b": d.sum(axis=0)}

    return Subject(params=params, loss=loss, numerical_gradient=numerical_gradient), rng.random((4, 6)), \
        np.array([0, 1, 2, 0])


def test_doctor_stops_a_learner_numerical_gradient_at_its_budget_and_restores_the_parameters():
    from fastnn._doctor_examine import examine
    subject, x, t = _slow_subject(numgrad_delay=30.0)
    before = {k: v.copy() for k, v in subject.params.items()}
    exam = examine(subject, x, t, numgrad_budget=0.5)  # a call left to finish would be judged, not "stopped"
    assert ("numerical_gradient", "stopped") in [(c, k) for c, k, _ in exam.not_checked]
    for key in before:
        np.testing.assert_array_equal(subject.params[key], before[key])


def test_doctor_runs_a_quick_numerical_gradient_even_when_a_full_loop_would_exceed_the_budget():
    """The estimate assumes two losses per element; a learner's loop that does far fewer (over rows only,
    say) still finishes, and is checked, rather than skipped on the estimate."""
    from fastnn._doctor_examine import examine
    subject, x, t = _slow_subject(numgrad_delay=0.0, loss_delay=0.005)  # 2 * 21 losses * 5 ms: estimate 0.27 s
    exam = examine(subject, x, t, numgrad_budget=0.1)
    assert "numerical_gradient" in exam.measured
    assert "numerical_gradient" not in [c for c, _, _ in exam.not_checked]


class _KinkNet:
    """A relu net whose hidden unit 0 sits 3e-6 from its kink for example 0 (inside the doctor's h = 1e-5)
    and is off for the other examples: a central difference at h straddles the kink for b1[0] and W1[:, 0]
    (it gives ~0.65 of their slope), which a check must not take for a wrong gradient."""

    def __init__(self, scale=1.0, first_layer_dtype=np.float64):
        self.first_layer_dtype = first_layer_dtype
        rng = np.random.default_rng(3)
        self.x = np.abs(rng.normal(size=(4, 3))) + 0.5
        self.x[0] *= 0.2  # the smallest input along W1[:, 0], so the unit is off for the others
        self.t = np.array([0, 1, 0, 1])
        self.scale = scale
        self.params = {"W1": rng.normal(size=(3, 4)), "b1": np.zeros(4), "W2": rng.normal(size=(4, 2)),
                       "b2": rng.normal(size=2)}
        W1 = self.params["W1"]
        W1[:, 0] = -np.abs(W1[:, 0])
        self.params["b1"][0] = 3e-6 - self.x[0] @ W1[:, 0]
        z = self.x @ W1 + self.params["b1"]
        assert 0 < z[0, 0] < 1e-5 and np.all(z[1:, 0] < -1e-3)

    def _forward(self):
        p = self.params
        f = self.first_layer_dtype
        z = (self.x.astype(f) @ p["W1"].astype(f) + p["b1"].astype(f)).astype(np.float64)
        a = np.maximum(z, 0)
        s = a @ p["W2"] + p["b2"]
        s = s - s.max(axis=1, keepdims=True)
        y = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
        return z, a, y

    def loss(self):
        y = self._forward()[2]
        return -np.mean(np.log(y[np.arange(len(self.t)), self.t]))

    def gradient(self):
        p = self.params
        z, a, y = self._forward()
        dy = y.copy()
        dy[np.arange(len(self.t)), self.t] -= 1
        dy /= len(self.t)
        dz = (dy @ p["W2"].T) * (z > 0)
        g = {"W1": self.x.T @ dz, "b1": dz.sum(0), "W2": a.T @ dy, "b2": dy.sum(0)}
        return {k: v * self.scale for k, v in g.items()}


@pytest.mark.parametrize("scale,expected", [(1.0, []), (4.0, [("backprop-scale", None)]),
                                            (-1.0, [("backprop-sign", None)])])
def test_a_relu_kink_inside_the_step_is_not_taken_for_a_wrong_gradient(scale, expected):
    from fastnn import _doctor_gradients as grads
    net = _KinkNet(scale)
    theirs = net.gradient()
    rng = np.random.default_rng(0)
    naive = grads.central_difference(net.loss, net.params["b1"], (0,), grads.step_for(net.params["b1"]))
    exact = net.gradient()["b1"][0] / scale
    assert abs(naive - exact) > 0.2 * abs(exact)  # the plain difference is spoiled here...
    ref = grads.reference_values(net.params, net.loss, rng, theirs)
    for key, (idx, ours) in ref.items():  # ...the doctor's reference is not
        np.testing.assert_allclose(ours, [theirs[key][i] / scale for i in idx], rtol=1e-5, atol=1e-9)
    results = grads.compare(net.params, ref, theirs)
    got = [(f.code, f.param) for f in grads.backprop_findings(net.params, results, len(net.x))]
    assert got == expected, results


def test_a_central_difference_divides_by_the_step_a_float32_array_holds():
    """100 + 1e-4 is stored in float32 as 100 + 13 * 2^-17 (9.918e-5): a linear loss of it, computed in
    float64, has slope 2 only when the difference divides by the stored step (by 2h it is 0.8% off)."""
    from fastnn import _doctor_gradients as grads
    w = np.array([100.0, -3.0], dtype=np.float32)

    def loss():
        return 2.0 * float(w[0]) + float(w[1]) ** 2

    assert abs(float(np.float32(100.0) + np.float32(1e-4)) - 100.0 - 1e-4) > 5e-7
    assert grads.central_difference(loss, w, (0,), 1e-4) == pytest.approx(2.0, rel=1e-9)
    assert grads.kink_free_difference(loss, w, (0,), 1e-2, refine=True) == pytest.approx(2.0, rel=1e-9)
    np.testing.assert_array_equal(w, np.array([100.0, -3.0], dtype=np.float32))


class _Kink32Net:
    """_KinkNet's relu net as a learner writes it in float32 (float32 parameters, float32 inputs, loss(x, t) and
    gradient(x, t)): hidden unit 0 sits 3e-5 from its kink for example 0, inside the float32 step (1e-2) of
    b1[0] and inside the step of a float64 loss of float32 parameters (1e-4) as well. cast: the learner's loss casts its input back to float32 (then no float64 loss is to be had)."""

    def __init__(self, scale=1.0, cast=False):
        rng = np.random.default_rng(3)
        self.x = (np.abs(rng.normal(size=(4, 3))) + 0.5).astype(np.float32)
        self.x[0] *= np.float32(0.2)
        self.t = np.array([0, 1, 0, 1])
        self.scale, self.cast = scale, cast
        p = {"W1": rng.normal(size=(3, 4)), "b1": np.zeros(4), "W2": rng.normal(size=(4, 2)), "b2": rng.normal(size=2)}
        p["W1"][:, 0] = -np.abs(p["W1"][:, 0])
        self.params = {k: v.astype(np.float32) for k, v in p.items()}
        self.params["b1"][0] = np.float32(3e-5) - self.x[0] @ self.params["W1"][:, 0]
        z = self.x.astype(np.float64) @ self.params["W1"] + self.params["b1"]
        assert 2e-5 < z[0, 0] < 4e-5 and np.all(z[1:, 0] < -0.1)

    def _forward(self, x):
        p = self.params
        z = (x.astype(np.float32) if self.cast else x) @ p["W1"] + p["b1"]
        a = np.maximum(z, 0)
        s = a @ p["W2"] + p["b2"]
        s = s - s.max(axis=1, keepdims=True)
        return z, a, np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)

    def loss(self, x, t):
        y = self._forward(x)[2]
        return -np.mean(np.log(y[np.arange(len(t)), t]))

    def gradient(self, x, t):
        z, a, y = self._forward(x)
        dy = y.copy()
        dy[np.arange(len(t)), t] -= 1
        dy /= len(t)
        dz = (dy @ self.params["W2"].T) * (z > 0)
        g = {"W1": x.T @ dz, "b1": dz.sum(0), "W2": a.T @ dy, "b2": dy.sum(0)}
        return {k: v * self.scale for k, v in g.items()}


@pytest.mark.parametrize("inputs", [np.float32, np.float64])
@pytest.mark.parametrize("scale,expected", [(1.0, []), (4.0, [("backprop-scale", None)]),
                                            (-1.0, [("backprop-sign", None)])])
def test_a_float32_relu_net_with_a_kink_inside_the_float32_step_gets_the_right_finding(scale, expected, inputs):
    """The doctor's reference for float32 parameters is the learner's loss on the inputs in float64 (float32
    inputs cast: NumPy then computes in float64), refined around kinks as for float64 networks: the plain
    float32-step difference straddles the kink for b1[0] and spoils a quarter of b1 (a false backprop-mismatch
    before, with float32 inputs and with float64 ones)."""
    from fastnn import _doctor_examine as examine
    from fastnn import _doctor_gradients as grads
    net = _Kink32Net(scale)
    net.x = net.x.astype(inputs)
    subject = examine.Subject(params=net.params, loss=net.loss, gradient=net.gradient)
    theirs = net.gradient(net.x, net.t)

    def loss():
        return float(net.loss(net.x, net.t))

    exact = float(theirs["b1"][0]) / scale
    x64 = net.x.astype(np.float64)
    for h, at in ((grads.step_for(net.params["b1"]), loss),
                  (grads.step_for(net.params["b1"], precise=True), lambda: float(net.loss(x64, net.t)))):
        naive = grads.central_difference(at, net.params["b1"], (0,), h)
        assert abs(naive - exact) > 0.1 * abs(exact), h  # a plain difference at either step is spoiled here...
    ref, precision = examine._reference(subject, net.x, net.t, loss, np.random.default_rng(0), theirs, 12)
    assert precision == "precise32"
    for key, (idx, ours) in ref.items():  # ...the doctor's reference is not
        np.testing.assert_allclose(ours, [theirs[key][i] / scale for i in idx], rtol=1e-3, atol=1e-6, err_msg=key)
    results = grads.compare(net.params, ref, theirs, precision=precision)
    assert [(f.code, f.param) for f in grads.backprop_findings(net.params, results, len(net.x))] == expected, results
    for key, value in _Kink32Net(scale).params.items():  # every perturbation undone
        np.testing.assert_array_equal(net.params[key], value, err_msg=key)


def test_a_loss_that_casts_its_input_to_float32_gets_the_plain_float32_reference(monkeypatch):
    """Where the loss is computed in float32 whatever the inputs (the learner casts them), there are no more
    digits to refine with, and the reference is the float32 one (refining a float32 loss could keep a noisy
    step). A Python float counts by its digits: float64 where it holds more than float32 can."""
    from fastnn import _doctor_examine as examine
    from fastnn import _doctor_gradients as grads
    seen = []
    real = grads.reference_values
    monkeypatch.setattr(grads, "reference_values", lambda *a, **k: seen.append(k.get("precise", False)) or real(*a, **k))
    for cast, inputs, python_float in ((False, np.float32, False), (True, np.float32, False),
                                       (False, np.float64, False), (True, np.float64, False),
                                       (False, np.float64, True), (True, np.float64, True),
                                       (False, np.float32, True), (True, np.float32, True)):
        net = _Kink32Net(cast=cast)
        net.x = net.x.astype(inputs)
        learner_loss = (lambda x, t, net=net: float(net.loss(x, t))) if python_float else net.loss
        subject = examine.Subject(params=net.params, loss=learner_loss, gradient=net.gradient)
        examine._reference(subject, net.x, net.t, lambda: float(net.loss(net.x, net.t)), np.random.default_rng(0),
                           net.gradient(net.x, net.t), 12)
    # float32 inputs: float64 ones unless cast back; float64 inputs: a float64 loss unless cast; a Python float
    # likewise, told by its digits
    assert seen == [True, False, True, False, True, False, True, False]


class _Float32LossNet:
    """A sigmoid net with float64 parameters and inputs whose learner casts the logits to float32 for the softmax
    and the loss (which comes back as a float32 number); cast=False: all in float64. w1_factor scales their W1
    gradient only."""

    def __init__(self, scale=1.0, w1_factor=1.0, cast=True):
        rng = np.random.default_rng(5)
        self.x = rng.random((16, 6))
        self.t = rng.integers(0, 3, 16)
        self.params = {"W1": rng.normal(size=(6, 5)), "b1": np.zeros(5), "W2": rng.normal(size=(5, 3)),
                       "b2": np.zeros(3)}
        self.scale, self.w1_factor, self.cast = scale, w1_factor, cast

    def _forward(self, x):
        p = self.params
        a = 1 / (1 + np.exp(-(x @ p["W1"] + p["b1"])))
        s = (a @ p["W2"] + p["b2"]).astype(np.float32 if self.cast else np.float64)
        s = s - s.max(axis=1, keepdims=True)
        return a, np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)

    def loss(self, x, t):
        y = self._forward(x)[1]
        return -np.mean(np.log(y[np.arange(len(t)), t]))

    def gradient(self, x, t):
        a, y = self._forward(x)
        dy = y.astype(np.float64)
        dy[np.arange(len(t)), t] -= 1
        dy /= len(t)
        dz = (dy @ self.params["W2"].T) * a * (1 - a)
        g = {"W1": self.w1_factor * (x.T @ dz), "b1": dz.sum(0), "W2": a.T @ dy, "b2": dy.sum(0)}
        return {k: v * self.scale for k, v in g.items()}


@pytest.mark.parametrize("scale,expected", [(1.0, []), (16.0, [("backprop-scale", None)])])
def test_float64_parameters_of_a_float32_loss_are_differenced_at_the_float32_step(scale, expected):
    """A step of 1e-5 does not move a float32 loss of ~1 at all (the difference came out 0 for every element: a
    backprop-mismatch of every parameter); a loss that comes back in float32 takes the float32 step."""
    from fastnn import _doctor_examine as examine
    from fastnn import _doctor_gradients as grads
    net = _Float32LossNet(scale)
    subject = examine.Subject(params=net.params, loss=net.loss, gradient=net.gradient)
    theirs = net.gradient(net.x, net.t)
    ref, precision = examine._reference(subject, net.x, net.t, lambda: float(net.loss(net.x, net.t)),
                                        np.random.default_rng(0), theirs, 12)
    assert precision == "float32"
    for key, (idx, ours) in ref.items():
        np.testing.assert_allclose(ours, [theirs[key][i] / scale for i in idx], rtol=3e-2, atol=1e-4, err_msg=key)
    results = grads.compare(net.params, ref, theirs, precision=precision)
    assert [(f.code, f.param) for f in grads.backprop_findings(net.params, results, len(net.x))] == expected, results


@pytest.mark.parametrize("returns", ["numpy", "python"])
def test_a_float64_network_keeps_the_float64_reference_whatever_number_its_loss_returns(returns):
    """Only a loss that comes back as a float32 number is taken for a float32 computation: a float64 network's
    loss returned as a Python float (float(...), .item()) says nothing of that, and keeps the float64 step,
    refinement and tolerance."""
    from fastnn import _doctor_examine as examine
    net = _Float32LossNet(cast=False)
    learner_loss = net.loss if returns == "numpy" else (lambda x, t: float(net.loss(x, t)))
    subject = examine.Subject(params=net.params, loss=learner_loss, gradient=net.gradient)
    ref, precision = examine._reference(subject, net.x, net.t, lambda: float(learner_loss(net.x, net.t)),
                                        np.random.default_rng(0), net.gradient(net.x, net.t), 12)
    assert precision == "float64"


def test_a_float32_network_differenced_in_float64_is_held_to_a_tighter_tolerance():
    """With the loss run in float64 the reference is float64-accurate, so their float32 gradient is held to 1%
    (RTOL_PRECISE32), not to the 3% a float32 difference needs: W1's gradient 0.97 times the right one is a
    finding there (a wrong activation derivative moved W1's by ~6% in a learner's program and passed)."""
    from fastnn import _doctor_examine as examine
    from fastnn import _doctor_gradients as grads
    net = _Kink32Net()
    net.params["b1"][0] -= np.float32(0.5)  # unit 0 away from its kink: nothing to step around here
    wrong = dict(net.gradient(net.x, net.t))
    wrong["W1"] = wrong["W1"] * np.float32(0.97)
    subject = examine.Subject(params=net.params, loss=net.loss, gradient=net.gradient)
    ref, precision = examine._reference(subject, net.x, net.t, lambda: float(net.loss(net.x, net.t)),
                                        np.random.default_rng(0), wrong, 12)
    assert precision == "precise32"
    got = {p: [(f.code, f.param) for f in grads.backprop_findings(
        net.params, grads.compare(net.params, ref, wrong, precision=p), len(net.x))] for p in ("precise32", "float32")}
    assert got == {"precise32": [("backprop-scale", "W1")], "float32": []}, got


@pytest.mark.parametrize("make", [_Kink32Net, _Float32LossNet], ids=["float32-network", "float32-loss"])
@pytest.mark.parametrize("scale,expected", [(1.0, []), (4.0, [("backprop-scale", None)])])
def test_the_examination_judges_a_float32_gradient_at_its_references_precision(make, scale, expected):
    """examine() end to end: the reference's precision reaches the comparison."""
    from fastnn._doctor_examine import Subject, examine
    net = make(scale)
    exam = examine(Subject(params=net.params, loss=net.loss, gradient=net.gradient), net.x, net.t)
    assert [(f.code, f.param) for f in exam.findings if f is not None] == expected, exam.measured.get("gradient")


def test_the_examination_holds_a_float32_network_to_the_tighter_tolerance():
    """examine() end to end: W1's gradient 0.97 times the right one, on a float32 network whose loss runs in
    float64, is named (at the float32 tolerance it would pass)."""
    from fastnn._doctor_examine import Subject, examine
    net = _Kink32Net()
    net.params["b1"][0] -= np.float32(0.5)

    def gradient(x, t):
        g = dict(net.gradient(x, t))
        g["W1"] = g["W1"] * np.float32(0.97)
        return g

    exam = examine(Subject(params=net.params, loss=net.loss, gradient=gradient), net.x, net.t)
    assert [(f.code, f.param) for f in exam.findings if f is not None] == [("backprop-scale", "W1")], \
        exam.measured.get("gradient")


def test_a_kink_between_h_and_h_over_10_is_stepped_around_by_the_second_refinement():
    """A kink 3e-6 above the element: the differences at h and h/10 disagree (h straddles it), those at h/10
    and h/100 agree on the slope below it, so the value at h/10 is kept, not the spoiled one at h."""
    from fastnn import _doctor_gradients as grads
    w = np.array([0.25, -1.0])

    def loss():  # slope 3 below 0.25 + 3e-6, 5 above it
        return float(3.0 * w[0] + 2.0 * max(w[0] - (0.25 + 3e-6), 0.0) + w[1] ** 2)

    h = 1e-5
    assert grads.central_difference(loss, w, (0,), h) == pytest.approx(3.7, rel=1e-6)  # the kink is within h
    assert grads.central_difference(loss, w, (0,), h / 10) == pytest.approx(3.0, rel=1e-8)  # ...not within h/10
    assert grads.kink_free_difference(loss, w, (0,), h) == pytest.approx(3.0, rel=1e-8)
    np.testing.assert_array_equal(w, [0.25, -1.0])


class _CastLoss:
    """A linear loss of a float64 array's float32 values (a learner casting): the cast moves each end of a step
    to float32's spacing near 0.07 (2^-27), which makes a difference at h = 1e-5 off by at most 2.4e-4 of the
    slope, at h/10 by 1.6e-3 and at h/100 by 3.1e-2 here: no two steps agree, and h is the one to keep."""

    slopes = np.array([-0.5, 3.0])

    def __init__(self):
        self.w = np.array([0.3, 0.07])

    def __call__(self):
        return float(np.sum(self.slopes * self.w.astype(np.float32)))


def test_kink_free_difference_keeps_the_step_h_when_a_float32_loss_cannot_resolve_the_finer_steps():
    from fastnn import _doctor_gradients as grads
    loss, h = _CastLoss(), 1e-5
    at = {f: grads.central_difference(loss, loss.w, (1,), h / f) for f in (1, 10, 100)}
    assert abs(at[1] - 3.0) <= 2.4e-4 * 3.0
    assert abs(at[10] - at[1]) > grads.RTOL / 4 * 3.1 and abs(at[100] - at[10]) > grads.RTOL / 4 * 3.1
    assert abs(at[100] - 3.0) > 10 * grads.RTOL * 3.0  # the finest step is rounding, not slope
    kept = grads.kink_free_difference(loss, loss.w, (1,), h)
    assert kept == at[1]
    np.testing.assert_array_equal(loss.w, [0.3, 0.07])


class _CastNet:
    """A sigmoid net with float64 parameters whose learner computes its first layer from float32 copies of
    W1 and b1 (on float64 inputs). W1's magnitudes lie in [1/8, 1/4), where float32's spacing (2^-26) moves
    a central difference at h = 1e-5 by at most 6.1e-4 of the slope, but one at h/100 by 3-4%. Its
    gradient() is the true one."""

    def __init__(self, seed=0):
        rng = np.random.default_rng(seed)
        self.x = rng.random((8, 6))
        self.t = rng.integers(0, 3, 8)
        self.params = {"W1": rng.uniform(0.13, 0.24, (6, 5)) * rng.choice([-1.0, 1.0], (6, 5)),
                       "b1": np.zeros(5), "W2": rng.normal(size=(5, 3)), "b2": np.zeros(3)}

    def _forward(self):
        p = self.params
        z = self.x @ p["W1"].astype(np.float32) + p["b1"].astype(np.float32)  # float64 x: computed in float64
        a = 1 / (1 + np.exp(-z))
        s = a @ p["W2"] + p["b2"]
        s = s - s.max(axis=1, keepdims=True)
        y = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
        return a, y

    def loss(self):
        y = self._forward()[1]
        return -np.mean(np.log(y[np.arange(len(self.t)), self.t]))

    def gradient(self):
        a, y = self._forward()
        dy = y.copy()
        dy[np.arange(len(self.t)), self.t] -= 1
        dy /= len(self.t)
        dz = (dy @ self.params["W2"].T) * a * (1 - a)
        return {"W1": self.x.T @ dz, "b1": dz.sum(0), "W2": a.T @ dy, "b2": dy.sum(0)}


def test_float64_parameters_cast_to_float32_by_the_learner_get_no_false_backprop_mismatch():
    """The doctor's reference for W1 is the difference at h (no two refined steps agree), within RTOL / 3 of
    the true gradient, so a correct backprop gets no finding (the h/100 value would be a backprop-mismatch)."""
    from fastnn import _doctor_gradients as grads
    net = _CastNet()
    theirs = net.gradient()
    ref = grads.reference_values(net.params, net.loss, np.random.default_rng(0), theirs)
    results = grads.compare(net.params, ref, theirs)
    assert [(f.code, f.param) for f in grads.backprop_findings(net.params, results, len(net.x))] == [], results
    for key, (idx, ours) in ref.items():
        np.testing.assert_allclose(ours, [theirs[key][i] for i in idx], rtol=grads.RTOL / 2, atol=1e-9,
                                   err_msg=key)


def test_a_factor_is_measured_past_a_spoiled_element():
    """One element of twelve off by 3% (a kink the reference could not step around) leaves the factor 4,
    not the least-squares fit over all twelve that the spoiled element pulls off by more than RTOL."""
    from fastnn import _doctor_gradients as grads
    ours = np.linspace(1, 2, 12)
    theirs = 4 * ours
    theirs[0] *= 1.3
    r = grads.compare_param("W", [(i,) for i in range(12)], ours, theirs, (12,), atol=1e-12)
    assert r["pattern"] == "factor" and r["factor"] == pytest.approx(4, rel=1e-12), r



@pytest.mark.parametrize("test,always", [
    ("x.all() < -500", False), ("x.any() > 709", False), ("np.all(x) <= -1", False), ("all(x) == 2", False),
    ("-500 > x.any()", False), ("x.all() > -500", True), ("x.any() != 3.5", True),
    ("x.all() == 0", None), ("x.any() < 1", None), ("np.all(x < -500)", None), ("x.max() < -500", None),
    ("x.all(axis=0) < -500", None), ("x.sum() > 1e3", None), ("-x.all() < 2", None),
])
def test_a_guard_is_constant_only_when_one_truth_value_is_compared_with_a_number_outside_0_1(test, always):
    import ast

    from fastnn._doctor_guards import constant_test
    assert constant_test(ast.parse(test, mode="eval").body) is always


def test_a_dead_guard_in_a_layer_method_is_named_with_its_line(tmp_path):
    from fastnn._doctor_guards import dead_guards
    path = tmp_path / "layers_guard.py"
    path.write_text("import numpy as np\n\n\nclass Sigmoid:\n    def forward(self, x):\n"
                    "        self.out = 0.0 if x.any() > 500 else 1 / (1 + np.exp(-x))\n        return self.out\n")
    spec = importlib.util.spec_from_file_location("layers_guard", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found = dead_guards({}, [vars(module)], lambda f: f == str(path))
    assert found.code == "dead-guard" and found.measured["function"] == "Sigmoid.forward"
    assert found.measured["line"] == 6 and found.measured["test"] == "x.any() > 500"
    assert dead_guards({}, [vars(module)], lambda f: False) is None  # only the learner's own files are read


@pytest.mark.parametrize("name,body,template", [
    ("sigmoid", "    if np.all(x < -709):\n        return np.zeros_like(x)\n", "dead-guard-all"),
    ("sigmoid", "    if (x > 500).any():\n        x = np.clip(x, -500, 500)\n", "dead-guard-any"),
    ("sigmoid", "    if x.all() < -500:\n        return 0.0\n", "dead-guard"),
    ("sigmoid", "    x = np.clip(x, -500, 500)\n", None),
    ("sigmoid", "    if np.all(x < 0.5):\n        pass\n", None),  # no overflow threshold
    ("update", "    if np.all(x == 0):\n        print('zero gradient')\n", None),  # a check, not a guard
    ("update", "    if np.any(x > 1e3):\n        print('large')\n", None),
])
def test_a_whole_array_test_is_a_guard_only_in_an_activation_and_against_an_overflow_threshold(tmp_path, name, body,
                                                                                             template):
    from fastnn._doctor_guards import dead_guards
    path = tmp_path / f"guard_{abs(hash((name, body)))}.py"
    path.write_text(f"import numpy as np\n\n\ndef {name}(x):\n{body}    return 1 / (1 + np.exp(-x))\n")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found = dead_guards({name: getattr(module, name)}, [], lambda f: True)
    assert (found and found.template) == template
    if found:
        assert found.measured["line"] == 5 and found.message.startswith(f"{name}() line 5: `if ")


@pytest.mark.parametrize("body,template", [
    ("    if np.any(x > 500):\n        return np.zeros_like(x)\n    return 1 / (1 + np.exp(-x))\n",
     "overflow-sigmoid-values"),
    ("    return 1 / (1 + np.exp(-x)) if np.any(x > 500) else 1 / (1 + np.exp(-x))\n", None),
    ("    return 1 / (1 + np.exp(-np.clip(x, -500, 500)))\n", None),
    ("    return (0.5 * (1 + np.tanh(0.5 * x))).astype(np.float32)\n", None),
    ("    return np.exp(x) / (1 + np.exp(x))\n", "overflow-sigmoid"),
])
def test_a_sigmoid_is_probed_for_its_values_on_extreme_inputs(body, template):
    from fastnn._doctor_probes import probe_activations
    ns = {"np": np}
    exec(f"def sigmoid(x):\n{body}", ns)
    found, notes = probe_activations({"sigmoid": ns["sigmoid"]})
    assert [f.template for f in found] == ([template] if template else []) and not notes


# functions given the network object: train_step(net, x, t) with backprop inline, compute_grads(net, x, t) by
# the per-parameter numerical gradient
NET_ARGUMENT = TRAIN_STEP.replace("    def train_step(self, x, t):  # backprop written inline: no gradient() to call\n",
                                  "    def unused(self, x, t):\n").replace('''net = Net(0.5)
for i in range(1000):
    batch = rng.choice(300, 32)
    net.train_step(x_train[batch], labels[batch])''', '''def train_step(model, x, t):
    h, p = model.predict(x)
    d = p.copy()
    d[np.arange(len(t)), t] -= 1
    d /= len(t)
    dh = (d @ model.params["W2"].T) * h * (1 - h)
    g = {"W1": x.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
    for k in model.params:
        model.params[k] -= model.lr * g[k]


net = Net(0.5)
for i in range(1000):
    batch = rng.choice(300, 32)
    train_step(net, x_train[batch], labels[batch])''')
NET_ARGUMENT_NUMGRAD = PER_PARAMETER.replace('''        f = lambda W: net.loss(x_batch, t_batch)
        grads = {}
        for key in ("W1", "b1", "W2", "b2"):
            grads[key] = numerical_gradient(f, net.params[key])
''', "        grads = compute_grads(net, x_batch, t_batch)\n").replace("def main():", '''def compute_grads(model, x, t):
    f = lambda W: model.loss(x, t)
    return {k: numerical_gradient(f, v) for k, v in model.params.items()}


def main():''')


@pytest.mark.parametrize("source,old,new,code", [
    (NET_ARGUMENT, None, None, None),
    (NET_ARGUMENT, "net = Net(0.5)", "net = Net(0)", "learning-rate"),
    (NET_ARGUMENT, "model.params[k] -= model.lr", "model.params[k] += model.lr", "update-sign"),
    (NET_ARGUMENT_NUMGRAD, None, None, None),
    (NET_ARGUMENT_NUMGRAD, "/ len(x)", "", "loss-not-averaged"),
    (NET_ARGUMENT_NUMGRAD, "grad[idx] = (fxh1 - fxh2) / (2 * h)", "grad[idx] = (fxh1 - fxh2) / h", "backprop-scale"),
])
def test_watch_a_function_given_the_network_object(run_watched, source, old, new, code):
    assert "train_step(net, " in source or "compute_grads(net, " in source
    report = run_watched(source if old is None else source.replace(old, new), "--json")
    assert report["steps"] >= 3, report  # (more when a first step that overshot is followed)
    assert [f["code"] for f in report["findings"]][:1] == ([code] if code else []), report["findings"]


# forward(params, x) -> (y, cache) and backward(params, cache, t), the update rebinding the params dict
FORWARD_CACHE = WATCHED.split("def loss(params, x, t):")[0] + '''def forward(params, x):
    z1 = sigmoid(x @ params["W1"] + params["b1"])
    y = softmax(z1 @ params["W2"] + params["b2"])
    return y, (x, z1, y)


def cross_entropy(y, t):
    return -np.sum(t * np.log(y + 1e-7)) / len(y)


def backward(params, cache, t):
    x, z1, y = cache
    dy = (y - t) / len(x)
    dz1 = (dy @ params["W2"].T) * z1 * (1 - z1)
    return {"W1": x.T @ dz1, "b1": dz1.sum(axis=0), "W2": z1.T @ dy, "b2": dy.sum(axis=0)}


def main():
    params = {"W1": 0.1 * rng.normal(size=(20, 16)), "b1": np.zeros(16),
              "W2": 0.1 * rng.normal(size=(16, 10)), "b2": np.zeros(10)}
    for step in range(1000):
        batch = rng.choice(300, 32)
        y, cache = forward(params, x_train[batch])
        loss = cross_entropy(y, t_train[batch])
        grads = backward(params, cache, t_train[batch])
        params = {k: params[k] - 0.5 * grads[k] for k in params}


main()
'''
REBOUND = WATCHED.replace('''    for key in params:
        params[key] -= learning_rate * grads[key]''', '''    params = {k: params[k] - learning_rate * grads[k] for k in params}''')


@pytest.mark.parametrize("source,old,new,code", [
    (FORWARD_CACHE, None, None, None),
    (FORWARD_CACHE, "params[k] - 0.5 * grads[k]", "params[k] + 0.5 * grads[k]", "update-sign"),
    (FORWARD_CACHE, "dy = (y - t) / len(x)", "dy = (y - t)", "backprop-scale"),
    (FORWARD_CACHE, "dz1 = (dy @ params[\"W2\"].T) * z1 * (1 - z1)", "dz1 = (dy @ params[\"W2\"].T) * z1",
     "backprop-mismatch"),
    (FORWARD_CACHE, "params = {k: params[k] - 0.5 * grads[k] for k in params}",
     "new = {k: params[k] - 0.5 * grads[k] for k in params}", "update-lost"),
    (REBOUND, None, None, None),
    (REBOUND, "learning_rate = 0.5", "learning_rate = 1e-7", "learning-rate"),
])
def test_watch_a_backward_given_its_forward_pass_and_a_rebound_params_dict(run_watched, source, old, new, code):
    """backward(params, cache, t) takes its batch from the forward pass whose cache it is given, and an update
    that rebinds the params dict each step is read through the name the loop holds it by."""
    assert old is None or old in source
    report = run_watched(source if old is None else source.replace(old, new), "--json")
    assert report["steps"] >= 3, report
    assert [f["code"] for f in report["findings"]][:1] == ([code] if code else []), report["findings"]
    if code is None:
        first = report["measured"]["first_update"]
        assert all(m["changed"] and m["cos"] > 0.999 for m in first.values()), first


class _BatchNormNet:
    """loss(x, t, train_flg=False) as the book's MultiLayerNetExtend: batch statistics in training mode (running
    statistics updated), running ones otherwise; ``noise`` adds dropout-like randomness in training mode."""

    def __init__(self, noise=False):
        self.running_mean, self.noise, self.rng = np.zeros(3), noise, np.random.default_rng(0)

    def loss(self, x, t, train_flg=False):
        if train_flg:
            mu = x.mean(axis=0)
            self.running_mean = 0.9 * self.running_mean + 0.1 * mu
            extra = self.rng.random() if self.noise else 0.0
            return float(np.sum((x - mu) ** 2) + extra)
        return float(np.sum((x - self.running_mean) ** 2))


@pytest.mark.parametrize("noise", [False, True])
def test_the_loss_is_judged_in_training_mode_only_where_that_is_deterministic_and_leaves_running_statistics(noise):
    from fastnn._doctor_examine import training_mode
    net, x = _BatchNormNet(noise), np.arange(12.0).reshape(4, 3)
    with training_mode(net.loss, x, None) as flag:
        inside = net.loss(x, None)
    assert flag == (None if noise else "train_flg")
    assert inside == (_BatchNormNet().loss(x, None, train_flg=True) if not noise else float(np.sum(x ** 2)))
    assert net.loss.__func__.__defaults__ == (False,) and np.array_equal(net.running_mean, np.zeros(3))


def test_a_function_with_a_training_flag_is_called_without_it():
    """predict(x, train_flg=False) and loss(x, t, train_flg=False) replayed from a gradient(x, t) call: the flag
    keeps its default (mapped by count, the labels went into train_flg: 'truth value of an array is ambiguous')."""
    from fastnn._doctor_runner import Call
    calls = []

    class Net:
        def predict(self, x, train_flg=False):
            calls.append(("predict", train_flg))
            return x

        def loss(self, x, t, train_flg=False):
            calls.append(("loss", train_flg))
            return 0.0

        def gradient(self, x, t):
            return {}

    net, x, t = Net(), np.ones((2, 3)), np.array([0, 1])
    grad = Call(net.gradient, ["x", "t"], {"x": x, "t": t}, "x", "t")
    grad.like(net.predict)(x)
    grad.like(net.loss)(x, t)

    def forward(inputs, train_flg=False):
        calls.append(("forward", train_flg))
        return inputs
    grad.like(forward)(x)
    assert calls == [("predict", False), ("loss", False), ("forward", False)]


def test_a_random_predict_is_named_and_a_weight_decay_term_is_no_initialisation_problem():
    from fastnn._doctor_examine import Subject, examine
    rng = np.random.default_rng(0)
    x, t = rng.random((32, 8)), rng.integers(0, 4, 32)
    W = 0.1 * rng.standard_normal((8, 4))

    def predict(x):
        return x @ W

    def loss(x, t, decay=30.0):  # cross-entropy plus a large weight decay term
        s = predict(x)
        p = np.exp(s - s.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        return -np.mean(np.log(p[np.arange(len(t)), t])) + decay * np.sum(W ** 2)

    assert loss(x, t) > 2.5 * np.log(4)
    exam = examine(Subject(params={"W": W}, loss=loss, predict=predict), x, t)
    assert [f.code for f in exam.findings if f is not None] == []

    def noisy(x):
        return x @ W * (rng.random(x.shape[0])[:, None] > 0.5)
    exam = examine(Subject(params={"W": W}, loss=loss, predict=noisy), x, t)
    assert [f.code for f in exam.findings if f is not None][:1] == ["predict-random"]


# the cs231n way: loss(X, y) returns (loss, grads) when given labels, the loop inside a train() method
LOSS_AND_GRADS = WATCHED.split("def sigmoid(x):")[0] + '''class TwoLayerNet:
    def __init__(self):
        self.params = {"W1": 0.1 * rng.normal(size=(20, 16)), "b1": np.zeros(16),
                       "W2": 0.1 * rng.normal(size=(16, 10)), "b2": np.zeros(10)}

    def loss(self, X, y=None, reg=1e-4):
        W1, b1, W2, b2 = self.params["W1"], self.params["b1"], self.params["W2"], self.params["b2"]
        N = X.shape[0]
        h = np.maximum(0, X @ W1 + b1)
        scores = h @ W2 + b2
        if y is None:
            return scores
        s = scores - scores.max(axis=1, keepdims=True)
        p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
        loss = -np.log(p[np.arange(N), y]).mean() + reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        d = p.copy()
        d[np.arange(N), y] -= 1
        d /= N
        grads = {"W2": h.T @ d + 2 * reg * W2, "b2": d.sum(axis=0)}
        dh = d @ W2.T
        dh[h <= 0] = 0
        grads["W1"] = X.T @ dh + 2 * reg * W1
        grads["b1"] = dh.sum(axis=0)
        return loss, grads

    def train(self, X, y, learning_rate=0.5, num_iters=1000, batch_size=32):
        for it in range(num_iters):
            idx = rng.choice(X.shape[0], batch_size)
            loss, grads = self.loss(X[idx], y=y[idx])
            for k in self.params:
                self.params[k] -= learning_rate * grads[k]


net = TwoLayerNet()
net.train(x_train, labels)
'''


@pytest.mark.parametrize("old,new,code", [
    (None, None, None),
    ("self.params[k] -= learning_rate", "self.params[k] += learning_rate", "update-sign"),
    ("        dh[h <= 0] = 0\n", "", "backprop-mismatch"),  # relu's mask left out
    ("learning_rate=0.5", "learning_rate=0.0", "learning-rate"),
])
def test_watch_a_loss_that_returns_its_gradient_is_a_step(run_watched, old, new, code):
    assert old is None or old in LOSS_AND_GRADS
    report = run_watched(LOSS_AND_GRADS if old is None else LOSS_AND_GRADS.replace(old, new), "--json")
    assert report["steps"] >= 3 and not any(n[0] == "doctor" for n in report["not_checked"]), report
    assert [f["code"] for f in report["findings"]][:1] == ([code] if code else []), report["findings"]
    assert sorted(report["measured"]["gradient"]) == ["W1", "W2", "b1", "b2"]


def test_watch_keeps_no_frame_of_a_learner_function_with_a_loop_after_it_returns(tmp_path):
    """The inline tracer looks at every frame of the script's functions with loops; it must let each go when it
    returns (a helper with a loop over rows, called thousands of times, kept every frame and its arrays: 4.7 GB)."""
    from fastnn._doctor_runner import Watch
    path = tmp_path / "learner.py"
    path.write_text("import numpy as np\n\n\ndef softmax(a):\n    out = np.empty_like(a)\n"
                    "    for i in range(len(a)):\n        out[i] = np.exp(a[i]) / np.exp(a[i]).sum()\n    return out\n\n\n"
                    "for k in range(300):\n    y = softmax(np.ones((4, 3)))\n")
    import signal
    handler = signal.getsignal(signal.SIGALRM)
    try:
        watch = Watch(str(path), 3, 60.0, 15.0).run()
    finally:
        signal.signal(signal.SIGALRM, handler)
    assert watch.learner_error is None and watch.inline_at is not None
    assert len(watch.inline_at["heads"]) >= 2  # the module's loop and softmax's were looked at
    assert len(watch.inline_at["frames"]) <= 1, len(watch.inline_at["frames"])


def test_watch_says_what_a_path_that_is_not_a_script_is(tmp_path):
    """fastnn.doctor.watch from Python, as the command does: a directory is named as one, not as missing."""
    doctor_module = sys.modules["fastnn.doctor"]  # (fastnn.doctor, the attribute, is the function)
    with pytest.raises(ValueError, match="is a directory, not a Python script"):
        doctor_module.watch(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        doctor_module.watch(tmp_path / "missing.py")
