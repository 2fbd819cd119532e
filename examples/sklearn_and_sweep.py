"""fastnn in scikit-learn code, and a hyper-parameter sweep on this machine or a Dask cluster.

    python examples/sklearn_and_sweep.py [--quick] [--dask [ADDRESS]]

1. ``fastnn.sklearn.MLPClassifier`` next to scikit-learn's, same parameters: time, accuracy, same weights.
2. A grid search over it in a scikit-learn Pipeline.
3. ``fastnn.sweep`` over 8 configurations; with --dask, on a Dask cluster (a LocalCluster on 127.0.0.1 when no
   address is given) through joblib's dask backend, and the results compared with the local ones.
"""
import argparse
import time
import warnings

import numpy as np

import fastnn
from fastnn.datasets import MNISTUnavailable, load_digits, load_mnist


def data(quick):
    try:
        (x, t), (xt, tt) = load_mnist(normalize=True)
        n = 5000 if quick else 20000
        return x[:n], t[:n], xt[:2000], tt[:2000], "mnist"
    except MNISTUnavailable:
        (x, t), (xt, tt) = load_digits()
        return x, t, xt, tt, "digits"


def compare_estimators(x, t, xt, tt, max_iter):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier as SkMLP

    from fastnn.sklearn import MLPClassifier
    fits = {}
    for name, cls in (("fastnn", MLPClassifier), ("scikit-learn", SkMLP)):
        clf = cls(hidden_layer_sizes=(100,), random_state=0, max_iter=max_iter, shuffle=False)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(x, t)
        fits[name] = clf
        print(f"{name:13s} fit {time.perf_counter() - start:6.2f} s, test accuracy {clf.score(xt, tt):.4f}")
    diff = max(float(np.abs(a - b).max()) for a, b in zip(fits["fastnn"].coefs_, fits["scikit-learn"].coefs_))
    print(f"largest weight difference after {max_iter} epochs: {diff:.2e} (float32: the two round differently "
          "and Adam magnifies it where gradients are near zero; in float64 they agree to 1e-12)")


def grid_search(x, t):
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from fastnn.sklearn import MLPClassifier
    pipe = make_pipeline(StandardScaler(), MLPClassifier(max_iter=10, random_state=0))
    search = GridSearchCV(pipe, {"mlpclassifier__hidden_layer_sizes": [(50,), (100,)],
                                 "mlpclassifier__alpha": [1e-4, 1e-2]}, cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(x[:3000], t[:3000])
    print(f"grid search: best {search.best_params_}, cross-validated accuracy {search.best_score_:.4f}")


def sweeps(name, epochs, dask):
    grid = {"hidden": [[64], [64, 64]], "lr": [0.01, 0.001], "seed": [0, 1]}
    local = fastnn.sweep(grid, name, epochs=epochs, n_train=10000, threads_per_task=1)
    if dask is None:
        return
    import joblib
    from dask.distributed import Client, LocalCluster
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None) \
        if dask == "local" else None
    with Client(cluster if cluster is not None else dask), joblib.parallel_config("dask"):
        remote = fastnn.sweep(grid, name, epochs=epochs, n_train=10000)
    if cluster is not None:
        cluster.close()
    same = all({k: v for k, v in a.items() if k != "seconds"} == {k: v for k, v in b.items() if k != "seconds"}
               for a, b in zip(local, remote))
    print(f"the same results on Dask as locally: {same}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--dask", nargs="?", const="local", default=None, metavar="ADDRESS")
    args = parser.parse_args(argv)
    x, t, xt, tt, name = data(args.quick)
    x, xt = x.astype(np.float32), xt.astype(np.float32)
    compare_estimators(x, t, xt, tt, max_iter=3 if args.quick else 10)
    grid_search(x, t)
    sweeps(name, 1 if args.quick else 3, args.dask)


if __name__ == "__main__":
    main()
