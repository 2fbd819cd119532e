"""The first-step examination of a learner's network on the batch it was fed.

A ``Subject`` wraps whatever the learner wrote (a class with methods, or module-level functions over a
params dict) as a few callables over (x, t); ``examine`` runs every check on it and returns the raw
findings, the measured numbers and the list of checks that could not run (with why).
"""
import contextlib
import signal
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from . import _doctor_gradients as grads
from . import _doctor_probes as probes
from ._doctor_guards import dead_guards


@dataclass
class Subject:
    """The learner's network as callables; any of them may be None."""
    params: dict
    loss: object                      # loss(x, t) -> number
    gradient: object = None           # gradient(x, t) -> dict
    numerical_gradient: object = None  # numerical_gradient(x, t) -> dict
    predict: object = None            # predict(x) -> array
    functions: dict = field(default_factory=dict)  # learner functions by name, for probes
    is_learner: object = None         # is_learner(filename) -> bool
    namespaces: list = field(default_factory=list)  # the learner's module globals (activations are watched there)
    columns: bool = False             # the learner's functions take an example a column (X: inputs x examples)


@dataclass
class Examination:
    findings: list = field(default_factory=list)
    measured: dict = field(default_factory=dict)
    not_checked: list = field(default_factory=list)   # (check, reason)
    learner_errors: list = field(default_factory=list)  # (what, message, where)
    learner_seconds: float = 0.0
    labels: object = None             # labels the loss accepts
    loss_mode: object = None          # the loss's training-mode flag, when the doctor judges the loss in that mode


def _skip(exam, check, key, **values):
    """Record a check that could not run: (check, note template key, values)."""
    exam.not_checked.append((check, key, {k: str(v) if not isinstance(v, (int, float)) else v
                                          for k, v in values.items()}))


class _OverBudget(BaseException):
    """Raised by the timer in a learner's call that outlives its budget (a BaseException, so that neither
    the learner's ``except Exception`` nor ``probes.quiet`` takes it for the learner's own error)."""


