"""MultiLayerNet / MultiLayerNetExtend (the book's chapter 6): reference gradients and the book's API."""
import numpy as np
import pytest

import fastnn
from fastnn.gradcheck import gradient_check
from helpers import assert_close, fourth_order_gradient

DEPTHS = [[], [6], [6, 5], [6, 5, 4], [5, 5, 5, 5]]
WIDTHS = [[3], [17, 2], [1, 9, 33]]


def data(n=7, d=8, k=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, d)), rng.integers(0, k, n)


def fourth_order(net, x, t, key):
    return fourth_order_gradient(lambda: net.loss(x, t, train_flg=True), net.params[key])


@pytest.mark.parametrize("hidden", DEPTHS, ids=lambda h: f"depth{len(h) + 1}")
@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("decay", [0.0, 0.1])
def test_backprop_matches_fourth_order_differences(hidden, activation, decay, backend):
    x, t = data()
    net = fastnn.MultiLayerNet(8, hidden, 4, activation=activation, weight_init_std=0.5, weight_decay_lambda=decay,
                               seed=1, backend=backend)
    assert net.kernels == ("numpy reference" if backend == "numpy" else backend)
    rng = np.random.default_rng(5)
    for key in [k for k in net.params if k.startswith("b")]:  # zero biases put relu units of dead rows on the kink
        net.params[key] = 0.3 * rng.standard_normal(net.params[key].shape)
    grads = net.gradient(x, t)
    assert set(grads) == set(net.params)
    for key in net.params:
        np.testing.assert_allclose(grads[key], fourth_order(net, x, t, key), rtol=1e-6, atol=1e-9, err_msg=key)


def twins(hidden, activation, backend, dtype, decay=0.1, d=8, k=4):
    """The same network on the reference and on `backend`."""
    kw = dict(activation=activation, weight_init_std=0.5, weight_decay_lambda=decay, seed=1, dtype=dtype)
    ref = fastnn.MultiLayerNet(d, hidden, k, backend="numpy", **kw)
    net = fastnn.MultiLayerNet(d, hidden, k, backend=backend, **kw)
    rng = np.random.default_rng(7)
    for key in [k for k in ref.params if k.startswith("b")]:
        value = 0.3 * rng.standard_normal(ref.params[key].shape)
        ref.params[key], net.params[key] = value, value.copy()
    return ref, net


@pytest.mark.parametrize("hidden", DEPTHS + WIDTHS, ids=lambda h: "x".join(map(str, h)) or "none")
@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_kernels_agree_with_the_reference(hidden, activation, fast_backend, dtype):
    ref, net = twins(hidden, activation, fast_backend, dtype)
    x, t = data(n=37)
    x = x.astype(dtype)
    assert_close(net.predict(x), ref.predict(x), dtype)
    assert_close(net.loss(x, t), ref.loss(x, t), dtype)
    gr, gn = ref.gradient(x, t), net.gradient(x, t)
    assert list(gn) == list(gr)
    for key in gr:
        assert gn[key].dtype == dtype and gn[key].shape == gr[key].shape
        assert_close(gn[key], gr[key], dtype, err_msg=key)


@pytest.mark.parametrize("hidden", [[], [6, 5], [5, 5, 5, 5]], ids=lambda h: f"depth{len(h) + 1}")
@pytest.mark.parametrize("optimizer", ["SGD", "Momentum", "Adam", "AdaGrad"])
def test_compiled_epochs_match_the_reference_loop(hidden, optimizer, fast_backend, dtype):
    """Two epochs with the compiled loop (SGD, Momentum, Adam) or the Python one (others), state carried."""
    ref, net = twins(hidden, "tanh", fast_backend, dtype)
    x, t = data(n=45)
    x = x.astype(dtype)
    extra = {"eps": 1e-8} if optimizer == "Adam" else {}  # scikit-learn's Adam epsilon, not the book's
    opts = [fastnn.optimizers.make_optimizer(optimizer, lr=0.05, **extra) for _ in range(2)]
    W1 = net.params["W1"]
    for epoch in range(2):
        lr_, ln = ref.train_epoch(x, t, 10, opts[0], seed=epoch), net.train_epoch(x, t, 10, opts[1], seed=epoch)
        assert len(net.batch_losses) == 5
        assert_close(net.batch_losses, ref.batch_losses, dtype)
        assert net.batch_correct.dtype == np.int64
        np.testing.assert_allclose(net.batch_correct, ref.batch_correct, atol=0 if dtype == np.float64 else 1)
        assert ln == pytest.approx(lr_, rel=1e-4)
    assert net.params["W1"] is W1  # updated in place: the user's references stay live
    for key in ref.params:
        assert_close(net.params[key], ref.params[key], dtype, scale=10, err_msg=key)
    if optimizer == "Adam":
        assert opts[1].iter == opts[0].iter == 10
        assert_close(opts[1].v["W1"], opts[0].v["W1"], dtype, scale=10)


