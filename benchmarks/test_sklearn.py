"""Issue 8: fit an MLPClassifier on MNIST, scikit-learn's vs fastnn's, the same hyper-parameters, one run each.

Both get the same float32 data (60,000 images; scikit-learn keeps float32 input in float32) and the same
parameters: scikit-learn's defaults (hidden (100,), relu, Adam lr 0.001, alpha 1e-4, batch 200, tol 1e-4,
n_iter_no_change 10, shuffle) with random_state=0 and max_iter=MAX_ITER (a bound on the benchmark's time;
both stop on the same rule). Each run's test accuracy, epochs and final loss are recorded next to its time.
"""
import time
import warnings

import numpy as np
import pytest

from conftest import QUICK, THREADS, passed_check

MAX_ITER = 2 if QUICK else 15


@pytest.fixture(scope="module")
def mnist_split(mnist_train):
    x, t = mnist_train
    x = np.ascontiguousarray(x, dtype=np.float32)
    n_test = len(x) // 6
    return x[n_test:], t[n_test:], x[:n_test], t[:n_test]


@pytest.mark.benchmark(group="MLPClassifier fit on MNIST")
@pytest.mark.parametrize("contender", ["fastnn", "sklearn"])
def test_mlpclassifier_fit(benchmark, mnist_split, contender):
    from sklearn.exceptions import ConvergenceWarning
    x, t, xt, tt = mnist_split
    if contender == "fastnn":
        from fastnn.sklearn import MLPClassifier
        make = lambda: MLPClassifier(random_state=0, max_iter=MAX_ITER, n_threads=THREADS)  # noqa: E731
        make().set_params(max_iter=1).fit(x[:500], t[:500])  # warm up (kernels loaded / compiled)
    else:
        from sklearn.neural_network import MLPClassifier
        make = lambda: MLPClassifier(random_state=0, max_iter=MAX_ITER)  # noqa: E731
    box = {}

    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            box["clf"] = make().fit(x, t)

    benchmark.pedantic(fit, setup=lambda: time.sleep(0 if QUICK else 1), rounds=1, iterations=1)
    clf = box["clf"]
    assert clf.coefs_[0].dtype == np.float32
    accuracy = float(clf.score(xt, tt))
    benchmark.extra_info.update(test_accuracy=accuracy, n_iter=clf.n_iter_, final_loss=float(clf.loss_),
                                rows=len(t))
    if not QUICK:
        assert accuracy > 0.95
    passed_check(benchmark, "float32 weights" + ("" if QUICK else ", test accuracy > 0.95"))
