"""Probes of a learner's own functions: softmax/sigmoid on large inputs, the label form the loss expects,
whether the loss is averaged, the starting loss, and what the hidden units do at the first step.

Only wrong *values* are flagged: the book's ``1 / (1 + np.exp(-x))`` warns at -1000 but returns the
right 0.0, so it is healthy.
"""
import warnings

import numpy as np

from ._doctor_findings import Finding


class LearnerError(Exception):
    """The learner's own code raised: ``where`` is its file:line, ``error`` the original exception."""

    def __init__(self, error, where):
        super().__init__(f"{type(error).__name__}: {error}" + (f" (at {where})" if where else ""))
        self.error, self.where = error, where


def learner_location(exc, is_learner=None):
    """'file:line' of the innermost traceback frame in the learner's code (else the innermost frame)."""
    tb, where = exc.__traceback__, None
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if is_learner is None or is_learner(name):
            where = f"{name}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where


def quiet(fn, *args, is_learner=None):
    """fn(*args) with NumPy's warnings silenced; a learner's exception becomes LearnerError."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return fn(*args)
        except Exception as exc:  # the learner's code may fail in any way: report it, never crash
            raise LearnerError(exc, learner_location(exc, is_learner)) from None


def attempt(fn, *args, is_learner=None):
    """(result, None) or (None, LearnerError)."""
    try:
        return quiet(fn, *args, is_learner=is_learner), None
    except LearnerError as exc:
        return None, exc


def as_float(value):
    """A loss as a Python float (a 0-d or 1-element array is fine; of (loss, grads), the loss), else ValueError."""
    if isinstance(value, (tuple, list)) and len(value) >= 2 and np.ndim(value[0]) == 0 and \
            any(isinstance(v, (dict, list, tuple, np.ndarray)) for v in value[1:]):
        value = value[0]
    arr = np.asarray(value, dtype=np.float64)
    if arr.size != 1:
        raise ValueError(f"the loss returned {arr.size} values, not one number")
    return float(arr.reshape(()))


# --- softmax and sigmoid ------------------------------------------------------------------------------

SOFTMAX_PROBE = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [3.0, 1.0, 0.0]])
SOFTMAX_LARGE = np.array([[1000.0, 0.0, -1000.0], [800.0, 800.0, 0.0]])
SIGMOID_LARGE = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])


def probe_activations(functions):
    """Findings for the learner's softmax-like and sigmoid-like functions {name: callable}."""
    found, notes = [], []
    for name, fn in functions.items():
        low = name.lower()
        if "softmax" in low and "loss" not in low and "grad" not in low and "backward" not in low:
            found.append(_probe_softmax(name, fn, notes))
        elif "sigmoid" in low and "grad" not in low and "backward" not in low and "deriv" not in low:
            found.append(_probe_sigmoid(name, fn, notes))
    return [f for f in found if f is not None], notes


def _probe_softmax(name, fn, notes):
    y, err = attempt(fn, SOFTMAX_PROBE.copy())
    if err is not None or np.shape(y) != SOFTMAX_PROBE.shape:
        notes.append(("softmax", {"name": name, "why": str(err) if err else f"shape {np.shape(y)}"}))
        return None
    y = np.asarray(y, np.float64)
    sums = y.sum(axis=1)
    if np.all(np.isfinite(y)) and np.max(np.abs(sums - 1)) > 1e-6:
        return Finding("softmax-axis", None, {"function": name, "row_sums": [round(float(s), 6) for s in sums],
                                              "total": float(y.sum())})
    big, err = attempt(fn, SOFTMAX_LARGE.copy())
    if err is None and np.shape(big) == SOFTMAX_LARGE.shape:
        big = np.asarray(big, np.float64)
        if not np.all(np.isfinite(big)):
            return Finding("overflow", None, {"function": name, "input": "[[1000, 0, -1000], [800, 800, 0]]",
                                              "nonfinite": int(np.sum(~np.isfinite(big)))}, template="overflow-softmax")
    return None