@pytest.mark.parametrize("hidden", DEPTHS + WIDTHS[1:], ids=lambda h: "x".join(map(str, h)) or "none")
@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("pixels", ["scaled", "raw"])
def test_numerical_gradient_matches_the_reference_loop(hidden, activation, pixels, fast_backend):
    """The series path (scaled inputs) and the exact path (raw 0..255 pixels) against the book's loop."""
    ref, net = twins(hidden, activation, fast_backend, np.float64)
    x, t = data(n=9)
    x[x < 0.3] = 0.0
    if pixels == "raw":
        x = np.round(x * 255)
    slow, fast = ref.numerical_gradient(x, t), net.numerical_gradient(x, t)
    for key in slow:
        np.testing.assert_allclose(fast[key], slow[key], rtol=0, atol=1e-9, err_msg=key)


@pytest.mark.parametrize("hidden", [[6], [6, 5, 4]])
@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_numba_series_agrees_with_its_exact_differences(hidden, activation):
    pytest.importorskip("numba")
    from fastnn._codes import ACTIVATIONS, CROSS_ENTROPY
    from fastnn.backends import _numba
    _, net = twins(hidden, activation, "numba", np.float64)
    x, t = data(n=9)
    theta, sizes = net._theta()
    args = (theta, sizes, x, t, ACTIVATIONS[activation], CROSS_ENTROPY, 0.1, 1e-4, 2)
    assert not _numba.uses_two_layer_numgrad(sizes, args[4], 0.1)  # the MLP's own series
    series, exact = _numba.numerical_gradient(*args), _numba.numerical_gradient(*args, series=False)
    np.testing.assert_allclose(series, exact, rtol=0, atol=1e-11)
    assert np.any(series != exact)  # two computations, not one


@pytest.mark.parametrize("hidden", DEPTHS, ids=lambda h: f"depth{len(h) + 1}")
@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_numerical_gradient_in_float32_is_the_float64_difference_of_the_float32_values(hidden, activation,
                                                                                        fast_backend):
    ref, net = twins(hidden, activation, fast_backend, np.float32)
    x, t = data(n=9)
    x = x.astype(np.float32)
    fast = net.numerical_gradient(x, t)
    ref64 = fastnn.MultiLayerNet(8, hidden, 4, activation=activation, weight_decay_lambda=0.1, backend="numpy")
    ref64.params = {k: v.astype(np.float64) for k, v in net.params.items()}
    slow = ref64.numerical_gradient(x.astype(np.float64), t)
    for key in slow:
        assert fast[key].dtype == np.float32
        assert_close(fast[key], slow[key], np.float32, err_msg=key)


def test_dropout_and_batchnorm_say_they_run_on_the_reference(backend, capsys):
    net = fastnn.MultiLayerNetExtend(8, [5], 4, use_batchnorm=True, backend=backend)
    assert net.kernels == "numpy reference" and net.backend == backend
    assert fastnn.MultiLayerNetExtend(8, [5], 4, use_dropout=True, backend=backend).kernels == "numpy reference"
    x, t = data(n=20)
    fastnn.Trainer(net, x, t, x, t, epochs=1, mini_batch_size=10, verbose=True).train()
    said = "dropout/batchnorm run on the NumPy reference" in capsys.readouterr().out
    assert said == (backend != "numpy")


@pytest.mark.parametrize("hidden", [[6], [6, 5, 4]])
def test_batchnorm_gradient_check_as_in_the_book(hidden):
    x, t = data(n=9)
    net = fastnn.MultiLayerNetExtend(8, hidden, 4, use_batchnorm=True, weight_init_std=0.5, seed=2)
    assert {"gamma1", "beta1"} <= set(net.params)
    result = gradient_check(net, x, t)
    assert result.passed, str(result)


