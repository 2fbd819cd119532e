"""Trainer: the book's ``common/trainer.py`` API over fastnn's epoch loops."""
import sys
import time

import numpy as np

from . import _checks
from .optimizers import make_optimizer


class Trainer:
    """Train a network for some epochs and record its curves, like the book's Trainer.

    Parameters
    ----------
    network : TwoLayerNet
        The network to train (updated in place).
    x_train, t_train, x_test, t_test : arrays
        Data; labels integer or one-hot.
    epochs : int
        Passes over the training set; each pass is a fresh permutation (no replacement).
    mini_batch_size : int
        Rows per step.
    optimizer : str or optimizer object
        'SGD', 'Momentum', 'Nesterov', 'AdaGrad', 'RMSprop', 'Adam' (case-insensitive).
    optimizer_param : dict
        Keyword arguments of the optimizer, e.g. ``{'lr': 0.01}``.
    evaluate_sample_num_per_epoch : int, optional
        Evaluate accuracy on the first this-many rows only (as the book).
    verbose : bool
        Print one line per epoch.
    seed : int, optional
        Seeds the permutations: a run is bit-reproducible on a given backend and thread count.
    gradient : {'backprop', 'numerical'}
        How steps get their gradient; 'backprop' uses the backend's compiled epoch loop.

    Attributes
    ----------
    train_loss_list : list of float
        Mean mini-batch loss of each epoch.
    train_acc_list, test_acc_list : list of float
        Accuracy after each epoch.
    history : dict
        Keras-style {'loss': [...], 'accuracy': [...], 'val_accuracy': [...], 'epoch_time': [...]}.
    """

    def __init__(self, network, x_train, t_train, x_test, t_test, epochs=20, mini_batch_size=100,
                 optimizer="SGD", optimizer_param=None, evaluate_sample_num_per_epoch=None, verbose=True,
                 seed=None, gradient="backprop"):
        self.network = network
        self.x_train, self.t_train, self.x_test, self.t_test = x_train, t_train, x_test, t_test
        self.epochs = _checks.check_positive_int("epochs", epochs)
        self.batch_size = _checks.check_positive_int("mini_batch_size", mini_batch_size)
        self.optimizer = make_optimizer(optimizer, **(optimizer_param or {"lr": 0.01}))
        self.evaluate_sample_num_per_epoch = evaluate_sample_num_per_epoch
        self.verbose = verbose
        self.gradient = _checks.check_choice("gradient", gradient, ("backprop", "numerical"))
        self.rng = np.random.default_rng(seed)
        self.train_loss_list, self.train_acc_list, self.test_acc_list = [], [], []
        self.history = {"loss": [], "accuracy": [], "val_accuracy": [], "epoch_time": []}
        self.current_epoch = 0

    def _accuracy(self, x, t):
        n = self.evaluate_sample_num_per_epoch
        if n is not None:
            x, t = x[:n], t[:n]
        return self.network.accuracy(x, t)

    def _numerical_epoch(self, perm):
        losses = []
        for start in range(0, len(perm), self.batch_size):
            idx = perm[start:start + self.batch_size]
            x, t = self.x_train[idx], self.t_train[idx]
            grads = self.network.numerical_gradient(x, t)
            self.optimizer.update(self.network.params, grads)
            losses.append(self.network.loss(x, t))
        return float(np.mean(losses))

    def train_step_epoch(self):
        """One epoch; returns its mean mini-batch loss."""
        perm = self.rng.permutation(len(self.x_train))
        start = time.perf_counter()
        if self.gradient == "numerical":
            loss = self._numerical_epoch(perm)
        else:
            loss = self.network.train_epoch(self.x_train, self.t_train, self.batch_size, self.optimizer, perm=perm)
        elapsed = time.perf_counter() - start
        self.current_epoch += 1
        train_acc = self._accuracy(self.x_train, self.t_train)
        test_acc = self._accuracy(self.x_test, self.t_test)
        for lst, value in ((self.train_loss_list, loss), (self.train_acc_list, train_acc),
                           (self.test_acc_list, test_acc)):
            lst.append(value)
        for key, value in (("loss", loss), ("accuracy", train_acc), ("val_accuracy", test_acc),
                           ("epoch_time", elapsed)):
            self.history[key].append(value)
        if self.verbose:
            print(f"=== epoch {self.current_epoch}/{self.epochs}: loss {loss:.4f}, train acc {train_acc:.4f}, "
                  f"test acc {test_acc:.4f} ({elapsed:.2f} s)", file=sys.stdout, flush=True)
        return loss

    def train(self):
        """Run the remaining epochs; Ctrl-C stops after the current step and keeps the weights."""
        try:
            while self.current_epoch < self.epochs:
                self.train_step_epoch()
        except KeyboardInterrupt:
            if self.verbose:
                print(f"interrupted after {self.current_epoch} epochs; the weights are kept", file=sys.stderr)
        return self.history
