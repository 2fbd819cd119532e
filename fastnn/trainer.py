"""Trainer: the book's ``common/trainer.py`` API over fastnn's epoch loops, with checkpoints.

A learner's own network (any object with ``params``, ``loss``, ``accuracy`` and ``gradient``, as the book's
Trainer takes) runs through the book's loop instead: a step of ``optimizer.update`` per mini-batch."""
import os
import sys
import time
import warnings

import numpy as np

from . import _checks
from ._files import atomic_write
from .io import read_model_file, restore_arrays, save_model
from .network import NetworkBase
from .optimizers import make_optimizer

_STATE_DICTS = ("v", "m", "h")
_HYPER = ("lr", "momentum", "beta1", "beta2", "eps", "decay_rate")


class Trainer:
    """Train a network for some epochs and record its curves, like the book's Trainer.

    Parameters
    ----------
    network : TwoLayerNet, MultiLayerNet, MultiLayerNetExtend, or a book-style network
        The network to train (updated in place). A network of your own needs what the book's Trainer calls:
        ``params`` (a dict of arrays), ``loss(x, t)``, ``accuracy(x, t)`` and ``gradient(x, t)`` (or
        ``numerical_gradient(x, t)`` with ``gradient='numerical'``); its epochs are the book's loop of
        ``optimizer.update(network.params, grads)`` in Python, not fastnn's compiled one, and it cannot be
        checkpointed (a model file records a fastnn network's class and sizes).
    x_train, t_train, x_test, t_test : arrays
        Data; labels integer or one-hot. x_train and x_test may be scipy.sparse matrices: they are kept
        dense for evaluation, and x_train is held over its nonzeros once for the fit when the network's
        first layer runs sparse (so a wide, very sparse x costs its dense size in memory; train such data
        with ``network.train_epoch`` on the matrix itself). A network of your own gets them as given: arrays
        (of any shape, e.g. images for a convolutional network) with one label per row of x.
    epochs : int
        Passes over the training set; each pass is a fresh permutation (no replacement).
    mini_batch_size : int
        Rows per step; the last step of an epoch takes the rest.
    optimizer : str or optimizer object
        'SGD', 'Momentum', 'Nesterov', 'AdaGrad', 'RMSprop', 'Adam' (case-insensitive).
    optimizer_param : dict
        Keyword arguments of the optimizer, e.g. ``{'lr': 0.01}``.
    evaluate_sample_num_per_epoch : int, optional
        Evaluate accuracy on the first this-many rows only (as the book).
    eval_train : bool, default True
        After each epoch, measure the training accuracy in a full pass over the training set (the book's
        Trainer). False reports it as Keras does, accumulated over the epoch's own mini-batches (each counted
        by the forward pass that gave its loss, before its update): no extra pass, so an epoch costs only its
        training steps and the test set's pass.
    verbose : bool
        Report each epoch: a progress bar on a terminal (tqdm), one line per epoch otherwise.
    seed : int, optional
        Seeds the permutations: a run is bit-reproducible on a given backend and thread count.
    gradient : {'backprop', 'numerical'}
        How steps get their gradient; 'backprop' uses the backend's compiled epoch loop.
    early_stopping : int, optional
        Stop when test accuracy has not improved for this many epochs.
    callbacks : list of callables, optional
        Each is called as ``callback(trainer, logs)`` after every epoch; setting
        ``trainer.stop_training = True`` ends the run (as in Keras).
    checkpoint : str, optional
        Save model, optimizer and progress to this path after every epoch (atomically).

    Attributes
    ----------
    train_loss_list : list of float
        The loss of every mini-batch, as the book's Trainer records it.
    train_acc_list, test_acc_list : list of float
        Accuracy after each epoch.
    history : dict
        Keras-style ``{'loss', 'accuracy', 'val_accuracy', 'epoch_time'}`` lists. ``loss`` is the mean of the
        epoch's mini-batch losses; ``accuracy`` follows ``eval_train``.
    """

    def __init__(self, network, x_train, t_train, x_test, t_test, epochs=20, mini_batch_size=100,
                 optimizer="SGD", optimizer_param=None, evaluate_sample_num_per_epoch=None, verbose=True,
                 seed=None, gradient="backprop", early_stopping=None, callbacks=(), checkpoint=None, eval_train=True):
        self.gradient = _checks.check_choice("gradient", gradient, ("backprop", "numerical"))
        self.network = network
        self._own = not isinstance(network, NetworkBase)  # a learner's own network: the book's loop
        if self._own:
            _check_own_network(network, self.gradient)
            if checkpoint is not None:
                _no_checkpoint(network)
            self.x_train, self.t_train = _rows("x_train", x_train, "t_train", t_train)
            self.x_test, self.t_test = _rows("x_test", x_test, "t_test", t_test)
        else:
            self.x_train, self.t_train = network._xt(x_train, t_train)  # validated once, not every epoch
            self.x_test, self.t_test = network._xt(x_test, t_test)
        self._x_epochs = None  # x_train as the epochs read it (built at the first epoch)
        self.epochs = _checks.check_positive_int("epochs", epochs)
        self.batch_size = _checks.check_positive_int("mini_batch_size", mini_batch_size)
        self.optimizer = make_optimizer(optimizer, **(optimizer_param if optimizer_param is not None
                                                     else {} if hasattr(optimizer, "update") else {"lr": 0.01}))
        if evaluate_sample_num_per_epoch is not None:
            evaluate_sample_num_per_epoch = _checks.check_positive_int("evaluate_sample_num_per_epoch",
                                                                       evaluate_sample_num_per_epoch)
        self.evaluate_sample_num_per_epoch = evaluate_sample_num_per_epoch
        if not isinstance(eval_train, (bool, np.bool_)):
            raise TypeError(f"eval_train must be True or False, got {eval_train!r}")
        self.eval_train = bool(eval_train)
        self.verbose = verbose
        if early_stopping is not None:
            early_stopping = _checks.check_positive_int("early_stopping", early_stopping)
        self.early_stopping = early_stopping
        self.callbacks = list(callbacks)
        self.checkpoint = checkpoint
        self.rng = np.random.default_rng(seed)
        self.history = {"loss": [], "accuracy": [], "val_accuracy": [], "epoch_time": []}
        self.train_loss_list = []
        self.current_epoch = 0
        self.stop_training = False
        self.interrupted = False
        self.checkpoint_epoch = None  # the epoch the checkpoint file holds, once one was written or loaded

    # the book's names for the per-epoch curves
    @property
    def train_acc_list(self):
        return self.history["accuracy"]

    @property
    def test_acc_list(self):
        return self.history["val_accuracy"]

    def _accuracy(self, x, t):
        n = self.evaluate_sample_num_per_epoch
        if n is not None:
            x, t = x[:n], t[:n]
        return float(self.network.accuracy(x, t))

    def _python_epoch(self, perm):
        """The book's loop: per mini-batch, its loss (and its correct rows, unless eval_train) before the step,
        then ``optimizer.update`` with the network's gradient or numerical_gradient. Returns the batch losses
        and correct counts (None with eval_train)."""
        gradient = self.network.numerical_gradient if self.gradient == "numerical" else self.network.gradient
        losses, correct = [], []
        for start in range(0, len(perm), self.batch_size):
            idx = perm[start:start + self.batch_size]
            x, t = self.x_train[idx], self.t_train[idx]
            losses.append(float(self.network.loss(x, t)))
            if not self.eval_train:
                correct.append(round(float(self.network.accuracy(x, t)) * len(idx)))
            self.optimizer.update(self.network.params, gradient(x, t))
        return np.asarray(losses), np.asarray(correct, np.int64) if correct else None

    def _epoch(self, perm):
        """One epoch's batch losses and correct counts: fastnn's compiled loop, or the book's."""
        if self._own:
            return self._python_epoch(perm)
        network = self.network
        if self.gradient == "numerical":  # kept on the network, as its own epochs keep them
            network.batch_losses, network.batch_correct = self._python_epoch(perm)
        else:
            if self._x_epochs is None:  # as the epochs read it: over its nonzeros for a sparse first layer, once
                self._x_epochs = network._epoch_input(self.x_train, self.optimizer, hold=True, epochs=self.epochs)[0]
            network._train_epoch(self._x_epochs, self.t_train, self.batch_size, self.optimizer, perm.astype(np.intp))
        return network.batch_losses, network.batch_correct

    def _train_accuracy(self, correct, n_rows):
        """The training accuracy of the epoch just run: a full pass, or the batches' own counts."""
        if self.eval_train:
            return self._accuracy(self.x_train, self.t_train)
        return float(np.sum(correct)) / n_rows

    def train_step_epoch(self):
        """One epoch; returns its logs {'loss', 'accuracy', 'val_accuracy', 'epoch_time'}."""
        perm = self.rng.permutation(len(self.x_train))
        start = time.perf_counter()
        losses, correct = self._epoch(perm)
        logs = {"loss": float(np.mean(losses)), "epoch_time": time.perf_counter() - start,
                "accuracy": self._train_accuracy(correct, len(perm)),
                "val_accuracy": self._accuracy(self.x_test, self.t_test)}
        self.current_epoch += 1
        self.train_loss_list.extend(float(v) for v in losses)
        for key, value in logs.items():
            self.history[key].append(value)
        return logs

    def _should_stop(self):
        acc = self.history["val_accuracy"]
        if self.early_stopping and len(acc) > self.early_stopping:
            return max(acc[-self.early_stopping:]) <= max(acc[:-self.early_stopping])
        return False

    def train(self):
        """Run the remaining epochs; Ctrl-C stops cleanly, keeping the weights (and the checkpoint)."""
        if self.verbose and not self._own and getattr(self.network, "kernels", None) == "numpy reference" \
                and self.network.backend != "numpy" and self.current_epoch == 0:
            print(f"note: dropout/batchnorm run on the NumPy reference, not the {self.network.backend} kernels")
        bar = _progress(self.epochs, self.current_epoch) if self.verbose else None
        try:
            while self.current_epoch < self.epochs and not self.stop_training:
                logs = self.train_step_epoch()
                if self.checkpoint:
                    self.save_checkpoint(self.checkpoint)
                self._report(bar, logs)
                for callback in self.callbacks:
                    callback(self, logs)
                if self._should_stop():
                    self.stop_training = True
                    if self.verbose:
                        print(f"early stopping: no better test accuracy for {self.early_stopping} epochs")
        except KeyboardInterrupt:
            self.interrupted = True
            print(f"\ninterrupted after {self.current_epoch} epochs; the weights are kept in memory"
                  + self._checkpoint_note(), file=sys.stderr)
        finally:
            if bar is not None:
                bar.close()
        return self.history

    def _checkpoint_note(self):
        """What the checkpoint file holds now (after an interruption)."""
        if not self.checkpoint:
            return " (no checkpoint file was asked for)"
        if self.checkpoint_epoch is None:
            kept = "; the file already there is left as it was" if os.path.exists(self.checkpoint) else ""
            return f"; nothing was saved to {self.checkpoint} (no epoch had finished{kept})"
        return f"; the checkpoint {self.checkpoint} holds epoch {self.checkpoint_epoch}"

    def _report(self, bar, logs):
        if not self.verbose:
            return
        train = "train acc" if self.eval_train else "train acc (batches)"
        text = (f"loss {logs['loss']:.4f}, {train} {logs['accuracy']:.4f}, test acc {logs['val_accuracy']:.4f}, "
                f"{logs['epoch_time']:.2f} s")
        if bar is not None:
            bar.set_postfix_str(text)
            bar.update(1)
        else:
            print(f"=== epoch {self.current_epoch}/{self.epochs}: {text}", flush=True)

    # -- checkpoints ------------------------------------------------------------------------------

    def save_checkpoint(self, path):
        """Model, optimizer state and progress (epoch, permutation RNG, history) in one .npz, atomically."""
        if self._own:
            _no_checkpoint(self.network)
        opt = self.optimizer
        arrays = {}
        for name in _STATE_DICTS:
            state = getattr(opt, name, None)
            if isinstance(state, dict):
                arrays.update({f"opt/{name}/{k}": v for k, v in state.items()})
        meta = {"trainer": {"epoch": self.current_epoch, "epochs": self.epochs, "batch_size": self.batch_size,
                            "gradient": self.gradient, "history": self.history, "eval_train": self.eval_train,
                            "train_loss_list": self.train_loss_list,
                            "rng_state": self.rng.bit_generator.state},
                "optimizer": {"name": type(opt).__name__, "iter": getattr(opt, "iter", None),
                              "params": {k: getattr(opt, k) for k in _HYPER if hasattr(opt, k)}}}
        save_model(self.network, path, arrays, meta)
        if self.checkpoint is not None and os.path.realpath(path) == os.path.realpath(self.checkpoint):
            self.checkpoint_epoch = self.current_epoch

    def load_checkpoint(self, path):
        """Restore parameters, optimizer state and progress from :meth:`save_checkpoint`'s file."""
        if self._own:
            _no_checkpoint(self.network)
        meta, arrays = read_model_file(path)
        if "trainer" not in meta:
            raise ValueError(f"{path!r} is a model file without training progress; it cannot be resumed")
        restore_arrays(self.network, arrays, path)
        o = meta["optimizer"]
        self.optimizer = make_optimizer(o["name"], **o["params"])
        if o["iter"] is not None:
            self.optimizer.iter = o["iter"]
        for name in _STATE_DICTS:
            state = {k.split("/")[2]: v.copy() for k, v in arrays.items() if k.startswith(f"opt/{name}/")}
            if state:
                setattr(self.optimizer, name, state)
        tr = meta["trainer"]
        saved_eval_train = bool(tr.get("eval_train", True))  # files from before the option: full passes
        if saved_eval_train != self.eval_train and tr["epoch"] > 0:
            kinds = {True: "a full pass over the training set", False: "the epoch's own mini-batches"}
            warnings.warn(f"{path!r} holds {tr['epoch']} epoch(s) whose training accuracy was measured over "
                          f"{kinds[saved_eval_train]}; this Trainer measures it over {kinds[self.eval_train]} "
                          f"(eval_train={self.eval_train}), so history['accuracy'] mixes the two from epoch "
                          f"{tr['epoch'] + 1} on", UserWarning, stacklevel=2)
        self.current_epoch = tr["epoch"]
        self.history = {k: list(v) for k, v in tr["history"].items()}
        self.train_loss_list = list(tr.get("train_loss_list", []))
        self.rng.bit_generator.state = tr["rng_state"]
        if self.checkpoint is not None and os.path.realpath(path) == os.path.realpath(self.checkpoint):
            self.checkpoint_epoch = self.current_epoch
        return self