def test_float32_network_agrees_with_float64():
    x, t = data()
    a = fastnn.MultiLayerNet(8, [6, 5], 4, seed=3)
    b = fastnn.MultiLayerNet(8, [6, 5], 4, seed=3, dtype=np.float32)
    ga, gb = a.gradient(x, t), b.gradient(x.astype(np.float32), t)
    for key in ga:
        assert gb[key].dtype == np.float32
        np.testing.assert_allclose(gb[key], ga[key], rtol=1e-3, atol=1e-5)


def test_book_api_predict_loss_decay_and_keys():
    x, t = data()
    net = fastnn.MultiLayerNet(8, [6, 5], 4, weight_decay_lambda=0.5, seed=0)
    assert net.predict(x).shape == (7, 4)  # scores, as the book's predict
    plain = fastnn.MultiLayerNet(8, [6, 5], 4, seed=0)
    decay = 0.25 * sum(np.sum(net.params[f"W{i}"] ** 2) for i in (1, 2, 3))
    assert net.loss(x, t) == pytest.approx(plain.loss(x, t) + decay, rel=1e-12)
    assert net.params["w3"] is net.params["W3"]
    assert net.loss(x, np.eye(4)[t]) == net.loss(x, t)


def test_dropout_trains_and_predicts_as_the_book():
    x, t = data(n=200, d=8)
    net = fastnn.MultiLayerNetExtend(8, [50], 4, use_dropout=True, dropout_ration=0.5, seed=0)
    P = net.params
    hidden = np.maximum(x @ P["W1"] + P["b1"], 0)
    scores_a, cache = net._forward(net._x(x), True)
    mask = cache[0][3]
    assert set(np.unique(mask)) == {0.0, 1.0} and 0.4 < mask.mean() < 0.6
    np.testing.assert_allclose(scores_a, (hidden * mask) @ P["W2"] + P["b2"], rtol=1e-12)  # training: units dropped
    # test mode: every unit kept, scaled by 1 - ratio (the book's Dropout.forward), the same on every call
    expected = (hidden * 0.5) @ P["W2"] + P["b2"]
    np.testing.assert_allclose(net.predict(x), expected, rtol=1e-12)
    np.testing.assert_allclose(net.predict(x), expected, rtol=1e-12)
    assert not np.allclose(net.predict(x, train_flg=True), expected)
    with pytest.raises(ValueError, match="dropout_ration"):
        fastnn.MultiLayerNetExtend(8, [5], 4, use_dropout=True, dropout_ration=1.5)


@pytest.mark.parametrize("kind", ["dropout", "batchnorm"])
def test_reference_epoch_takes_one_training_forward_pass_a_step(kind):
    """Each step of the reference epoch is the loss and gradient of one training-mode forward pass: the loss
    recorded is that of the dropout masks the gradient used, and batchnorm's running statistics move once."""
    x, t = data(n=30)
    kw = dict(use_dropout=True, dropout_ration=0.3) if kind == "dropout" else dict(use_batchnorm=True)
    net, twin = (fastnn.MultiLayerNetExtend(8, [6, 5], 4, seed=0, **kw) for _ in range(2))
    first = (x[:10] @ net.params["W1"] + net.params["b1"]).mean(axis=0)
    net.train_epoch(x, t, 10, fastnn.SGD(0.1), perm=np.arange(30))
    losses = []
    for s in range(0, 30, 10):
        value, grads = twin.loss_and_gradient(x[s:s + 10], t[s:s + 10])
        fastnn.SGD(0.1).update(twin.params, grads)
        losses.append(value)
    np.testing.assert_allclose(net.batch_losses, losses, rtol=1e-12)
    for key in net.params:
        np.testing.assert_allclose(net.params[key], twin.params[key], rtol=1e-12, err_msg=key)
    for i in twin.running:
        np.testing.assert_allclose(net.running[i], twin.running[i], rtol=1e-12)
    if kind == "batchnorm":  # after one step: 0.1 of the first batch's mean (0.19 if it were updated twice)
        once = fastnn.MultiLayerNetExtend(8, [6, 5], 4, seed=0, **kw)
        once.train_epoch(x[:10], t[:10], 10, fastnn.SGD(0.1), perm=np.arange(10))
        np.testing.assert_allclose(once.running[1][0], 0.1 * first, rtol=1e-12)


def test_trains_with_the_trainer_and_every_optimizer():
    from fastnn.datasets import load_digits
    (x, t), (xt, tt) = load_digits()
    net = fastnn.MultiLayerNetExtend(64, [40, 40], 10, use_batchnorm=True, seed=0)
    trainer = fastnn.Trainer(net, x, t, xt, tt, epochs=3, mini_batch_size=50, optimizer="Adam",
                             optimizer_param={"lr": 0.01}, verbose=False, seed=0)
    trainer.train()
    assert trainer.test_acc_list[-1] > 0.9