def _probe_sigmoid(name, fn, notes):
    y, err = attempt(fn, SIGMOID_LARGE.copy())
    if err is not None or np.shape(y) != SIGMOID_LARGE.shape:
        notes.append(("sigmoid", {"name": name, "why": str(err) if err else f"shape {np.shape(y)}"}))
        return None
    y = np.asarray(y, np.float64)
    if not np.all(np.isfinite(y)) or y.min() < 0 or y.max() > 1:
        return Finding("overflow", None, {"function": name, "input": "[-1000, -50, 0, 50, 1000]",
                                          "output": [float(v) for v in y]}, template="overflow-sigmoid")
    expected = np.exp(-np.logaddexp(0.0, -SIGMOID_LARGE))
    if np.max(np.abs(y - expected)) > 1e-6:  # a guard that handles the whole array alike, say
        return Finding("overflow", None, {"function": name, "input": "[-1000, -50, 0, 50, 1000]",
                                          "output": [float(f"{v:.6g}") for v in y],
                                          "expected": [float(f"{v:.6g}") for v in expected]},
                       template="overflow-sigmoid-values")
    return None


def check_predict_rows(y):
    """softmax-axis when predict returns probabilities normalised over the wrong axis: rows that do not sum to 1
    while the whole batch, or each column, does. (Outputs in [0, 1] whose rows sum to anything, such as
    independent sigmoids trained with a squared error, are no softmax at all.)"""
    y = np.asarray(y, np.float64)
    if y.ndim != 2 or len(y) < 2 or not np.all(np.isfinite(y)) or y.min() < 0 or y.max() > 1:
        return None
    sums = y.sum(axis=1)
    over_batch = abs(float(y.sum()) - 1) < 1e-3 or np.max(np.abs(y.sum(axis=0) - 1)) < 1e-3
    if np.max(np.abs(sums - 1)) > 1e-3 and over_batch:
        return Finding("softmax-axis", None, {"function": "predict", "row_sums": [float(s) for s in sums[:5]],
                                              "total": float(y.sum())}, template="softmax-axis-predict")
    return None


# --- labels -------------------------------------------------------------------------------------------

def label_form(t):
    """'one-hot', 'integer' or a short description of what t is."""
    t = np.asarray(t)
    if t.ndim == 2 and t.size and np.all((t == 0) | (t == 1)) and np.all(t.sum(axis=1) == 1):
        return "one-hot"
    if t.ndim == 1 and t.size and np.issubdtype(t.dtype, np.number) and np.all(np.mod(t, 1) == 0):
        return "integer"
    return f"{t.dtype} array of shape {t.shape}"


def other_form(t, k):
    """The same labels in the other form (None when t is neither form or out of range)."""
    form = label_form(t)
    t = np.asarray(t)
    if form == "one-hot":
        return t.argmax(axis=1)
    if form == "integer" and k and t.min() >= 0 and t.max() < k:
        return np.eye(k)[t.astype(np.int64)]
    return None


