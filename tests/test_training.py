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