def test_bad_configuration_is_refused():
    with pytest.raises(ValueError, match="activation must be one of"):
        fastnn.MultiLayerNet(8, [5], 4, activation="elu")
    with pytest.raises(ValueError, match="hidden_size_list\\[1\\] must be a positive integer"):
        fastnn.MultiLayerNet(8, [5, 0], 4)
    with pytest.raises(ValueError, match="weight_decay_lambda"):
        fastnn.MultiLayerNet(8, [5], 4, weight_decay_lambda=-1)


def test_chapter6_examples_run_and_save_their_plots(tmp_path):
    pytest.importorskip("matplotlib")
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "examples" / "ch6_experiments.py"
    spec = importlib.util.spec_from_file_location("ch6_experiments", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    plotted = {}
    plot = module.plot

    def keep_curves(path, title, curves, ylabel):
        plotted[Path(path).name] = curves
        plot(path, title, curves, ylabel)
    module.plot = keep_curves
    module.main(["--quick", "--out", str(tmp_path), "init", "dropout"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dropout.png", "weight_init.png"]
    for path in tmp_path.iterdir():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the chapter's findings: with relu, std 0.01 does not learn (loss stays at ln 10), He learns fastest
    init = {k: np.asarray(v) for k, v in plotted["weight_init.png"].items()}
    assert abs(init["std=0.01"][-1] - np.log(10)) < 0.01
    assert init["He"][-1] < init["Xavier"][-1] < init["std=0.01"][-1] - 0.01
    assert init["He"][-1] < init["He"][0] - 0.1
    curves = plotted["dropout.png"]
    assert set(curves) == {"train", "test"}
    assert all(len(c) == 3 and all(0 <= a <= 1 for a in c) for c in curves.values())  # --quick: 3 epochs


def test_two_layer_kernels_run_adam_with_another_eps(fast_backend):
    """The two-layer kernels take Adam's eps: another eps than the book's gives the reference's steps."""
    x, t = data(n=30)
    nets = [fastnn.TwoLayerNet(8, 5, 4, seed=0, backend=b) for b in ("numpy", fast_backend)]
    for net in nets:
        net.train_epoch(x, t, 10, fastnn.Adam(lr=0.05, eps=1e-3), seed=0)
    for key in nets[0].params:
        assert_close(nets[1].params[key], nets[0].params[key], err_msg=key)
    book = fastnn.TwoLayerNet(8, 5, 4, seed=0, backend="numpy")
    book.train_epoch(x, t, 10, fastnn.Adam(lr=0.05), seed=0)
    assert not np.allclose(book.params["W1"], nets[0].params["W1"], rtol=1e-6)


@pytest.mark.parametrize("net_class", ["TwoLayerNet", "MultiLayerNet"])
def test_an_epoch_over_part_of_the_rows_takes_only_those(net_class, backend):
    x, t = data(n=40)
    make = (lambda: fastnn.TwoLayerNet(8, 5, 4, seed=0, backend=backend)) if net_class == "TwoLayerNet" else \
        (lambda: fastnn.MultiLayerNet(8, [5], 4, seed=0, backend=backend))
    a, b = make(), make()
    perm = np.array([3, 17, 5, 9, 30, 1, 2])
    a.train_epoch(x, t, 3, fastnn.SGD(0.1), perm=perm)
    b.train_epoch(x[perm], t[perm], 3, fastnn.SGD(0.1), perm=np.arange(len(perm)))
    assert len(a.batch_losses) == 3
    for key in a.params:
        assert_close(a.params[key], b.params[key], err_msg=key)


@pytest.mark.parametrize("kind", ["plain", "batchnorm"])
def test_save_load_and_resume(tmp_path, kind):
    x, t = data(n=40)
    make = (lambda: fastnn.MultiLayerNet(8, [6, 5], 4, activation="tanh", weight_decay_lambda=0.01, seed=0,
                                         dtype=np.float32)) if kind == "plain" else \
        (lambda: fastnn.MultiLayerNetExtend(8, [6, 5], 4, use_batchnorm=True, seed=0))
    net = make()
    trainer = fastnn.Trainer(net, x, t, x, t, epochs=2, mini_batch_size=10, optimizer="Adam", verbose=False,
                             seed=0, checkpoint=tmp_path / "ck.npz")
    trainer.train()
    fastnn.save_model(net, tmp_path / "net.npz")
    again = fastnn.load_model(tmp_path / "net.npz")
    assert type(again) is type(net) and again.dtype == net.dtype and again.hidden_size_list == [6, 5]
    np.testing.assert_array_equal(again.predict(x), net.predict(x))  # running statistics too
    resumed = make()
    more = fastnn.Trainer(resumed, x, t, x, t, epochs=4, mini_batch_size=10, optimizer="Adam", verbose=False, seed=0)
    more.load_checkpoint(tmp_path / "ck.npz")
    more.train()
    straight = make()
    fastnn.Trainer(straight, x, t, x, t, epochs=4, mini_batch_size=10, optimizer="Adam", verbose=False, seed=0).train()
    for key in straight.params:
        np.testing.assert_allclose(resumed.params[key], straight.params[key], rtol=1e-5, atol=1e-7, err_msg=key)


@pytest.mark.parametrize("kw", [{}, {"use_batchnorm": True}], ids=["plain", "batchnorm"])
def test_batch_correct_counts_each_batch_before_its_update(kw, backend):
    """batch_correct[s]: rows step s's own forward pass classified right, replayed step by step with predict
    before each SGD update (a count after the update, or over the whole set, gives other numbers)."""
    x, t = data(n=60, seed=3)
    make = lambda: fastnn.MultiLayerNet(8, [6, 5], 4, activation="tanh", weight_init_std=0.5, seed=2,  # noqa: E731
                                        backend=backend, **kw) if not kw else \
        fastnn.MultiLayerNetExtend(8, [6, 5], 4, activation="tanh", weight_init_std=0.5, seed=2, backend=backend,
                                   **kw)
    net, replay = make(), make()
    perm = np.random.default_rng(0).permutation(60)
    net.train_epoch(x, t, 12, fastnn.SGD(lr=1.5), perm=perm)
    expected = []
    for s in range(0, 60, 12):
        idx = perm[s:s + 12]
        if not kw:  # batchnorm's training-mode forward differs from predict; the loop below is the reference
            expected.append(int(np.sum(np.argmax(replay.predict(x[idx]), axis=1) == t[idx])))
        grads = replay.gradient(x[idx], t[idx])
        if kw:
            expected.append(None)
        for key in replay.params:
            replay.params[key] -= 1.5 * grads[key]
    assert len(net.batch_correct) == 5 and 0 <= net.batch_correct.min() and net.batch_correct.max() <= 12
    if not kw:
        assert list(net.batch_correct) == expected
    for key in net.params:  # the same steps were taken
        np.testing.assert_allclose(net.params[key], replay.params[key], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind", ["plain", "batchnorm"])
def test_a_float32_networks_numerical_gradient_is_taken_in_float64(kind, backend):
    """As README's dtype row says, on every path (the numpy backend's reference loop and batchnorm's included):
    a float32 network's central differences equal those of the same values in float64, cast to float32 (taken
    in float32 they were off by up to ~6% here: a float32 loss keeps ~7 digits, h = 1e-4 leaves ~3), and the
    live float32 parameters are left as they were."""
    x, t = data(n=9, d=8, k=3, seed=4)
    kw = dict(activation="sigmoid", weight_init_std=0.3, weight_decay_lambda=0.05, seed=2, backend=backend)
    if kind == "batchnorm":
        make = lambda dt: fastnn.MultiLayerNetExtend(8, [7, 5], 3, use_batchnorm=True, dtype=dt, **kw)  # noqa: E731
    else:
        make = lambda dt: fastnn.MultiLayerNet(8, [7, 5], 3, dtype=dt, **kw)  # noqa: E731
    net32, net64 = make(np.float32), make(np.float64)
    net64.params = {k: v.astype(np.float64) for k, v in net32.params.items()}
    before = {k: v.copy() for k, v in net32.params.items()}
    got = net32.numerical_gradient(x.astype(np.float32), t)
    want = net64.numerical_gradient(x.astype(np.float32).astype(np.float64), t)
    for key in want:
        assert got[key].dtype == np.float32
        np.testing.assert_allclose(got[key], want[key], rtol=1e-5, atol=1e-7, err_msg=key)
        np.testing.assert_array_equal(net32.params[key], before[key], err_msg=f"{key} left perturbed")