def probabilities(y):
    """Rows of class probabilities from predict's output (softmax applied when it returns scores)."""
    y = np.asarray(y, np.float64)
    if y.ndim != 2:
        return None
    if y.min() >= 0 and np.allclose(y.sum(axis=1), 1, atol=1e-3):
        return y
    e = np.exp(y - y.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def check_labels(loss, x, t, k, predicted=None):
    """(finding or None, labels the loss accepts or None, notes) for the fed labels t.

    loss(x, t) is the learner's loss; k the number of classes; predicted the output of predict(x).
    """
    t = np.asarray(t)
    form = label_form(t)
    notes = []
    if t.ndim == 0 or len(t) != len(x):
        return Finding("labels", None, {"shape": list(t.shape), "examples": len(x)}, "labels-count"), None, notes
    if form == "one-hot" and k and t.shape[1] != k:
        return Finding("labels", None, {"columns": int(t.shape[1]), "outputs": int(k)}, "labels-width"), None, notes
    if form == "integer" and k and (t.min() < 0 or t.max() >= k):
        return Finding("labels", None, {"min": float(t.min()), "max": float(t.max()), "outputs": int(k)},
                       "labels-range"), None, notes
    if form not in ("one-hot", "integer"):
        return Finding("labels", None, {"form": form}, "labels-form"), None, notes
    fed, fed_err = attempt(loss, x, t)
    alt = other_form(t, k)
    if alt is None:
        return None, (t if fed_err is None else None), notes
    got, alt_err = attempt(loss, x, alt)
    alt_name = "integer" if form == "one-hot" else "one-hot"
    if fed_err is not None and alt_err is None:
        return Finding("labels", None, {"fed": form, "expects": alt_name, "error": str(fed_err)},
                       "labels-rejected"), alt, notes
    if fed_err is not None:
        notes.append(("labels-both-fail", {"error": str(fed_err)}))
        return None, None, notes
    if alt_err is not None:
        return None, t, notes
    fed, got = _num(fed), _num(got)
    if fed is None or got is None or np.isclose(fed, got, rtol=1e-6, atol=1e-9):
        return None, t, notes
    p = probabilities(predicted) if predicted is not None else None
    if p is None:
        notes.append(("labels-undecided", {"fed": form, "fed_loss": fed, "other_loss": got}))
        return None, t, notes
    truth = t.argmax(axis=1) if form == "one-hot" else t.astype(np.int64)
    ce = float(-np.mean(np.log(p[np.arange(len(p)), truth] + 1e-7)))
    matches = [abs(v - c) <= 0.05 * abs(c) + 1e-6 for v in (fed, got) for c in (ce, ce * len(p))]
    fed_ok, alt_ok = any(matches[:2]), any(matches[2:])
    if alt_ok and not fed_ok:
        return Finding("labels", None, {"fed": form, "expects": alt_name, "fed_loss": fed, "right_loss": got},
                       "labels-misread"), alt, notes
    return None, t, notes


def _num(v):
    try:
        return as_float(v)
    except (TypeError, ValueError):
        return None


def check_loss_averaged(loss, x, t):
    """loss-not-averaged when the loss of the batch repeated twice is ~2x the batch's loss."""
    one, e1 = attempt(loss, x, t)
    two, e2 = attempt(loss, np.concatenate([x, x]), np.concatenate([t, t]))
    one, two = (_num(one), _num(two)) if e1 is None and e2 is None else (None, None)
    if one is None or two is None or not np.isfinite(one) or not np.isfinite(two) or one <= 1e-12:
        return None
    ratio = two / one
    if ratio > 1.5:
        return Finding("loss-not-averaged", None, {"ratio": ratio, "batch_size": len(x)})
    return None


def check_start_loss(value, k, step):
    """The loss at the first step against ln(classes) (what small random weights give)."""
    if value is None or not k or step != 0:
        return None
    expected = float(np.log(k))
    if np.isfinite(value) and value > 2.5 * expected:
        return {"start_loss": value, "expected": expected}
    return None


# --- what the hidden units do -------------------------------------------------------------------------

class ActivationRecorder:
    """Records inputs and outputs of the learner's sigmoid/relu (functions, or Sigmoid/Relu layers' forward).

    Wraps them in the given namespaces for the duration of a ``with`` block (profiling hooks are off
    while a profiler runs, so wrapping is what works everywhere):
    ``with ActivationRecorder([module_globals]) as rec: loss(x, t)``.
    """

    def __init__(self, namespaces):
        self.namespaces, self.calls, self._undo = namespaces, [], []

    @staticmethod
    def kind(name):
        name = name.lower()
        if any(w in name for w in ("grad", "backward", "deriv", "prime")):
            return None
        return next((k for k in ("sigmoid", "relu") if k in name), None)

    def _wrap(self, fn, kind):
        calls = self.calls

        def recorded(*args, **kwargs):
            out = fn(*args, **kwargs)
            a = next((v for v in args if isinstance(v, np.ndarray)), None)
            if isinstance(out, np.ndarray) and a is not None and out.shape == a.shape:
                calls.append((kind, np.array(a, np.float64), np.array(out, np.float64)))
            return out
        recorded.__wrapped__ = fn
        return recorded

    def __enter__(self):
        seen = set()
        for ns in self.namespaces:
            for name, value in list(ns.items()):
                kind = self.kind(name)
                if kind is None or id(value) in seen:
                    continue
                if isinstance(value, type) and callable(getattr(value, "forward", None)):
                    seen.add(id(value))
                    self._undo.append((value, "forward", value.__dict__.get("forward"), True))
                    setattr(value, "forward", self._wrap(value.forward, kind))
                elif callable(value) and not isinstance(value, type):
                    self._undo.append((ns, name, value, False))
                    ns[name] = self._wrap(value, kind)
        return self

    def __exit__(self, *exc):
        for owner, name, value, is_attr in reversed(self._undo):
            if is_attr:
                if value is None:
                    delattr(owner, name)
                else:
                    setattr(owner, name, value)
            else:
                owner[name] = value
        self._undo = []
        return False


def check_units(calls, x_in_range):
    """(finding, measured) about the hidden units at the first step, from ActivationRecorder calls."""
    for layer, (kind, a, z) in enumerate(calls, start=1):
        if kind not in ("sigmoid", "relu") or z.ndim != 2 or z.shape[1] < 2:
            continue
        if kind == "sigmoid":
            share = float(np.mean((z < 1e-3) | (z > 1 - 1e-3)))
            if share > 0.5:
                return Finding("saturation", None, {"layer": layer, "share": share,
                                                    "preactivation_std": float(a.std())})
        else:
            dead = float(np.mean(np.all(z <= 0, axis=0)))
            if dead > 0.5:
                return Finding("dead-units", None, {"layer": layer, "share": dead,
                                                    "preactivation_mean": float(a.mean())})
    return None


def _rms(W):
    return float(np.sqrt(np.mean(np.square(W))))


def _ideal(W):
    return float(1 / np.sqrt(W.shape[0]))


def check_init(params, calls, start):
    """init-symmetric / init-scale from the parameters and the first forward pass."""
    weights = [(k, np.asarray(v, np.float64)) for k, v in params.items()
               if isinstance(v, np.ndarray) and v.ndim >= 2 and min(v.shape) > 1]
    same = [k for k, W in weights if np.ptp(W) == 0]
    if same:
        return Finding("init-symmetric", same[0] if len(same) == 1 else None,
                       {"params": same, "value": float(weights[[k for k, _ in weights].index(same[0])][1].flat[0])})
    for layer, (kind, a, z) in enumerate(calls, start=1):
        if layer - 1 >= len(weights) or a.ndim != 2:
            break
        key, W = weights[layer - 1]
        spread = float(a.std())
        if kind == "sigmoid" and float(np.mean(np.abs(a) > 6.9)) > 0.5:
            spread = max(spread, 6.01, float(np.mean(np.abs(a))))
        if spread > 6.0 or (spread < 1e-4 and float(np.abs(W).max()) < 1e-3):
            large = spread > 6.0
            off = [k for k, V in weights
                   if (_rms(V) > 3 * _ideal(V) if large else _rms(V) < 1e-3 * _ideal(V))]
            param = key if len(off) <= 1 else None
            return Finding("init-scale", param, {"std": _rms(W), "ideal": _ideal(W), "preactivation_std": spread,
                                                 "params": off or [key], "layer_param": key},
                           template="init-scale-large" if large else "init-scale-small")
    if start is not None and weights:
        key, W = weights[-1]
        return Finding("init-scale", key, dict(start, std=float(W.std()), ideal=float(1 / np.sqrt(W.shape[0]))),
                       template="init-scale-loss")
    return None
