"""Hyper-parameter sweeps: one configuration per task through joblib, on this machine or a cluster.

>>> results = fastnn.sweep({"hidden": [[50], [100]], "lr": [0.1, 0.01], "seed": [0, 1]}, epochs=3)  # doctest: +SKIP

Each configuration is trained by :func:`run_config`, a picklable top-level function returning its
metrics, so any joblib backend runs the sweep: processes here ('loky', the default), or a Dask cluster
(``joblib.parallel_config('dask')`` with a ``dask.distributed.Client``) or Ray (``ray.util.joblib``) —
fastnn schedules nothing itself. The cores are split: ``n_jobs`` tasks at once, each with
``threads_per_task`` threads (kernels and BLAS), so that together they do not oversubscribe the machine.
A configuration's result depends only on it (its seed, and its thread count), not on where it ran.
"""
import csv
import io
import itertools
import json
import os
import time

import numpy as np

from . import _checks, _config
from ._files import atomic_write

#: What a configuration may set, with the defaults used when it does not.
DEFAULTS = {"hidden": [100], "activation": "relu", "optimizer": "Adam", "lr": 0.001, "batch_size": 100,
            "weight_decay": 0.0, "weight_init_std": "relu", "dtype": "float32", "seed": 0, "epochs": 5}
DATASETS = ("mnist", "digits")


def expand(grid):
    """The configurations of a grid: a dict of lists (every combination, like scikit-learn's ParameterGrid)
    or a list of such dicts; single values are taken as one-element lists."""
    grids = grid if isinstance(grid, (list, tuple)) else [grid]
    configs = []
    for g in grids:
        if not isinstance(g, dict):
            raise TypeError(f"grid must be a dict of lists or a list of dicts, got {type(g).__name__}")
        unknown = set(g) - set(DEFAULTS)
        if unknown:
            raise ValueError(f"unknown sweep parameter(s) {sorted(unknown)}; expected some of {sorted(DEFAULTS)}")
        keys = list(g)
        values = [v if isinstance(v, (list, tuple)) and not (k == "hidden" and _is_sizes(v)) else [v]
                  for k, v in g.items()]
        for combo in itertools.product(*values):
            configs.append({**DEFAULTS, **dict(zip(keys, combo))})
    if not configs:
        raise ValueError("grid has no configuration")
    return configs


def _is_sizes(v):
    """[100, 50] is one 'hidden' value (two layers); [[100], [100, 50]] is a list of values."""
    return len(v) > 0 and all(isinstance(s, (int, np.integer)) for s in v)


def _load(data, n_train):
    if isinstance(data, str):
        name = _checks.check_choice("data", data, DATASETS)
        if name == "mnist":
            from .datasets import load_mnist
            (x, t), (xt, tt) = load_mnist(normalize=True)
        else:
            from .datasets import load_digits
            (x, t), (xt, tt) = load_digits()
    else:
        try:
            x, t, xt, tt = data
        except (TypeError, ValueError):
            raise TypeError("data must be 'mnist', 'digits' or a tuple (x_train, t_train, x_test, t_test)") from None
    if n_train is not None:
        x, t = x[:n_train], t[:n_train]
    return x, t, xt, tt


def run_config(config, data="mnist", n_train=None, threads=1, backend="auto"):
    """Train one configuration and return its metrics (a flat dict: the configuration, then the results).

    Top-level and picklable, so joblib can send it to processes or cluster workers. BLAS and the kernels
    are held to ``threads`` threads for the whole task.
    """
    from threadpoolctl import threadpool_limits

    from .multilayer import MultiLayerNet
    from .trainer import Trainer

    c = {**DEFAULTS, **config}
    x, t, xt, tt = _load(data, n_train)
    dtype = np.dtype(c["dtype"])
    start = time.perf_counter()
    with threadpool_limits(threads):
        net = MultiLayerNet(x.shape[1], list(c["hidden"]), int(np.max(t)) + 1, activation=c["activation"],
                            weight_init_std=c["weight_init_std"], weight_decay_lambda=c["weight_decay"],
                            dtype=dtype, seed=c["seed"], backend=backend, n_threads=threads)
        trainer = Trainer(net, x.astype(dtype), t, xt.astype(dtype), tt, epochs=c["epochs"],
                          mini_batch_size=c["batch_size"], optimizer=c["optimizer"], optimizer_param={"lr": c["lr"]},
                          verbose=False, seed=c["seed"])
        history = trainer.train()
    return {**{k: c[k] for k in DEFAULTS}, "hidden": "-".join(map(str, c["hidden"])),
            "train_loss": float(history["loss"][-1]), "train_accuracy": float(history["accuracy"][-1]),
            "test_accuracy": float(history["val_accuracy"][-1]), "seconds": time.perf_counter() - start,
            "backend": net.backend, "threads": threads}