#: What the book's Trainer calls on a network, besides the gradient.
_BOOK_NETWORK = ("loss", "accuracy")


def _check_own_network(network, gradient):
    """A network that is not fastnn's has what the book's loop calls: params (a dict of arrays), loss(x, t),
    accuracy(x, t) and gradient(x, t) (numerical_gradient(x, t) for gradient='numerical'); else a TypeError."""
    what = ("network must be a fastnn TwoLayerNet, MultiLayerNet or MultiLayerNetExtend, or a network of your "
            "own with params (a dict of arrays), loss(x, t), accuracy(x, t) and "
            f"{'numerical_gradient' if gradient == 'numerical' else 'gradient'}(x, t) as the book's Trainer takes")
    if isinstance(network, type):
        raise TypeError(f"{what}; got the class {network.__name__} itself (make one: {network.__name__}(...))")
    methods = _BOOK_NETWORK + ("numerical_gradient" if gradient == "numerical" else "gradient",)
    missing = [name for name in methods if not callable(getattr(network, name, None))]
    if missing:
        raise TypeError(f"{what}; got {type(network).__name__}, which has no {', '.join(missing)}")
    if not hasattr(getattr(network, "params", None), "items"):
        raise TypeError(f"{what}; got {type(network).__name__}, whose params is "
                        f"{type(getattr(network, 'params', None)).__name__}, not a dict")


