"""fastnn.sklearn.MLPClassifier: scikit-learn's estimator checks, its trajectories, Pipeline and GridSearchCV."""
import pickle
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier as SkMLP  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from fastnn.sklearn import MLPClassifier  # noqa: E402

#: Checks that may be skipped, and why (anything else skipped or failed fails the test).
DOCUMENTED_SKIPS = {
    "check_array_api_input": "array-API namespaces (CuPy, torch tensors) are not accepted: the kernels take NumPy "
                             "arrays; scikit-learn skips the check unless SCIPY_ARRAY_API=1 is set",
}


def test_passes_check_estimator(backend):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        results = check_estimator(MLPClassifier(backend=backend), on_fail=None)
    failed = {r["check_name"]: repr(r["exception"]) for r in results if r["status"] == "failed"}
    skipped = {r["check_name"]: str(r["exception"]) for r in results if r["status"] == "skipped"}
    assert not failed, failed
    assert set(skipped) <= set(DOCUMENTED_SKIPS), skipped
    assert len(results) > 40


def blobs(n=150, d=6, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, d)), rng.integers(0, k, n)


SETTINGS = [
    {},
    {"solver": "sgd", "learning_rate_init": 0.1},  # Nesterov momentum, scikit-learn's form
    {"solver": "sgd", "learning_rate_init": 0.1, "nesterovs_momentum": False},
    {"solver": "sgd", "learning_rate": "invscaling", "learning_rate_init": 0.5},
    {"solver": "sgd", "momentum": 0.0, "learning_rate_init": 0.2, "batch_size": 32},
    {"solver": "lbfgs"},
    {"activation": "tanh", "hidden_layer_sizes": (7, 5), "batch_size": 40, "alpha": 0.1},
    {"activation": "logistic", "hidden_layer_sizes": (9,)},
    {"activation": "identity", "hidden_layer_sizes": (4, 4)},
]


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()) or "defaults")
def test_same_training_as_scikit_learn(settings, backend):
    """Same initialisation, batches, L2 scaling and optimizer: the same weights as scikit-learn, step for step."""
    X, y = blobs()
    kw = dict(shuffle=False, random_state=0, max_iter=6, **settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours, theirs = MLPClassifier(backend=backend, **kw).fit(X, y), SkMLP(**kw).fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-10)
    if settings.get("solver") != "lbfgs":
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("k", [3, 5])
def test_early_stopping_splits_and_trains_as_scikit_learn(k, backend):
    """The validation split is scikit-learn's, which is stratified for two classes only (it follows its one
    output unit), so for more classes the same weights and validation scores, epoch for epoch. (Two classes
    cannot be compared weight for weight: scikit-learn has one logistic output unit there, fastnn two.)"""
    X, y = blobs(k=k)
    kw = dict(hidden_layer_sizes=(10,), shuffle=False, random_state=0, max_iter=8, batch_size=20,
              early_stopping=True, n_iter_no_change=100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours, theirs = MLPClassifier(backend=backend, **kw).fit(X, y), SkMLP(**kw).fit(X, y)
    np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_, rtol=1e-12)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("k, stratified", [(2, True), (3, False), (5, False)])
def test_early_stopping_stratifies_as_scikit_learn(k, stratified, monkeypatch):
    """The validation split is stratified exactly when scikit-learn's is (its one output unit: two classes),
    and a two-class y with a class of one member is refused, as scikit-learn refuses it."""
    from fastnn import sklearn as fastnn_sklearn
    calls = []
    original = fastnn_sklearn.train_test_split

    def recording(*args, stratify=None, **kwargs):
        calls.append(stratify is not None)
        return original(*args, stratify=stratify, **kwargs)
    monkeypatch.setattr(fastnn_sklearn, "train_test_split", recording)
    X, y = blobs(k=k)
    kw = dict(hidden_layer_sizes=(5,), max_iter=2, random_state=0, early_stopping=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPClassifier(**kw).fit(X, y)
    assert calls == [stratified]
    if k == 2:
        y = np.zeros(len(X), int)
        y[0] = 1
        for model in (MLPClassifier(**kw), SkMLP(**kw)):
            with pytest.raises(ValueError, match="least populated class"):
                model.fit(X, y)


def test_float32_input_trains_in_float32_and_string_labels_work():
    X, y = blobs(n=120)
    labels = np.array(["cat", "dog", "eel"])[y]
    clf = MLPClassifier(hidden_layer_sizes=(20,), max_iter=300, random_state=0).fit(X.astype(np.float32), labels)
    assert all(c.dtype == np.float32 for c in clf.coefs_)
    assert set(clf.predict(X)) <= set(labels)
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), clf.predict_proba(X), rtol=1e-5)


def test_partial_fit_warm_start_and_early_stopping():
    X, y = blobs(n=300)
    clf = MLPClassifier(hidden_layer_sizes=(16,), random_state=0, learning_rate_init=0.01)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    for _ in range(5):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    assert clf.n_iter_ == 5 and len(clf.loss_curve_) == 5 and clf.loss_curve_[-1] < clf.loss_curve_[0]
    with pytest.raises(ValueError, match="not in classes_"):
        clf.partial_fit(X, np.full(len(X), 7))
    warm = MLPClassifier(hidden_layer_sizes=(16,), random_state=0, max_iter=3, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warm.fit(X, y)
        first = warm.coefs_[0].copy()
        warm.fit(X, y)
    assert warm.n_iter_ == 6 and not np.array_equal(first, warm.coefs_[0])
    es = MLPClassifier(hidden_layer_sizes=(16,), random_state=0, early_stopping=True, n_iter_no_change=3,
                       max_iter=200, learning_rate_init=0.05).fit(X, y)
    assert es.best_loss_ is None and len(es.validation_scores_) == es.n_iter_ < 200
    assert es.best_validation_score_ == max(es.validation_scores_)
    with pytest.raises(ValueError, match="early_stopping"):  # as scikit-learn 1.9
        es.partial_fit(X, y)
    with pytest.raises(AttributeError, match="partial_fit"):
        MLPClassifier(solver="lbfgs").partial_fit(X, y, classes=[0, 1, 2])


@pytest.mark.parametrize("name, value, match", [
    ("activation", "elu", "activation must be one of"),
    ("solver", "newton", "solver must be one of"),
    ("alpha", -1.0, "alpha must be a number"),
    ("hidden_layer_sizes", (10, 0), "hidden_layer_sizes must be positive integers"),
    ("batch_size", 0, "batch_size must be an integer"),
    ("validation_fraction", 1.0, "validation_fraction"),
])
def test_bad_parameters_name_themselves(name, value, match):
    X, y = blobs(n=30)
    with pytest.raises(ValueError, match=match):
        MLPClassifier(**{name: value}).fit(X, y)


def test_pickles_with_its_network():
    X, y = blobs()
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    again.coefs_[0] = np.zeros_like(again.coefs_[0])  # replaced coefficients are used, as in scikit-learn
    assert not np.array_equal(again.predict_proba(X), clf.predict_proba(X))


def test_pipeline_and_grid_search_on_an_mnist_subset(mnist):
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    (x, t), (xt, tt) = mnist
    x, t = x[:2000].astype(np.float32), t[:2000]
    pipe = make_pipeline(StandardScaler(), MLPClassifier(max_iter=10, random_state=0))
    search = GridSearchCV(pipe, {"mlpclassifier__hidden_layer_sizes": [(32,), (64,)],
                                 "mlpclassifier__alpha": [1e-4, 1e-1]}, cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(x, t)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_score_ > 0.8
    assert search.score(xt[:1000].astype(np.float32), tt[:1000]) > 0.8