def sweep(grid, data="mnist", *, epochs=None, n_train=None, n_jobs=None, threads_per_task=None, backend="auto",
          out=None, verbose=True):
    """Train every configuration of ``grid``, one joblib task each; returns the list of result dicts.

    Parameters
    ----------
    grid : dict of lists, or list of dicts
        Keys among ``fastnn.sweeps.DEFAULTS`` (hidden, activation, optimizer, lr, batch_size, weight_decay,
        weight_init_std, dtype, seed, epochs).
    data : 'mnist', 'digits' or (x_train, t_train, x_test, t_test)
        Named data is loaded by each task itself (MNIST through ``FASTNN_MNIST_DIR`` or fastnn's cache).
    epochs : int, optional
        Overrides every configuration's epochs.
    n_train : int, optional
        Train on the first n_train rows only.
    n_jobs : int, optional
        Tasks at once (default: as many as fit the cores, at most one per configuration). Under a
        cluster backend (``joblib.parallel_config('dask')`` or ``'ray'``) the default is every worker.
    threads_per_task : int, optional
        Threads of each task (default: the cores split between the n_jobs tasks; 1 on a cluster backend).
    out : str, optional
        Also write the results there, as CSV or JSON by the extension (atomically).
    """
    import joblib

    configs = expand(grid)
    if epochs is not None:
        epochs = _checks.check_positive_int("epochs", epochs)
        configs = [{**c, "epochs": epochs} for c in configs]
    cores = _config.available_cores()
    active = joblib.parallel.get_active_backend()[0]
    local = type(active).__name__ in ("LokyBackend", "MultiprocessingBackend", "ThreadingBackend",
                                      "SequentialBackend")
    if n_jobs is None:
        n_jobs = min(len(configs), cores) if local else -1  # -1: every worker of the cluster backend
    else:
        n_jobs = _checks.check_positive_int("n_jobs", n_jobs)
    if threads_per_task is None:
        threads_per_task = min(max(1, cores // min(n_jobs, len(configs))), _config.MAX_THREADS) if local else 1
    threads_per_task = _config.resolve_threads(threads_per_task, "threads_per_task")
    if out is not None and not str(out).endswith((".csv", ".json")):
        raise ValueError(f"out must end in .csv or .json, got {out!r}")
    if verbose:
        at_once = n_jobs if n_jobs > 0 else "all workers"
        print(f"sweep: {len(configs)} configurations, {at_once} at a time, {threads_per_task} thread(s) each "
              f"({type(active).__name__.replace('Backend', '').lower() or 'joblib'})", flush=True)
    tasks = (joblib.delayed(run_config)(c, data, n_train, threads_per_task, backend) for c in configs)
    results = list(joblib.Parallel(n_jobs=n_jobs)(tasks))
    if out is not None:
        write_results(results, out)
    if verbose:
        print(table(results))
    return results


COLUMNS = ("hidden", "activation", "optimizer", "lr", "batch_size", "weight_decay", "dtype", "seed", "epochs",
           "train_loss", "train_accuracy", "test_accuracy", "seconds")


def table(results):
    """The results as a plain-text table, best test accuracy first."""
    rows = sorted(results, key=lambda r: -r["test_accuracy"])
    cells = [[_fmt(r[c]) for c in COLUMNS] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(COLUMNS)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def write_results(results, path):
    """CSV (one row per configuration) or JSON (a list of objects), chosen by the extension; atomic."""
    path = os.fspath(path)
    if path.endswith(".json"):
        text = json.dumps(results, indent=1)
    else:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(results[0]))
        writer.writeheader()
        writer.writerows(results)
        text = buf.getvalue()
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))
