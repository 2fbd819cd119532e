"""Issue 8: fit an MLPClassifier on MNIST, scikit-learn's vs fastnn's, the same hyper-parameters. Both
get the same float32 data (50,000 images, the other 10,000 held out for the test accuracy; scikit-learn keeps
float32 input in float32) and the same parameters: scikit-learn's defaults (hidden (100,), relu, Adam lr 0.001,
alpha 1e-4, batch 200, tol 1e-4, n_iter_no_change 10, shuffle) with random_state=0 and max_iter=MAX_ITER (a bound
on the benchmark's time; both stop on the same rule). Each run's test accuracy, epochs and final loss are recorded
next to its time. The separate tests run each library's fit once, minutes apart; the interleaved test alternates
them, round by round, so that a phase of this shared VM's speed (it swings by up to 2x within minutes) hits both
alike.
"""
import time
import warnings

import numpy as np
import pytest

from conftest import QUICK, THREADS, busy_wait, passed_check

MAX_ITER = 2 if QUICK else 15
INTERLEAVED_ROUNDS = 1 if QUICK else 7


@pytest.fixture(scope="module")
def mnist_split(mnist_train):
    x, t = mnist_train
    x = np.ascontiguousarray(x, dtype=np.float32)
    n_test = len(x) // 6
    return x[n_test:], t[n_test:], x[:n_test], t[:n_test]


def _maker(contender, x, t):
    """A function making the contender's unfitted classifier (fastnn's kernels loaded by a small fit first)."""
    if contender == "fastnn":
        from fastnn.sklearn import MLPClassifier as Fast
        make = lambda: Fast(random_state=0, max_iter=MAX_ITER, n_threads=THREADS)  # noqa: E731
        make().set_params(max_iter=1).fit(x[:500], t[:500])  # warm up (kernels loaded / compiled)
        return make
    from sklearn.neural_network import MLPClassifier as Reference
    return lambda: Reference(random_state=0, max_iter=MAX_ITER)


def _fitted(make, x, t):
    from sklearn.exceptions import ConvergenceWarning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return make().fit(x, t)


@pytest.mark.benchmark(group="MLPClassifier fit on MNIST")
@pytest.mark.parametrize("contender", ["fastnn", "sklearn"])
def test_mlpclassifier_fit(benchmark, mnist_split, contender):
    x, t, xt, tt = mnist_split
    make = _maker(contender, x, t)
    box = {}

    def fit():
        box["clf"] = _fitted(make, x, t)

    benchmark.pedantic(fit, setup=lambda: time.sleep(0 if QUICK else 1), rounds=1, iterations=1)
    clf = box["clf"]
    assert clf.coefs_[0].dtype == np.float32
    accuracy = float(clf.score(xt, tt))
    benchmark.extra_info.update(test_accuracy=accuracy, n_iter=clf.n_iter_, final_loss=float(clf.loss_),
                                rows=len(t))
    if not QUICK:
        assert accuracy > 0.95
    passed_check(benchmark, "float32 weights" + ("" if QUICK else ", test accuracy > 0.95"))


@pytest.mark.benchmark(group="MLPClassifier fit on MNIST, interleaved round by round")
def test_mlpclassifier_fit_interleaved(benchmark, mnist_split):
    """Issue 8's ratio with both fits in the same moments: each round fits scikit-learn's classifier (timed
    in the untimed setup; its times in extra_info) and then fastnn's (the benchmark's timing). Both fits of
    the last round must reach the same quality bar as the separate tests."""
    x, t, xt, tt = mnist_split
    make_fastnn, make_sklearn = _maker("fastnn", x, t), _maker("sklearn", x, t)
    sklearn_seconds, fits = [], {}

    def setup():
        busy_wait()
        start = time.perf_counter()
        fits["sklearn"] = _fitted(make_sklearn, x, t)
        sklearn_seconds.append(time.perf_counter() - start)
        busy_wait()

    def fit():
        fits["fastnn"] = _fitted(make_fastnn, x, t)

    benchmark.pedantic(fit, setup=setup, rounds=INTERLEAVED_ROUNDS, iterations=1)
    accuracy = {name: float(clf.score(xt, tt)) for name, clf in fits.items()}
    assert fits["fastnn"].coefs_[0].dtype == np.float32
    benchmark.extra_info.update(rows=len(t), sklearn_seconds=sklearn_seconds,
                                sklearn_median=float(np.median(sklearn_seconds)),
                                sklearn_min=float(np.min(sklearn_seconds)),
                                n_iter={name: clf.n_iter_ for name, clf in fits.items()},
                                test_accuracy=accuracy)
    if not QUICK:
        assert min(accuracy.values()) > 0.95, accuracy
    passed_check(benchmark, "float32 weights" + ("" if QUICK else ", test accuracy > 0.95 (both, last round)"))