def _no_checkpoint(network):
    raise TypeError(f"checkpoints need a fastnn network (the file records its class and sizes to rebuild it); "
                    f"got {type(network).__name__}: save your network's params yourself, e.g. np.savez")


def _rows(x_name, x, t_name, t):
    """x and t for a learner's own network: arrays (lists become arrays) with one label per row of x, not empty."""
    x, t = np.asarray(x), np.asarray(t)
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError(f"{x_name} must be an array of at least one row, got shape {x.shape}")
    if t.ndim == 0 or t.shape[0] != x.shape[0]:
        raise ValueError(f"{t_name} must hold one label per row of {x_name} ({x.shape[0]}), got shape {t.shape}")
    return x, t


def _progress(total, initial):
    """A tqdm bar over epochs when stdout is a terminal and tqdm is installed; None otherwise."""
    if not sys.stdout.isatty():
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, initial=initial, unit="epoch", dynamic_ncols=True)


def plot_history(history, path, title=None):
    """Loss and accuracy curves of a ``Trainer.history`` to a PNG (needs matplotlib: ``fastnn[plot]``)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'fastnn[plot]' (or pip install matplotlib)") from None
    epochs = np.arange(1, len(history["loss"]) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(epochs, history["loss"], marker="o")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("training loss (mean of mini-batches)")
    ax2.plot(epochs, history["accuracy"], marker="o", label="train")
    ax2.plot(epochs, history["val_accuracy"], marker="s", label="test")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("accuracy")
    ax2.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    try:
        atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=100), make_dirs=False)
    finally:
        plt.close(fig)
