"""Optimizers, Trainer, model files and checkpoints."""
import os

import numpy as np
import pytest

import fastnn
from fastnn import optimizers


def digits_like(n=200, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.random((4, 12))
    t = rng.integers(0, 4, n)
    return np.clip(centers[t] + 0.15 * rng.standard_normal((n, 12)), 0, 1), t


def make_trainer(backend="auto", epochs=4, seed=3, **kwargs):
    x, t = digits_like()
    net = fastnn.TwoLayerNet(12, 8, 4, "xavier", backend=backend, seed=0)
    kwargs.setdefault("optimizer", "Adam")
    kwargs.setdefault("optimizer_param", {"lr": 0.02})
    return fastnn.Trainer(net, x[:150], t[:150], x[150:], t[150:], epochs=epochs, mini_batch_size=16,
                          verbose=False, seed=seed, **kwargs)


@pytest.mark.parametrize("name", list(optimizers.OPTIMIZERS))
def test_every_optimizer_lowers_the_loss_in_place(name):
    x, t = digits_like()
    net = fastnn.TwoLayerNet(12, 8, 4, "xavier", backend="numpy", seed=0)
    opt = optimizers.make_optimizer(name, lr=0.05)
    before = net.loss(x, t)
    W1 = net.params["W1"]
    for _ in range(30):
        opt.update(net.params, net.gradient(x, t))
    assert net.params["W1"] is W1  # updated in place
    assert net.loss(x, t) < before


def test_optimizer_errors_name_the_argument():
    with pytest.raises(ValueError, match="optimizer must be one of"):
        optimizers.make_optimizer("lbfgs")
    with pytest.raises(ValueError, match="lr must be a positive"):
        optimizers.SGD(lr=-1)
    with pytest.raises(ValueError, match="momentum must be in"):
        optimizers.Momentum(momentum=1.5)


def test_trainer_learns_and_keeps_the_books_lists(backend):
    trainer = make_trainer(backend)
    history = trainer.train()
    assert len(trainer.test_acc_list) == len(history["val_accuracy"]) == len(history["loss"]) == 4
    assert len(trainer.train_loss_list) == 4 * 10  # one loss per mini-batch (150 rows / 16), as the book's
    assert history["loss"][-1] < history["loss"][0]
    assert trainer.test_acc_list[-1] > 0.7  # four classes: chance is 0.25


def test_a_seed_makes_a_run_bit_reproducible(backend):
    a, b = make_trainer(backend), make_trainer(backend)
    a.train()
    b.train()
    for key in a.network.params:
        np.testing.assert_array_equal(a.network.params[key], b.network.params[key])
    assert a.history["loss"] == b.history["loss"]


def test_resume_continues_exactly_where_the_run_stopped(tmp_path, backend):
    straight = make_trainer(backend, epochs=4)
    straight.train()
    path = tmp_path / "run.npz"
    first = make_trainer(backend, epochs=2, checkpoint=str(path))
    first.train()
    resumed = make_trainer(backend, epochs=4, seed=999, optimizer="SGD", checkpoint=str(path))
    resumed.load_checkpoint(path)
    assert resumed.current_epoch == 2 and isinstance(resumed.optimizer, optimizers.Adam)
    resumed.train()
    for key in straight.network.params:
        np.testing.assert_array_equal(resumed.network.params[key], straight.network.params[key])
    assert resumed.history["loss"] == straight.history["loss"]


def test_numerical_gradient_training(fast_backend):
    """gradient='numerical' takes exactly the steps of the book's loop written by hand (numerical gradients
    of the same batches, the same Adam), lands next to backprop training, and learns."""
    trainer = make_trainer(fast_backend, epochs=2, gradient="numerical")
    trainer.train()
    x, t = digits_like()
    x, t = x[:150], t[:150]
    net = fastnn.TwoLayerNet(12, 8, 4, "xavier", backend=fast_backend, seed=0)
    opt, rng, losses = optimizers.Adam(lr=0.02), np.random.default_rng(3), []
    for _ in range(2):
        perm = rng.permutation(150)
        for start in range(0, 150, 16):
            idx = perm[start:start + 16]
            losses.append(net.loss(x[idx], t[idx]))
            opt.update(net.params, net.numerical_gradient(x[idx], t[idx]))
    assert trainer.train_loss_list == losses
    for key in net.params:
        np.testing.assert_array_equal(trainer.network.params[key], net.params[key], err_msg=key)
    backprop = make_trainer(fast_backend, epochs=2)
    backprop.train()
    for key in net.params:  # the two gradients agree to ~1e-10 at h = 1e-4; 20 Adam steps keep that small
        np.testing.assert_allclose(net.params[key], backprop.network.params[key], rtol=1e-6, atol=1e-8, err_msg=key)
    assert np.mean(losses[-5:]) < 0.9 * np.mean(losses[:5])


def test_early_stopping_and_callbacks():
    seen = []

    def stop_at_two(trainer, logs):
        seen.append(logs["val_accuracy"])
        if trainer.current_epoch == 2:
            trainer.stop_training = True

    trainer = make_trainer(epochs=10, callbacks=[stop_at_two])
    trainer.train()
    assert trainer.current_epoch == 2 and len(seen) == 2
    stalled = make_trainer(epochs=30, early_stopping=2, optimizer="SGD", optimizer_param={"lr": 1e-9})
    stalled.train()
    assert stalled.current_epoch < 30


def test_ctrl_c_stops_cleanly_and_keeps_the_weights(tmp_path):
    def interrupt(trainer, logs):
        if trainer.current_epoch == 2:
            raise KeyboardInterrupt

    trainer = make_trainer(epochs=5, callbacks=[interrupt], checkpoint=str(tmp_path / "c.npz"))
    trainer.train()
    assert trainer.interrupted and trainer.current_epoch == 2
    saved = fastnn.load_model(tmp_path / "c.npz")
    np.testing.assert_array_equal(saved.params["W1"], trainer.network.params["W1"])


def test_save_and_load_round_trip(tmp_path, dtype):
    net = fastnn.TwoLayerNet(6, 5, 3, activation="relu", loss="mse", dtype=dtype, seed=1)
    path = tmp_path / "model.npz"
    fastnn.save_model(net, path)
    back = fastnn.load_model(path)
    assert (back.activation, back.loss_name, back.dtype) == ("relu", "mse", np.dtype(dtype))
    for key in net.params:
        np.testing.assert_array_equal(back.params[key], net.params[key])
    with np.load(path, allow_pickle=False) as z:  # no pickle inside
        assert "__meta__" in z.files


def test_bad_model_files_are_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        fastnn.load_model(tmp_path / "none.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable .npz"):
        fastnn.load_model(tmp_path / "junk.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not a fastnn model"):
        fastnn.load_model(tmp_path / "other.npz")


def test_a_checkpoint_interrupted_mid_write_leaves_the_previous_one(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    trainer = make_trainer(epochs=1, checkpoint=str(path))
    trainer.train()
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(os, "fsync", crash)
    trainer.epochs = 2
    with pytest.raises(OSError, match="disk full"):
        trainer.train()
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["ckpt.npz"]  # no temp file left behind


def test_plot_history_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    trainer = make_trainer(epochs=2)
    fastnn.plot_history(trainer.train(), tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_save_plot_and_resume(tmp_path, capsys):
    from fastnn.cli import main
    model, plot = str(tmp_path / "m.npz"), str(tmp_path / "c.png")
    assert main(["train", "--dataset", "digits", "--epochs", "2", "--quiet", "--save", model, "--plot", plot,
                 "--seed", "0", "--hidden", "20"]) == 0
    assert os.path.exists(model) and os.path.exists(plot)
    assert main(["train", "--dataset", "digits", "--epochs", "3", "--quiet", "--resume", model, "--seed", "0"]) == 0
    out = capsys.readouterr().out
    assert "resuming" in out and "after epoch 2 of 3" in out


def _replayed_correct(backend, x, t, perm, batch_size, lr):
    """Rows each SGD step classified right before its update, replayed step by step on the reference."""
    net = fastnn.TwoLayerNet(12, 8, 4, "xavier", backend="numpy", seed=0)
    correct = []
    for start in range(0, len(perm), batch_size):
        idx = perm[start:start + batch_size]
        correct.append(int(np.sum(np.argmax(net.predict(x[idx]), axis=1) == t[idx])))
        grads = net.gradient(x[idx], t[idx])
        for key in net.params:
            net.params[key] -= lr * grads[key]
    return correct


@pytest.mark.parametrize("gradient", ["backprop", "numerical"])
def test_train_accuracy_accumulated_over_the_epochs_own_batches(backend, gradient):
    """eval_train=False (Keras): each batch is counted by the forward pass that gave its loss, before its
    update -- a full pass after the epoch, or a count after each update, gives other numbers."""
    x, t = digits_like()
    x, t = x[:150], t[:150]
    lr, seed = 2.0, 5  # a large step, so counts before and after each update differ
    perm = np.random.default_rng(seed).permutation(len(x))
    expected = _replayed_correct(backend, x, t, perm, 16, lr)
    net = fastnn.TwoLayerNet(12, 8, 4, "xavier", backend=backend, seed=0)
    trainer = fastnn.Trainer(net, x, t, x, t, epochs=1, mini_batch_size=16, optimizer="SGD",
                             optimizer_param={"lr": lr}, verbose=False, seed=seed, gradient=gradient,
                             eval_train=False)
    trainer.train()
    assert list(net.batch_correct) == pytest.approx(expected, abs=1)  # a tie in argmax may round apart
    assert trainer.history["accuracy"][0] == pytest.approx(sum(expected) / len(x), abs=2 / len(x))
    assert trainer.history["accuracy"][0] != pytest.approx(net.accuracy(x, t), abs=0.5 / len(x))


def test_eval_train_chooses_between_a_full_pass_and_no_pass(monkeypatch):
    seen = []
    for eval_train in (True, False):
        trainer = make_trainer(epochs=2, eval_train=eval_train)
        real = trainer.network.accuracy
        monkeypatch.setattr(trainer.network, "accuracy", lambda x, t: seen.append((eval_train, len(x))) or real(x, t))
        trainer.train()
    assert seen.count((True, 150)) == 2 and seen.count((True, 50)) == 2
    assert (False, 150) not in seen and seen.count((False, 50)) == 2
    with pytest.raises(TypeError, match="eval_train"):
        make_trainer(eval_train="no")


def test_cli_reports_the_batches_accuracy_unless_eval_train(capsys):
    from fastnn.cli import main
    argv = ["train", "--dataset", "digits", "--epochs", "1", "--quiet", "--seed", "0", "--hidden", "20"]
    assert main(argv) == 0
    assert "over the last epoch's batches" in capsys.readouterr().out
    assert main(argv + ["--eval-train"]) == 0
    assert "over the last epoch's batches" not in capsys.readouterr().out


@pytest.mark.parametrize("bad", ["0.1", True, None, [0.1]])
def test_optimizer_hyperparameters_must_be_numbers(bad):
    with pytest.raises(TypeError, match="lr must be a number"):
        optimizers.SGD(lr=bad)
    with pytest.raises(TypeError, match="momentum must be a number"):
        optimizers.Momentum(momentum=bad)


def test_resuming_with_the_other_kind_of_training_accuracy_warns(tmp_path):
    import warnings
    path = tmp_path / "run.npz"
    make_trainer("numpy", epochs=1, checkpoint=str(path), eval_train=False).train()
    with pytest.warns(UserWarning, match="mixes the two from epoch 2"):
        make_trainer("numpy", epochs=2, eval_train=True).load_checkpoint(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make_trainer("numpy", epochs=2, eval_train=False).load_checkpoint(path)  # the same kind: silent


# -- optimizer.update checks its arguments and state -----------------------------------------------------------

STATEFUL = ["Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam"]


def _state(opt):
    return {name: {k: v.copy() for k, v in getattr(opt, name).items()}
            for name in ("v", "m", "h") if getattr(opt, name, None) is not None}


@pytest.mark.parametrize("name", STATEFUL)
def test_update_refuses_an_optimizer_holding_another_networks_state(name):
    """The book's update(params, grads) with one optimizer object reused for a network of other widths: a
    ValueError naming the state array and both shapes (as train_epoch's), before anything is updated."""
    x, t = digits_like(20)
    a = fastnn.MultiLayerNet(12, [5], 4, backend="numpy", seed=0)
    b = fastnn.MultiLayerNet(12, [7], 4, backend="numpy", seed=0)
    opt = getattr(fastnn, name)(lr=0.1)
    opt.update(a.params, a.gradient(x, t))
    before, state = {k: v.copy() for k, v in b.params.items()}, _state(opt)
    with pytest.raises(ValueError, match=r"state \w\['W1'\] has shape \(12, 5\), params\['W1'\] \(12, 7\): it "
                                         r"holds another network's state"):
        opt.update(b.params, b.gradient(x, t))
    for key in before:
        np.testing.assert_array_equal(b.params[key], before[key], err_msg=key)
    for kind, arrays in state.items():
        for key, value in arrays.items():
            np.testing.assert_array_equal(getattr(opt, kind)[key], value, err_msg=f"{kind}[{key}]")
    assert getattr(opt, "iter", 1) == 1  # Adam's step count is not advanced by a refused step
    fresh = getattr(fastnn, name)(lr=0.1)  # state of one layer, then params of two
    fresh.update({"W1": np.ones(3)}, {"W1": np.ones(3)})
    with pytest.raises(ValueError, match=r"state \w\['W2'\] has no array, params\['W2'\] \(2,\)"):
        fresh.update({"W1": np.ones(3), "W2": np.ones(2)}, {"W1": np.ones(3), "W2": np.ones(2)})


@pytest.mark.parametrize("name", STATEFUL)
def test_update_refuses_a_read_only_state_array(name):
    opt = getattr(fastnn, name)(lr=0.1)
    params, grads = {"W1": np.ones((2, 3))}, {"W1": np.ones((2, 3))}
    opt.update(params, grads)
    state = next(getattr(opt, kind) for kind in ("v", "m", "h") if getattr(opt, kind, None) is not None)
    state["W1"].setflags(write=False)
    with pytest.raises(ValueError, match=r"state \w\['W1'\] is read-only"):
        opt.update(params, grads)


@pytest.mark.parametrize("name", list(optimizers.OPTIMIZERS))
def test_update_refuses_grads_not_keyed_and_shaped_like_params(name):
    """A gradient missing or of another shape than its parameter (one NumPy would broadcast, e.g. a row for a
    matrix, included) is a ValueError naming the key; params are left as they were."""
    params = {"W1": np.ones((6, 5)), "b1": np.zeros(5)}
    good = {"W1": np.full((6, 5), 0.5), "b1": np.full(5, 0.5)}
    bad = {"missing": ({"W1": good["W1"]}, r"grads has no 'b1' for params\['b1'\]"),
           "shape": (dict(good, W1=np.ones(5)), r"grads\['W1'\] has shape \(5,\), params\['W1'\] \(6, 5\)"),
           "transposed": (dict(good, W1=np.ones((5, 6))), r"grads\['W1'\] has shape \(5, 6\)")}
    opt = optimizers.make_optimizer(name, lr=0.1)
    for case, (grads, message) in bad.items():
        with pytest.raises(ValueError, match=message):
            opt.update(params, grads)
        np.testing.assert_array_equal(params["W1"], 1.0, err_msg=case)
        np.testing.assert_array_equal(params["b1"], 0.0, err_msg=case)
    with pytest.raises(TypeError, match="grads must be a dict"):
        opt.update(params, [good["W1"], good["b1"]])
    opt.update(params, good)  # and a good step still goes through
    assert np.all(params["W1"] < 1.0)


@pytest.mark.parametrize("name", list(optimizers.OPTIMIZERS))
def test_update_of_a_subset_of_params_freezes_the_rest(name):
    """As the book's optimizers loop over params.keys(): gradients for parameters not passed are left alone (a
    learner freezing layers passes the others only)."""
    params = {"W1": np.ones((6, 5)), "b1": np.zeros(5)}
    grads = {"W1": np.full((6, 5), 0.5), "b1": np.full(5, 0.5)}
    trainable = {"W1": params["W1"]}
    optimizers.make_optimizer(name, lr=0.1).update(trainable, grads)
    assert np.all(params["W1"] < 1.0)
    np.testing.assert_array_equal(params["b1"], 0.0)


@pytest.mark.parametrize("name", list(optimizers.OPTIMIZERS))
def test_update_takes_the_books_scalar_params(name):
    """The checks take what the book's optimizers take: Python floats as parameters and gradients."""
    params = {"x": -7.0, "y": 2.0}
    opt = optimizers.make_optimizer(name, lr=0.1)
    for _ in range(3):
        opt.update(params, {"x": params["x"] / 10.0, "y": 2.0 * params["y"]})
    assert abs(params["x"]) < 7.0 and abs(params["y"]) < 2.0


# -- Trainer with a learner's own network ------------------------------------------------------------------------

class BookNet:
    """A learner's own two-layer network, pure NumPy, as the book's chapter 5 has it (relu, logits)."""

    def __init__(self, input_size, hidden_size, output_size, seed=0):
        rng = np.random.default_rng(seed)
        self.params = {"W1": 0.3 * rng.standard_normal((input_size, hidden_size)), "b1": np.zeros(hidden_size),
                       "W2": 0.3 * rng.standard_normal((hidden_size, output_size)), "b2": np.zeros(output_size)}

    def predict(self, x):
        p = self.params
        return np.maximum(x @ p["W1"] + p["b1"], 0) @ p["W2"] + p["b2"]

    def _softmax(self, x):
        a = self.predict(x)
        e = np.exp(a - a.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def loss(self, x, t):
        return -np.mean(np.log(self._softmax(x)[np.arange(len(t)), t] + 1e-7))

    def accuracy(self, x, t):
        return np.sum(self.predict(x).argmax(axis=1) == t) / float(x.shape[0])

    def gradient(self, x, t):
        p = self.params
        a1 = x @ p["W1"] + p["b1"]
        z1 = np.maximum(a1, 0)
        d = self._softmax(x)
        d[np.arange(len(t)), t] -= 1
        d /= len(t)
        da1 = (d @ p["W2"].T) * (a1 > 0)
        return {"W1": x.T @ da1, "b1": da1.sum(axis=0), "W2": z1.T @ d, "b2": d.sum(axis=0)}


@pytest.mark.parametrize("eval_train", [True, False])
def test_trainer_runs_a_learners_own_network_through_the_books_loop(eval_train):
    """A network that is not fastnn's (the book's Trainer takes any with params, loss, accuracy, gradient) trains
    by exactly the loop written by hand: the batches of the seeded permutations, each loss before its step."""
    x, t = digits_like()
    net = BookNet(12, 8, 4)
    trainer = fastnn.Trainer(net, x[:150], t[:150], x[150:], t[150:], epochs=3, mini_batch_size=16, optimizer="Adam",
                             optimizer_param={"lr": 0.02}, verbose=False, seed=3, eval_train=eval_train)
    W1 = net.params["W1"]
    history = trainer.train()
    mine, opt, rng, losses, correct = BookNet(12, 8, 4), optimizers.Adam(lr=0.02), np.random.default_rng(3), [], []
    for _ in range(3):
        perm, correct = rng.permutation(150), []
        for start in range(0, 150, 16):
            idx = perm[start:start + 16]
            losses.append(mine.loss(x[idx], t[idx]))
            correct.append(mine.accuracy(x[idx], t[idx]) * len(idx))
            opt.update(mine.params, mine.gradient(x[idx], t[idx]))
    assert net.params["W1"] is W1  # trained in place
    for key in net.params:
        np.testing.assert_array_equal(net.params[key], mine.params[key], err_msg=key)
    assert trainer.train_loss_list == losses
    assert history["loss"][-1] == pytest.approx(np.mean(losses[-10:]))
    assert history["val_accuracy"][-1] == mine.accuracy(x[150:], t[150:])
    train_acc = mine.accuracy(x[:150], t[:150]) if eval_train else sum(correct) / 150
    assert history["accuracy"][-1] == pytest.approx(train_acc)
    assert all(type(v) is float for key in ("loss", "accuracy", "val_accuracy") for v in history[key])
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])


def test_trainer_refuses_what_a_learners_own_network_lacks(tmp_path):
    """What the book's loop cannot run is a TypeError at construction naming network and what it needs."""
    x, t = digits_like(20)

    class NoAccuracy(BookNet):
        accuracy = None

    net = BookNet(12, 8, 4)
    with pytest.raises(TypeError, match=r"network must be a fastnn TwoLayerNet.*params .*loss\(x, t\), "
                                        r"accuracy\(x, t\) and gradient\(x, t\).*got NoAccuracy, which has no accuracy"):
        fastnn.Trainer(NoAccuracy(12, 8, 4), x, t, x, t, verbose=False)
    with pytest.raises(TypeError, match=r"network must be .*numerical_gradient\(x, t\).*has no numerical_gradient"):
        fastnn.Trainer(net, x, t, x, t, verbose=False, gradient="numerical")
    with pytest.raises(TypeError, match=r"network must be .*got the class BookNet itself"):
        fastnn.Trainer(BookNet, x, t, x, t, verbose=False)
    with pytest.raises(TypeError, match=r"network must be .*got object, which has no loss, accuracy, gradient"):
        fastnn.Trainer(object(), x, t, x, t, verbose=False)
    net.params = [net.params["W1"]]
    with pytest.raises(TypeError, match=r"network must be .*whose params is list, not a dict"):
        fastnn.Trainer(net, x, t, x, t, verbose=False)
    net = BookNet(12, 8, 4)
    with pytest.raises(ValueError, match=r"t_test must hold one label per row of x_test \(20\), got shape \(19,\)"):
        fastnn.Trainer(net, x, t, x, t[1:], verbose=False)
    path = tmp_path / "run.npz"
    with pytest.raises(TypeError, match="checkpoints need a fastnn network.*got BookNet"):
        fastnn.Trainer(net, x, t, x, t, verbose=False, checkpoint=str(path))
    trainer = fastnn.Trainer(net, x, t, x, t, epochs=1, verbose=False)
    with pytest.raises(TypeError, match="checkpoints need a fastnn network"):
        trainer.save_checkpoint(str(path))
    assert not path.exists()


def test_trainer_takes_a_learners_numerical_gradient():
    """gradient='numerical' calls the network's own numerical_gradient, as the book's ch4 loop does."""
    x, t = digits_like(40)
    calls = []

    class NumericalNet(BookNet):
        def numerical_gradient(self, x, t):
            calls.append(len(x))
            return self.gradient(x, t)

    net = NumericalNet(12, 8, 4)
    fastnn.Trainer(net, x, t, x, t, epochs=1, mini_batch_size=16, verbose=False, gradient="numerical").train()
    assert calls == [16, 16, 8]


@pytest.mark.parametrize("where", ["TwoLayerNet", "MultiLayerNet", "Trainer"])
def test_settings_given_with_an_optimizer_object_are_refused(where):
    """train_epoch(x, t, b, SGD(lr=0.1), lr=5.0) used to train at 0.1 and drop lr=5.0 without a word; now the
    setting is refused, naming it (an object keeps its own settings). A name with settings, and an object
    alone, still train."""
    x, t = np.random.default_rng(0).random((8, 6)), np.arange(8) % 3
    make = {"TwoLayerNet": lambda: fastnn.TwoLayerNet(6, 5, 3, seed=0, backend="numpy"),
            "MultiLayerNet": lambda: fastnn.MultiLayerNet(6, [5], 3, seed=0, backend="numpy"),
            "Trainer": lambda: fastnn.TwoLayerNet(6, 5, 3, seed=0, backend="numpy")}[where]
    message = r"lr given with an optimizer object \(SGD\), which keeps its own settings"
    with pytest.raises(TypeError, match=message):
        if where == "Trainer":
            fastnn.Trainer(make(), x, t, x, t, epochs=1, optimizer=fastnn.SGD(lr=0.1), optimizer_param={"lr": 5.0},
                           verbose=False)
        else:
            make().train_epoch(x, t, 4, fastnn.SGD(lr=0.1), lr=5.0)
    by_object, by_name = make(), make()
    if where == "Trainer":
        fastnn.Trainer(by_object, x, t, x, t, epochs=1, optimizer=fastnn.SGD(lr=0.3), seed=0, verbose=False).train()
        fastnn.Trainer(by_name, x, t, x, t, epochs=1, optimizer="SGD", optimizer_param={"lr": 0.3}, seed=0,
                       verbose=False).train()
    else:
        by_object.train_epoch(x, t, 4, fastnn.SGD(lr=0.3), seed=0)
        by_name.train_epoch(x, t, 4, "SGD", seed=0, lr=0.3)
    for key in by_name.params:
        np.testing.assert_array_equal(by_object.params[key], by_name.params[key])


def test_evaluate_sample_num_per_epoch_is_checked_at_construction():
    x, t = np.random.default_rng(0).random((8, 6)), np.arange(8) % 3
    for bad in (0, -1, 2.5, "10"):
        with pytest.raises(ValueError, match="evaluate_sample_num_per_epoch must be a positive integer"):
            fastnn.Trainer(fastnn.TwoLayerNet(6, 5, 3, backend="numpy"), x, t, x, t, epochs=1,
                           evaluate_sample_num_per_epoch=bad, verbose=False)