@contextlib.contextmanager
def _time_limit(seconds):
    """Interrupt the block with _OverBudget after ``seconds`` where a timer signal can (POSIX, main thread;
    the runner pauses its own timer around the doctor's work); yields whether it can."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield False
        return

    def over(signum, frame):
        raise _OverBudget()

    previous = signal.signal(signal.SIGALRM, over)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield True
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _learner_error(exam, what, err):
    exam.learner_errors.append((what, f"{type(err.error).__name__}: {err.error}", err.where))


def examine(subject, x, t, observed=None, observed_source=None, rng=None, numgrad_budget=15.0, samples=12,
            lr=None):
    """Every first-step check on the subject with the batch (x, t) it was fed.

    observed : dict, optional
        The gradient the program's own step computed (from ``observed_source``), compared as is.
    numgrad_budget : float
        Seconds the learner's numerical_gradient may take here (it runs on a few rows only).
    """
    rng = rng or np.random.default_rng(0)
    exam = Examination()
    x = np.asarray(x)
    is_learner = subject.is_learner
    k, predicted = _classes(subject, x, t, exam)
    exam.measured["classes"] = k
    exam.findings.append(_random_predict(subject, x, predicted))
    exam.measured["input"] = {"min": float(np.min(x)), "max": float(np.max(x)), "dtype": str(x.dtype),
                              "shape": list(x.shape)}
    exam.measured["labels"] = {"form": probes.label_form(t), "shape": list(np.shape(t))}
    if float(np.max(np.abs(x))) > 20 or (np.issubdtype(x.dtype, np.integer) and np.max(x) > 1):
        exam.findings.append(probes.Finding("input-scale", None, dict(exam.measured["input"])))
    finding, t_ok, notes = probes.check_labels(subject.loss, x, t, k, predicted)
    exam.findings.append(finding)
    for key, info in notes:
        _skip(exam, "labels", key, **info)
    exam.labels = t_ok
    exam.findings.append(_check_pairs(x, t, exam))
    used = _used(subject, x, t_ok if t_ok is not None else t)
    if subject.columns:  # probed with an example a row: given the learner's layout, read back in rows
        used = {n: (lambda a, _f=f: np.asarray(_f(np.asarray(a).T)).T) for n, f in used.items()}
    found, notes = probes.probe_activations(used)
    exam.findings += found
    exam.findings.append(dead_guards(subject.functions, subject.namespaces, is_learner))
    for key, info in notes:
        _skip(exam, key, "probe-failed", **info)
    if predicted is not None:
        exam.findings.append(probes.check_predict_rows(predicted))
    if t_ok is None:
        _skip(exam, "gradients", "neither-form")
        return exam
    t_ok = np.asarray(t_ok)
    exam.findings.append(probes.check_loss_averaged(subject.loss, x, t_ok))

    def loss():
        return probes.as_float(probes.quiet(subject.loss, x, t_ok, is_learner=is_learner))

    try:
        start = loss()
    except (probes.LearnerError, ValueError) as exc:
        _skip(exam, "gradients", "loss-fails", error=exc)
        return exam
    exam.measured["start_loss"] = start
    if not np.isfinite(start):
        _skip(exam, "gradients", "loss-nonfinite", value=str(start))
        exam.findings.append(probes.Finding("nan-gradient", None, {"loss": str(start)}, template="loss-nonfinite"))
        return exam
    with training_mode(subject.loss, x, t_ok) as exam.loss_mode, training_mode(subject.predict, x):
        calls = _forward_activations(subject, x, t_ok)  # (batch normalisation: as it trains)
        begins = _data_loss(subject, x, t_ok, start)
    _check_gradient(subject, exam, x, t_ok, observed, observed_source, loss, rng, samples)
    _check_numgrad(subject, exam, x, t_ok, observed if observed_source == "numerical_gradient" else None, rng,
                   numgrad_budget, samples)
    exam.findings.append(probes.check_init(subject.params, calls, probes.check_start_loss(begins, k, 0)))
    exam.findings.append(probes.check_units(calls, float(np.max(np.abs(x))) <= 20))
    return exam


def _classes(subject, x, t, exam):
    predicted = None
    if subject.predict is not None:
        predicted, err = probes.attempt(subject.predict, x, is_learner=subject.is_learner)
        if err is not None:
            _learner_error(exam, "predict", err)
            predicted = None
    if isinstance(predicted, (tuple, list)):  # forward() returning (a1, z1, y): the output is the last array
        predicted = next((v for v in reversed(predicted) if isinstance(v, np.ndarray)), None)
    if isinstance(predicted, np.ndarray) and predicted.ndim == 2 and np.issubdtype(predicted.dtype, np.number):
        return int(np.shape(predicted)[1]), np.asarray(predicted)
    if np.ndim(t) == 2:
        return int(np.shape(t)[1]), None
    biases = [v for v in subject.params.values() if isinstance(v, np.ndarray) and v.ndim == 1]
    return (int(biases[-1].shape[0]) if biases else 10), None


def _random_predict(subject, x, predicted):
    """predict-random when the network's predict() (evaluation mode) gives other outputs on the same batch and
    parameters: dropout applied when evaluating, so the accuracy it reports is of a thinned network."""
    if predicted is None:
        return None
    again, err = probes.attempt(subject.predict, x, is_learner=subject.is_learner)
    if isinstance(again, (tuple, list)):
        again = next((v for v in reversed(again) if isinstance(v, np.ndarray)), None)
    if err is not None or not isinstance(again, np.ndarray) or again.shape != predicted.shape:
        return None
    a, b = np.asarray(predicted, np.float64), np.asarray(again, np.float64)
    if np.all(np.isfinite(a)) and np.all(np.isfinite(b)) and not np.allclose(a, b, rtol=1e-6, atol=1e-12):
        return probes.Finding("predict-random", None, {"changed": float(np.mean(~np.isclose(a, b, rtol=1e-6))),
                                                       "largest": float(np.max(np.abs(a - b)))})
    return None


def _used(subject, x, t):
    """The learner's softmax/sigmoid functions its loss really calls (all of them when that cannot be seen)."""
    names = [n for n in subject.functions if "softmax" in n.lower() or "sigmoid" in n.lower()]
    if not names or not subject.namespaces:
        return subject.functions
    called = set()
    undo = []
    for ns in subject.namespaces:
        for name in names:
            fn = ns.get(name)
            if callable(fn) and getattr(fn, "__code__", None) is not None:
                def spy(*args, _fn=fn, _name=name, **kwargs):
                    called.add(_name)
                    return _fn(*args, **kwargs)
                undo.append((ns, name, fn))
                ns[name] = spy
    try:
        probes.attempt(subject.loss, x, t)
    finally:
        for ns, name, fn in reversed(undo):
            ns[name] = fn
    return {n: f for n, f in subject.functions.items() if n in called or n not in names}


def _forward_activations(subject, x, t):
    calls = []
    if subject.namespaces:
        with probes.ActivationRecorder(subject.namespaces) as rec:
            probes.attempt(subject.loss, x, t)
        calls = rec.calls
    if calls:
        return calls
    # no sigmoid/relu function to watch (written inline): the first layer's pre-activation from params
    weights = [v for v in subject.params.values() if isinstance(v, np.ndarray) and v.ndim == 2 and min(v.shape) > 1]
    biases = [v for v in subject.params.values() if isinstance(v, np.ndarray) and v.ndim == 1]
    flat = np.asarray(x, np.float64).reshape(len(x), -1)
    if weights and weights[0].shape[0] == flat.shape[1]:
        a = flat @ weights[0]
        if biases and biases[0].shape == (a.shape[1],):
            a = a + biases[0]
        return [("sigmoid" if float(np.mean(np.abs(a) > 6.9)) > 0.5 else "unknown", a, a)]
    return []


def _data_loss(subject, x, t, loss):
    """The cross-entropy of the network's predictions on (x, t), computed here (softmax applied to scores), which
    leaves out what the learner's loss adds that is not the data's (a weight decay term); ``loss`` where
    predict does not give one row of class scores per example."""
    if subject.predict is None:
        return loss
    y, err = probes.attempt(subject.predict, x, is_learner=subject.is_learner)
    if isinstance(y, (tuple, list)):
        y = next((v for v in reversed(y) if isinstance(v, np.ndarray)), None)
    if err is not None or not isinstance(y, np.ndarray) or y.ndim != 2 or len(y) != len(x) or \
            not np.all(np.isfinite(y)):
        return loss
    y = np.asarray(y, np.float64)
    labels = np.asarray(t)
    labels = labels.argmax(axis=1) if labels.ndim == 2 else labels.astype(np.int64)
    if labels.shape != (len(y),) or labels.min() < 0 or labels.max() >= y.shape[1]:
        return loss
    if not (y.min() >= 0 and np.allclose(y.sum(axis=1), 1, atol=1e-3)):  # scores: softmax them
        y = np.exp(y - y.max(axis=1, keepdims=True))
        y /= y.sum(axis=1, keepdims=True)
    return float(-np.mean(np.log(y[np.arange(len(y)), labels] + 1e-7)))


def _loss_dtype(subject, x, t):
    """(the learner's loss on x as it returns it, or None where it fails; its float value)."""
    try:
        raw = probes.quiet(subject.loss, x, t, is_learner=subject.is_learner)
        return raw, probes.as_float(raw)
    except (probes.LearnerError, ValueError):
        return None, None


def _float_bits(raw):
    """The bits of a loss's float dtype as returned (a NumPy number or array), None for a Python float, which says
    nothing of how it was computed."""
    if isinstance(raw, (np.floating, np.ndarray)) and np.asarray(raw).dtype.kind == "f":
        return 8 * np.asarray(raw).dtype.itemsize
    return None


def _reference(subject, x, t, loss, rng, theirs, samples):
    """(grads.reference_values of the learner's loss, its precision: a key of grads.PRECISION).

    float32 parameters: the same loss on the inputs in float64 (float32 inputs cast; NumPy then computes in
    float64) where that loss comes back as a float64 number (or a Python float with more digits than float32
    holds), runs, and agrees with the plain one: a float32
    loss cannot resolve steps below ~1e-2, where a relu unit's kink lies within the step of a bias for one
    example of a batch of 100 in about one check in three, and the reference must step around it as it does
    for float64 networks. float64 parameters whose loss comes back in float32 (the learner casts on the way):
    the float32 step for every element, since a step of 1e-5 does not move that loss at all."""
    low = grads.stored_below_float64(subject.params)
    if low and isinstance(x, np.ndarray) and x.dtype.kind == "f":
        cast = x.dtype.itemsize < 8
        x64 = x.astype(np.float64) if cast else x

        def precise():
            return probes.as_float(probes.quiet(subject.loss, x64, t, is_learner=subject.is_learner))

        raw, wide = _loss_dtype(subject, x64, t)
        plain = loss()
        # a float64 number, the same loss to float32's rounding, and not the very same number when the inputs
        # were cast (a loss that casts them back to float32 inside gives that: no more digits than before)
        # (a Python float says nothing of its dtype: it counts as float64 when it holds more digits than float32)
        bits = _float_bits(raw)
        if bits is None and wide is not None and np.isfinite(wide) and float(np.float32(wide)) != wide:
            bits = 64
        if (bits == 64 and np.isfinite(wide) and abs(wide - plain) <= 1e-4 * max(1.0, abs(plain))
                and (wide != plain or not cast)):
            return grads.reference_values(subject.params, precise, rng, theirs, samples, precise=True), "precise32"
    if low:
        return grads.reference_values(subject.params, loss, rng, theirs, samples), "float32"
    bits = _float_bits(_loss_dtype(subject, x, t)[0])
    if bits is not None and bits < 64:
        return grads.reference_values(subject.params, loss, rng, theirs, samples, coarse=True), "float32"
    return grads.reference_values(subject.params, loss, rng, theirs, samples), "float64"


def _random_gradient(subject, exam, x, t, theirs):
    """Whether the learner's gradient() gives another result on the same batch and parameters (dropout in
    training mode): one more call, compared to rounding."""
    saved = {k: v.copy() for k, v in subject.params.items() if isinstance(v, np.ndarray)}
    began = time.perf_counter()
    try:
        again, err = probes.attempt(subject.gradient, x, t, is_learner=subject.is_learner)
    finally:
        exam.learner_seconds += time.perf_counter() - began
        for k, v in saved.items():  # a gradient() that also updates is not let to train here
            if isinstance(subject.params.get(k), np.ndarray) and subject.params[k].shape == v.shape:
                subject.params[k][...] = v
    again = grads.as_grad_dict(again, subject.params) if err is None else None
    if not isinstance(again, dict):
        return False
    for key, g in theirs.items():
        h = again.get(key)
        if isinstance(g, np.ndarray) and isinstance(h, np.ndarray) and g.shape == h.shape and \
                not np.allclose(np.asarray(g, np.float64), np.asarray(h, np.float64), rtol=1e-6, atol=1e-12):
            return True
    return False


def _check_gradient(subject, exam, x, t, observed, source, loss, rng, samples):
    theirs = observed if source == "gradient" else None
    if theirs is None and subject.gradient is not None:
        began = time.perf_counter()
        theirs, err = probes.attempt(subject.gradient, x, t, is_learner=subject.is_learner)
        exam.learner_seconds += time.perf_counter() - began
        if err is not None:
            _learner_error(exam, "gradient", err)
            _skip(exam, "gradient", "raised", what="gradient", error=err)
            return
    if theirs is None:
        _skip(exam, "gradient", "absent", what="gradient")
        return
    theirs = grads.as_grad_dict(theirs, subject.params)
    if not isinstance(theirs, dict):
        _skip(exam, "gradient", "not-dict", what="gradient", type=type(theirs).__name__)
        return
    if subject.gradient is not None and _random_gradient(subject, exam, x, t, theirs):
        _skip(exam, "gradient", "random", what="gradient")
        return
    with training_mode(subject.loss, x, t) as flag:  # gradient() differentiates the loss in training mode
        ref, precision = _reference(subject, x, t, loss, rng, theirs, samples)
    if flag:
        exam.measured["gradient_loss_mode"] = flag
    results = grads.compare(subject.params, ref, theirs, precision=precision)
    exam.measured["gradient"] = results
    exam.findings += grads.backprop_findings(subject.params, results, len(x))


#: A loss's argument that switches batch normalisation (and dropout) to training mode: loss(x, t, train_flg=False).
TRAIN_FLAGS = ("train_flg", "train", "training", "is_training", "train_mode", "is_train", "train_flag")


#: Attributes of a network's layers that its training-mode forward pass updates (batch normalisation), kept
#: as they were around the doctor's own calls in training mode.
RUNNING = ("running_mean", "running_var", "moving_mean", "moving_var", "running_std")


def _running_state(fn):
    """(object, attribute, value) of the running statistics of the network that fn is a method of."""
    owner = getattr(fn, "__self__", None)
    if owner is None or not hasattr(owner, "__dict__"):
        return []
    objects = [owner]
    for value in vars(owner).values():
        items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
        objects += [v for v in items if hasattr(v, "__dict__") and not isinstance(v, type)]
    return [(obj, name, np.copy(vars(obj)[name]) if isinstance(vars(obj)[name], np.ndarray) else vars(obj)[name])
            for obj in objects for name in RUNNING if name in vars(obj)]


@contextlib.contextmanager
def training_mode(call, *args):
    """The learner's function (its loss, its predict) with its training-mode flag's default set to True for the
    block, when it has one and call(*args) is deterministic there (no args: set without that check) (batch normalisation: its gradient()
    differentiates the loss with the batch's statistics, not the running ones, which start at zero; with dropout
    the loss is random and stays as it is). Yields the flag's name, or None."""
    fn = getattr(call, "fn", call)
    fn = getattr(fn, "__func__", fn)
    code, defaults = getattr(fn, "__code__", None), getattr(fn, "__defaults__", None)
    if code is None or not defaults:
        yield None
        return
    names = code.co_varnames[:code.co_argcount]
    optional = names[len(names) - len(defaults):]
    flag = next((n for n, d in zip(optional, defaults) if n in TRAIN_FLAGS and d is False), None)
    if flag is None:
        yield None
        return
    running = _running_state(getattr(call, "fn", call))
    fn.__defaults__ = tuple(True if n == flag else d for n, d in zip(optional, defaults))
    try:
        same = True
        if args:
            one, err1 = probes.attempt(call, *args)
            two, err2 = probes.attempt(call, *args)
            same = err1 is None and err2 is None and np.array_equal(np.asarray(one), np.asarray(two))
        if not same:
            fn.__defaults__ = defaults
            for obj, name, value in running:  # as it was before the check, for the block in evaluation mode
                setattr(obj, name, np.copy(value) if isinstance(value, np.ndarray) else value)
        yield flag if same else None
    finally:
        fn.__defaults__ = defaults
        for obj, name, value in running:
            setattr(obj, name, value)


def _check_numgrad(subject, exam, x, t, observed, rng, budget, samples):
    theirs, xs, ts = observed, x, t
    if theirs is None:
        if subject.numerical_gradient is None:
            _skip(exam, "numerical_gradient", "absent", what="numerical_gradient")
            return
        xs, ts = x[:1], t[:1]
        per_call = []
        for _ in range(3):
            began = time.perf_counter()
            probes.attempt(subject.loss, xs, ts)
            per_call.append(time.perf_counter() - began)
        n = sum(v.size for v in subject.params.values() if isinstance(v, np.ndarray))
        # two losses per element if it loops over every one; a buggy loop (over rows only, say) is far
        # quicker, so where the call can be interrupted it is tried and stopped at the budget instead
        estimate = 2 * n * min(per_call) * 1.3
        began = time.perf_counter()
        saved = {k: v.copy() for k, v in subject.params.items() if isinstance(v, np.ndarray)}
        stopped = False
        with _time_limit(budget) as limited:
            if not limited and estimate > budget:
                _skip(exam, "numerical_gradient", "too-slow", estimate=estimate, n=int(n), budget=budget)
                return
            try:
                theirs, err = probes.attempt(subject.numerical_gradient, xs, ts, is_learner=subject.is_learner)
            except _OverBudget:
                stopped = True
        exam.learner_seconds += time.perf_counter() - began
        if stopped:
            restored(subject.params, saved)  # stopped mid-loop: its perturbations are undone, not judged
            _skip(exam, "numerical_gradient", "stopped", n=int(n), budget=budget)
            return
        exam.findings.append(restored(subject.params, saved))
        exam.measured["numerical_gradient_seconds"] = time.perf_counter() - began
        theirs = grads.as_grad_dict(theirs, subject.params)
        if err is not None:
            _learner_error(exam, "numerical_gradient", err)
            _skip(exam, "numerical_gradient", "raised", what="numerical_gradient", error=err)
            return
    if not isinstance(theirs, dict):
        _skip(exam, "numerical_gradient", "not-dict", what="numerical_gradient", type=type(theirs).__name__)
        return

    def loss():
        return probes.as_float(probes.quiet(subject.loss, xs, ts, is_learner=subject.is_learner))

    ref, precision = _reference(subject, xs, ts, loss, rng, theirs, samples)
    # their numerical gradient in float32 is only as good as a float32 loss lets it be, whatever ours is
    results = grads.compare(subject.params, ref, theirs, atol_scale=1e-4,
                            precision="float32" if precision == "precise32" else precision)
    exam.measured["numerical_gradient"] = results
    exam.findings += grads.numgrad_findings(subject.params, results)


def _check_pairs(x, t, exam):
    """labels-shuffled when the fed labels are not MNIST's labels of the fed images."""
    from ._doctor_data import true_labels
    form = probes.label_form(t)
    if form not in ("one-hot", "integer"):
        return None
    truth = true_labels(x)
    if truth is None:
        _skip(exam, "labels-shuffled", "not-mnist")
        return None
    fed = np.asarray(t).argmax(axis=1) if form == "one-hot" else np.asarray(t).astype(np.int64)
    known = truth >= 0
    exam.measured["labels_recognised"] = int(known.sum())
    if known.sum() < max(4, len(truth) // 2):
        _skip(exam, "labels-shuffled", "too-few", known=int(known.sum()), n=len(truth))
        return None
    agree = float(np.mean(fed[known] == truth[known]))
    exam.measured["labels_agree"] = agree
    if agree < 0.5:
        return probes.Finding("labels-shuffled", None, {"agree": agree, "known": int(known.sum())})
    return None


def restored(params, saved):
    """numgrad-mismatch when numerical_gradient() left parameters changed (an element not restored: by more
    than rounding); the learner's values are put back either way."""
    changed = {}
    for key, before in saved.items():
        now = params.get(key)
        if isinstance(now, np.ndarray) and now.shape == before.shape and not np.array_equal(now, before):
            shift = float(np.max(np.abs(np.asarray(now, np.float64) - before)))
            now[...] = before
            # restored by arithmetic (W[i] += h; W[i] -= 2 * h; W[i] += h) is restored to a few ulps: no bug
            scale = float(np.max(np.abs(before))) if before.size else 0.0
            eps = np.finfo(before.dtype).eps if before.dtype.kind == "f" else np.finfo(np.float64).eps
            if shift > 64 * eps * max(scale, np.finfo(np.float64).tiny):
                changed[key] = shift
    if not changed:
        return None
    keys = list(changed)
    return probes.Finding("numgrad-mismatch", keys[0] if len(keys) == 1 else None,
                          {"params": keys, "shift": max(changed.values())}, template="numgrad-not-restored")
