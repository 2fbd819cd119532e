"""Run a learner's script as ``python FILE.py`` would, watch its first training steps, examine them.

Run as ``python -m fastnn._doctor_runner FILE --out RESULT.json [--steps N] [--timeout S]`` in a child
process (``fastnn doctor`` does this): the script runs from its own folder with its own ``sys.path``
changes, with MNIST loaders served offline (``_doctor_sandbox``), files it writes redirected to a
temporary folder, plotting non-interactive. A profiler filtered to the learner's files records the
top-level calls of its ``gradient``/``numerical_gradient``/``loss``: each gradient call is a step. At the
first step, the network is examined on the batch it was fed (``_doctor_examine``); between steps, the
parameters before and after tell what the update did. The watch ends after ``--steps`` steps or
``--timeout`` seconds by raising ``StopWatching`` (a BaseException the learner's ``except Exception``
cannot swallow). The result (findings, measurements, what was not checked) goes to ``--out`` as JSON.
"""
import argparse
import ast
import contextlib
import json
import os
import signal
import sys
import time

import numpy as np

from . import _doctor_inline as inline
from . import _doctor_sandbox as sandbox
from . import _doctor_perparam as perparam
from . import _doctor_updates as updates
from ._doctor_examine import Subject, examine, restored, training_mode
from ._doctor_findings import rank
from ._doctor_gradients import as_grad_dict
from ._doctor_probes import as_float, attempt, learner_location
from ._doctor_params import (GlobalParams, ListParams, NamedDict, OwnerParams, _float_arrays, _held_params, _live,
                             _params_dict, snapshot, _write)


#: Methods that run one training step themselves (their gradient is used when a gradient() is called inside).
STEP_NAMES = {"train_step", "train", "step", "update", "fit_batch", "train_batch", "train_on_batch", "sgd_step",
              "learn", "learn_step", "optimize", "optimize_step", "training_step", "fit_step"}


#: A network's forward pass, whose result a backward(params, cache, t) may be given (the batch is the forward's).
FORWARD_NAMES = {"forward", "predict", "forward_pass", "feedforward", "feed_forward", "forward_propagation",
                 "forward_prop", "model_forward"}


class StopWatching(BaseException):
    """Ends the watched run (steps seen or time up)."""


def _loss_and_grads(result, params):
    """Whether a loss call's result is (loss, gradients): a number first, then what as_grad_dict matches to the
    parameters."""
    if not isinstance(result, (tuple, list)) or len(result) < 2 or np.ndim(result[0]) != 0:
        return False
    grads = as_grad_dict(result, params)
    return isinstance(grads, dict) and any(isinstance(v, np.ndarray) for v in grads.values())


def _copy_grads(result, params):
    result = as_grad_dict(result, params)
    if isinstance(result, dict):
        return {k: np.array(v, dtype=np.float64, copy=True) if isinstance(v, np.ndarray) else v
                for k, v in result.items()}
    return result


class Call:
    """A learner's function as called, replayable with another batch."""

    holder = None  # the network object a function was called with (train_step(net, x, t)), if any
    predict = None  # predict(x) where the call is backward(cache, t) after a forward pass
    live = None  # the parameters as a NamedDict: the dict the call was given is replaced by the current one

    def __init__(self, fn, names, values, x_name, t_name):
        self.fn, self.names, self.values, self.x_name, self.t_name = fn, names, values, x_name, t_name

    def __call__(self, x, t=None):
        values = dict(self.values, **{self.x_name: x})
        if self.t_name is not None and t is not None:
            values[self.t_name] = t
        values = _live(values, self.live)
        return self.fn(*[values[n] for n in self.names])

    def like(self, fn):
        """The same call pattern for another function of the learner (matched by argument names)."""
        code = getattr(fn, "__code__", None)
        if code is None:
            return None
        names = list(code.co_varnames[:code.co_argcount])
        if hasattr(fn, "__self__"):
            names = names[1:]
        # arguments with defaults (train_flg=False) are given only as far as this call has them, in order
        optional = len(getattr(fn, "__defaults__", None) or ())
        required, given = names[:len(names) - optional], names[:len(names) - optional]
        for n in names[len(required):]:
            if n not in self.values:
                break
            given.append(n)
        if all(n in self.values for n in required):
            return self._with(Call(fn, given, self.values, self.x_name, self.t_name if self.t_name in given else None))
        if len(required) == len(self.names):
            return self._with(Call(fn, self.names, self.values, self.x_name, self.t_name)) if \
                hasattr(fn, "__self__") == hasattr(self.fn, "__self__") else \
                self._with(Call(lambda *a: fn(*a), self.names, self.values, self.x_name, self.t_name))
        if len(required) == 1:  # predict(inputs): the batch
            return self._with(Call(fn, [self.x_name], self.values, self.x_name, None))
        return None

    def _with(self, other):
        other.live = self.live
        return other


def _composed_loss(predict, namespace, is_learner):
    """loss(x, t) = error(predict(x), t) from a learner's error function (cross_entropy_error, ...)."""
    for name, fn in namespace.items():
        low = name.lower()
        code = getattr(fn, "__code__", None)
        if code is None or not is_learner(code.co_filename) or code.co_argcount != 2:
            continue
        if "entropy" in low or "loss" in low or low.endswith("error"):
            def loss(x, t, fn=fn):
                y = predict(x)
                if isinstance(y, (tuple, list)):
                    y = next(v for v in reversed(y) if isinstance(v, np.ndarray))
                return fn(y, t)
            return loss
    return None


class Watch:
    """The profiler that records the learner's steps, and what it measured."""

    def __init__(self, script, steps, timeout, budget):
        self.script, self.steps, self.timeout, self.budget = script, steps, timeout, budget
        self.is_learner = sandbox.learner_files(script)
        self.stack, self.step_records, self.loss_values = [], [], []
        self.subject = self.exam = None
        self.stop_reason = ["stop-ended", {}]
        self.doctor_seconds = 0.0
        self.main_globals = None
        self.internal_errors = []
        self.too_slow = 0.0
        self.fixed_losses = []
        self.first_training = None  # index of the first step that changed the network
        self.pending = None
        self.extra = []
        self.param_call = None  # (frame, key, W as it was) inside a numerical_gradient(f, W) of a step
        self.pending_loss = None  # (frame, call, parameters before) of a loss call that may return its gradient
        self.forward_call = self.last_forward = None  # a forward pass's arguments; with its result
        self.inline = None  # a step written inline in a loop's body (_doctor_inline): its InlineStep
        self.inline_at = None  # the script's syntax tree, and its frames with loops: [heads, body, namespace, tried]
        self.inline_before = None  # the parameters at the last pass of the step loop's head

    # -- a step written inline (_doctor_inline): a line tracer on the script's frames with loops ------------
    def trace(self, frame, event, arg):
        if event != "call" or self.inline is not None:
            return None
        if self.step_records and not self.step_records[0].get("inline"):
            self.inline = False  # the program's own functions are its steps
            return None
        code = frame.f_code
        if self.inline_at is None:
            self.inline_at = {"tree": None, "frames": {}, "heads": {}}
        known = self.inline_at["heads"].get(code)
        if known is None:  # once per code object: the module's statements, or a function's (def main(): ...)
            known = self.inline_at["heads"][code] = self.loop_heads(code)
        heads, body = known
        if not heads:
            return None
        namespace = frame.f_globals if code.co_name == "<module>" else inline.FrameNamespace(frame)
        self.inline_at["frames"][frame] = [heads, body, namespace, -1]
        return self.trace_line

    def loop_heads(self, code):
        """(head lines of the loops, statements) of the script's code object ``code``; (empty, None) for others."""
        if os.path.realpath(code.co_filename) != os.path.realpath(self.script):
            return set(), None
        if self.inline_at["tree"] is None:
            try:
                with open(self.script, encoding="utf-8") as f:
                    self.inline_at["tree"] = ast.parse(f.read())
            except (OSError, SyntaxError, ValueError):
                self.inline_at["tree"] = False
        body = inline.body_of(self.inline_at["tree"], code) if self.inline_at["tree"] else None
        return ({loop.lineno for loop, _ in inline.loops(body)} if body is not None else set()), body

    def trace_line(self, frame, event, arg):
        if event == "return" and self.inline_at is not None:  # a frame kept no longer than it runs
            self.inline_at["frames"].pop(frame, None)
        if event != "line" or self.inline is False or self.inline_at is None:
            return self.trace_line
        entry = self.inline_at["frames"].get(frame)
        if entry is None or frame.f_lineno not in entry[0]:
            return self.trace_line
        heads, body, namespace, tried = entry
        if self.inline is None:  # the step loop, once the parameters it updates exist
            if len(namespace) == tried:
                return self.trace_line
            entry[3] = len(namespace)
            found = inline.plan(body, namespace, frame.f_code.co_filename)
            if found is None:
                return self.trace_line
            self.inline = inline.InlineStep(found, namespace)
            self.inline_at["frames"] = {frame: [{found.head}, body, namespace, -1]}
            if frame.f_lineno != found.head:  # found at an outer loop's head: the step loop starts later
                return self.trace_line
        self.inline_pass(frame)
        return self.trace_line

    def inline_pass(self, frame):
        """The step loop's head: the step before it (if any) is over, its update done."""
        step = self.inline
        if self.step_records and not any(r.get("inline") for r in self.step_records):
            self.inline = False  # the program's own functions were seen as steps: those are watched
            return
        now = snapshot(step.params)
        before, self.inline_before = self.inline_before, now
        if before is None:
            return
        ns = step.namespace
        batch = step.batch() if step.x_name is None else step.as_rows(ns[step.x_name], ns[step.t_name])
        if batch is None:
            self.inline = False
            return
        x, t = batch
        if step.loss_name is None and not step.grad_names:
            self.paused(self.inline_names, step, x, t, now, before)
            if step.loss_name is None and not step.grad_names:
                self.inline = False
                return
        if self.main_globals is None:
            self.main_globals = frame.f_globals
        grads = {k: np.array(v, dtype=np.float64, copy=True) for k, v in step.grads_of(ns).items()}
        loss = ns.get(step.loss_name) if step.loss_name else None
        call = Call(step.gradient, ["x", "t"], {"x": x, "t": t}, "x", "t")
        if self.subject is None:
            loss_call = Call(step.loss, ["x", "t"], {"x": x, "t": t}, "x", "t") if step.loss_name else None
            self.subject = Subject(
                params=step.params, loss=loss_call, gradient=call if step.grad_names else None,
                predict=Call(step.predict, ["x"], {"x": x}, "x", None) if step.output_name else None,
                functions=sandbox.learner_functions(self.is_learner, frame.f_globals), is_learner=self.is_learner,
                namespaces=sandbox.learner_namespaces(self.is_learner, frame.f_globals), columns=step.columns)
        self.begin_step(frame, "gradient", (None, step.params, call), before=before)
        record = self.step_records[-1]
        record["inline"] = True
        record["grads"] = grads or None
        try:
            self.loss_values.append((len(self.step_records) - 1, as_float(loss)))
        except (TypeError, ValueError):
            pass
        if self.exam is None:  # examined as the network was before that step
            _write(record["params"], before)
            try:
                self.paused(self.examine_first, record)
            finally:
                _write(record["params"], now)

    def inline_names(self, step, x, t, now, before):
        """Replay the step once (on its batch, the network as before it) to learn which variables are what."""
        _write(step.params, before)
        try:
            step.learn_names(step.run(x, t))
        except Exception:  # the loop's body does not run apart from the loop: not examined this way
            step.loss_name, step.grad_names = None, {}
        finally:
            _write(step.params, now)

    # -- the profiler -----------------------------------------------------------------------------
    def profile(self, frame, event, arg):
        if event == "call":
            code = frame.f_code
            if any(k != "step" for _, k in self.stack) or not self.is_learner(code.co_filename):
                return
            kind = self.kind(code.co_name)
            if kind and not (kind == "step" and self.stack):
                self.stack.append((frame, kind))
                self.on_call(frame, kind)
            elif kind is None and code.co_name.lower() in FORWARD_NAMES:
                self.stack.append((frame, "forward"))
                names = list(code.co_varnames[:code.co_argcount])
                self.forward_call = (frame, names, {n: frame.f_locals.get(n) for n in names})
        elif event == "return" and self.stack and self.stack[-1][0] is frame:
            _, kind = self.stack.pop()
            self.on_return(frame, kind, arg)

    @staticmethod
    def kind(name):
        low = name.lower()
        if any(w in low for w in ("sigmoid", "relu", "softmax", "forward", "_grad_")):
            return None
        if "grad" in low or low in ("backward", "backprop", "backpropagation", "backpropagate"):
            return "numerical_gradient" if "numer" in low else "gradient"
        if "loss" in low or low == "cost":
            return "loss"
        if low in STEP_NAMES:
            return "step"
        return None

    def on_call(self, frame, kind):
        if kind == "loss":  # a loss(x, y) that returns (loss, grads) is a gradient call: known at its return
            if len(self.stack) == 1 or all(k == "step" for _, k in self.stack[:-1]):
                call = self.describe(frame)
                self.pending_loss = (frame, call, snapshot(call[1])) if call is not None else None
            return
        if self.main_globals is None:
            self.main_globals = frame.f_globals
        call = self.describe(frame)
        if kind == "step":  # a train_step(x, t) that may or may not call a gradient() we can see
            self.pending = (frame, call, snapshot(call[1])) if call is not None else None
            return
        self.pending = None
        if call is None:
            per = perparam.find(frame, self.is_learner, (OwnerParams, ListParams, GlobalParams))
            if per is not None:
                self.parameter_call(frame, per)
            return
        self.begin_step(frame, kind, call)

    def parameter_call(self, frame, per):
        """numerical_gradient(f, W) for one parameter W: a step's calls are gathered in one record (a new step
        begins with a parameter the current step has already differentiated)."""
        owner, params, key, replay, x, t = per
        record = self.step_records[-1] if self.step_records else None
        if record is None or "per_parameter" not in record or "after" in record or key in record["per_parameter"]:
            if self.subject is None:
                self.subject = self.make_subject(owner, params, None, frame, replay=replay, batch=(x, t))
            call = Call(replay.loss, ["x", "t"], {"x": x, "t": t}, "x", "t")
            self.begin_step(frame, "numerical_gradient", (owner, params, call))
            record = self.step_records[-1]
            record["per_parameter"] = {}
        # a parameter updated before the next one is differentiated: the later gradients are of another network
        record["interleaved"] = record.get("interleaved") or any(
            not np.array_equal(params[k], v) for k, v in record["before"].items() if k in params)
        self.param_call = (frame, key, np.array(params[key], copy=True))

    def begin_step(self, frame, kind, call, before=None):
        step = len(self.step_records)
        if step and "after" not in self.step_records[-1]:
            self.close_step(frame, before)
        done = step - self.first_training if self.first_training is not None else step
        if done >= self.steps and not updates.undecided(self):
            self.stop_reason = ["stop-steps", {"n": done}] if done <= self.steps else ["stop-steps-more", {"n": done}]
            raise StopWatching()
        owner, params, fn_call = call
        if self.subject is None:
            self.subject = self.make_subject(owner, params, fn_call, frame, kind)
        x, t = fn_call.values[fn_call.x_name], fn_call.values.get(fn_call.t_name)
        self.step_records.append({"kind": kind, "before": before if before is not None else snapshot(params),
                                  "params": params, "x": x, "t": t})
        if kind == "numerical_gradient" and step == 0:
            self.paused(self.numgrad_cost, params, x, t)
            if self.too_slow:
                self.stop_reason = ["stop-slow", {"seconds": self.too_slow}]
                raise StopWatching()

    def on_return(self, frame, kind, result):
        if kind == "forward":
            if self.forward_call is not None and self.forward_call[0] is frame:
                self.last_forward = (frame.f_code, frame.f_globals) + self.forward_call[1:] + (result,)
            return
        if self.param_call is not None and self.param_call[0] is frame:
            _, key, was = self.param_call
            self.param_call = None
            record = self.step_records[-1]
            if isinstance(result, np.ndarray) and result.shape == was.shape:
                record["per_parameter"][key] = np.array(result, dtype=np.float64, copy=True)
            record["grads"] = record["per_parameter"]
            if len(self.step_records) == 1:  # its numerical gradient must leave W as it found it
                self.extra.append(restored({key: record["params"][key]}, {key: was}))
            return
        if kind == "step":
            pending, self.pending = self.pending, None
            if pending is not None and pending[0] is frame:  # no gradient() seen inside: the step itself
                self.begin_step(frame, "step", pending[1], before=pending[2])
                record = self.step_records[-1]
                record["grads"] = None
                if self.exam is None:  # examine the network as it was before this step
                    now = snapshot(record["params"])
                    _write(record["params"], record["before"])
                    try:
                        self.paused(self.examine_first, record)
                    finally:
                        _write(record["params"], now)
            return
        if kind == "loss":
            pending, self.pending_loss = self.pending_loss, None
            if pending is not None and pending[0] is frame and _loss_and_grads(result, pending[1][1]):
                self.pending = None  # (the cs231n way: loss, grads = net.loss(x, y)) a step
                if self.main_globals is None:
                    self.main_globals = frame.f_globals
                self.begin_step(frame, "gradient", pending[1], before=pending[2])
                kind, result = "gradient", result
            else:
                try:
                    self.loss_values.append((len(self.step_records), as_float(result)))
                except (TypeError, ValueError):
                    pass
                return
        if not self.step_records or "grads" in self.step_records[-1]:
            return
        record = self.step_records[-1]
        record["grads"] = _copy_grads(result, record["params"])
        params = record["params"]
        if isinstance(params, OwnerParams) and isinstance(record["grads"], dict) and len(self.step_records) == 1 \
                and set(record["grads"]) < set(params):  # what the gradient does not cover is no parameter
            params.keep(record["grads"])
            record["before"] = {k: v for k, v in record["before"].items() if k in params}
        if kind == "numerical_gradient" and len(self.step_records) == 1:
            self.extra.append(restored(record["params"], record["before"]))
        if self.exam is None:
            self.paused(self.examine_first, record)

    def describe(self, frame):
        """(owner, params, Call) for a gradient call, or None when it does not look like a network's."""
        code = frame.f_code
        names = list(code.co_varnames[:code.co_argcount])
        values = {n: frame.f_locals.get(n) for n in names}
        owner = values.get(names[0]) if names and names[0] == "self" else None
        holder = None
        arrays = [n for n in names if isinstance(values[n], np.ndarray) and np.issubdtype(values[n].dtype, np.number)]
        if owner is not None:
            params = getattr(owner, "params", None)
            if not _params_dict(params):
                params = OwnerParams(owner)
            fn = getattr(owner, code.co_name, None)
            names = names[1:]
        else:
            params = next((values[n] for n in names if _params_dict(values[n])), None)
            if params is not None:
                params = NamedDict.find(frame.f_back, params) or params
            if params is None:  # functions over a list of arrays: gradient(params, x, t), params = [W1, b1, ...]
                params = next((ListParams(n, values[n]) for n in names if _float_arrays(values[n])), None)
            if params is None:  # functions of a network object: train_step(net, x, t), its methods called on it
                holder = next((values[n] for n in names if _held_params(values[n]) is not None), None)
                params = _held_params(holder) if holder is not None else None
            if params is None:  # functions over a global params dict
                name = next((k for k, v in sorted(frame.f_globals.items(), key=lambda kv: kv[0] != "params")
                             if not k.startswith("_") and _params_dict(v)), None)
                if name is not None:
                    globals_ = frame.f_globals
                    params = NamedDict(lambda: globals_, name, globals_[name])
            if params is None:  # functions over global arrays W1, b1, ...
                params = GlobalParams.find(frame.f_globals)
            fn = frame.f_globals.get(code.co_name)
        if not params or fn is None or getattr(fn, "__code__", None) is not code and \
                getattr(getattr(fn, "__func__", None), "__code__", None) is not code:
            return None
        if not arrays:
            return None
        ours = {id(v) for v in params.values()}
        arrays = [n for n in arrays if id(values[n]) not in ours]  # numerical_gradient(f, W): W is no batch
        if len(arrays) == 1:  # backward(params, cache, t): the batch is that of the forward pass it was given
            return self.after_forward(owner, holder, params, fn, names, values, arrays[0])
        if len(arrays) < 2:
            return None
        x_name = max(arrays[:2], key=lambda n: values[n].ndim)
        t_name = next((n for n in arrays if n != x_name), None)
        values = {n: values[n] for n in names}
        call = Call(fn, names, values, x_name, t_name)
        call.holder, call.live = holder, params
        return owner if owner is not None else holder, params, call

    def after_forward(self, owner, holder, params, fn, names, values, t_name):
        """(owner, params, Call) for backward(..., cache, t) given (part of) the last forward pass's result: the
        call replayed on (x, t) runs that forward pass on x first."""
        if self.last_forward is None:
            return None
        code, namespace, f_names, f_values, result = self.last_forward
        parts = list(result) if isinstance(result, (tuple, list)) else list(result.values()) \
            if isinstance(result, dict) else []
        keys = list(range(len(parts))) if isinstance(result, (tuple, list)) else list(result) if parts else []
        cache_name, cache_key = next(((n, None) for n in names if values[n] is result), (None, None))
        if cache_name is None:
            cache_name, cache_key = next(((n, k) for n in names for k, v in zip(keys, parts) if values[n] is v),
                                         (None, None))
        batch = [n for n in f_names if isinstance(f_values[n], np.ndarray) and f_values[n].dtype.kind in "fiu"
                 and id(f_values[n]) not in {id(v) for v in params.values()}]
        if cache_name is None or not batch:
            return None
        x_name = max(batch, key=lambda n: f_values[n].ndim)
        f_owner = f_values.get(f_names[0]) if f_names and f_names[0] == "self" else None
        forward = getattr(f_owner, code.co_name, None) if f_owner is not None else namespace.get(code.co_name)
        if getattr(forward, "__code__", None) is not code and \
                getattr(getattr(forward, "__func__", None), "__code__", None) is not code:
            return None
        f_args = f_names[1:] if f_owner is not None else f_names

        def forward_on(x):
            given = _live(dict(f_values, **{x_name: x}), params)
            return forward(*[given[n] for n in f_args])

        def backward_on(x, t):
            out = forward_on(x)
            given = _live(dict(values, **{cache_name: out if cache_key is None else out[cache_key], t_name: t}),
                          params)
            return fn(*[given[n] for n in names])

        def predict(x):
            out = forward_on(x)
            if isinstance(out, dict):
                out = list(out.values())
            if isinstance(out, (tuple, list)):  # (y, cache): the output is the first array
                out = next((v for v in out if isinstance(v, np.ndarray)), out)
            return out

        pair = {"x": f_values[x_name], "t": values[t_name]}
        call = Call(backward_on, ["x", "t"], pair, "x", "t")
        call.holder, call.predict = holder, Call(predict, ["x"], pair, "x", None)
        return owner if owner is not None else holder, params, call

    def make_subject(self, owner, params, call, frame, kind="gradient", replay=None, batch=None):
        ns = frame.f_globals
        if replay is not None:  # numerical_gradient(f, W) per parameter: the loss is f, on the batch f reads
            ns = replay.f.__globals__
            call = Call(replay.loss, ["x", "t"], {"x": batch[0], "t": batch[1]}, "x", "t")
            kind = "numerical_gradient"

        def method_or_function(*names):
            for name in names:
                fn = getattr(owner, name, None) if owner is not None else None
                if fn is None and (owner is None or getattr(call, "holder", None) is not None):
                    fn = ns.get(name)  # a function of a network object: its methods, else the module's functions
                if replay is not None and getattr(fn, "__code__", None) is replay.routine.__code__:
                    continue  # the per-parameter routine itself (named gradient, say) takes (f, W)
                if callable(fn):
                    return call.like(fn)
            return None

        grad = call if kind == "gradient" else method_or_function("gradient")
        numgrad = call if kind == "numerical_gradient" else None
        if numgrad is None and owner is not None:
            numgrad = method_or_function("numerical_gradient")
        loss = method_or_function("loss", "loss_function", "compute_loss", "cost")
        if replay is not None:
            numgrad, loss = call.like(replay.numerical_gradient), call
        predict = getattr(call, "predict", None) or method_or_function("predict", "forward")
        if loss is None and predict is not None:
            loss = _composed_loss(predict, ns, self.is_learner)
        return Subject(params=params, loss=loss, gradient=grad, numerical_gradient=numgrad, predict=predict,
                       functions=sandbox.learner_functions(self.is_learner, ns), is_learner=self.is_learner,
                       namespaces=sandbox.learner_namespaces(self.is_learner, ns))

    # -- the doctor's own work, with the clock and the profiler paused ------------------------------
    def paused(self, work, *args):
        remaining = signal.setitimer(signal.ITIMER_REAL, 0)[0]
        began = time.perf_counter()
        try:
            work(*args)
        except Exception as exc:  # a doctor that errs must not end the learner's run: say what failed
            self.internal_errors.append(f"{getattr(work, '__name__', 'check')}: {type(exc).__name__}: {exc} "
                                        f"(at {learner_location(exc)})")
        finally:
            self.doctor_seconds += time.perf_counter() - began
            if remaining:
                signal.setitimer(signal.ITIMER_REAL, remaining)

    def numgrad_cost(self, params, x, t):
        """Seconds the program's numerical_gradient would take: 2 losses per parameter element."""
        self.too_slow = 0.0
        if self.subject is None or self.subject.loss is None:
            return
        times = []
        for _ in range(3):
            began = time.perf_counter()
            attempt(self.subject.loss, x, t)
            times.append(time.perf_counter() - began)
        n = sum(v.size for v in params.values() if isinstance(v, np.ndarray))
        estimate = 2 * n * min(times)
        if estimate > min(self.budget, self.timeout):
            self.too_slow = estimate

    def examine_first(self, record):
        if self.subject is None or self.subject.loss is None:
            self.exam = False
            return
        source = record["kind"]
        observed = record.get("grads")
        self.exam = examine(self.subject, record["x"], record["t"], observed=observed, observed_source=source,
                            numgrad_budget=self.budget)

    def close_step(self, frame, after=None):
        record = self.step_records[-1]
        if "per_parameter" in record and self.exam is None:  # examined once its parameters are all differentiated,
            now = snapshot(record["params"])                 # as the network was before the step
            _write(record["params"], record["before"])
            try:  # gradients taken after an update of another parameter are not the network's: ours are
                self.paused(self.examine_first, dict(record, grads=None) if record.get("interleaved") else record)
            finally:
                _write(record["params"], now)
        record["after"] = after if after is not None else snapshot(record["params"])
        self.paused(updates.close, record, frame.f_back if frame is not None else None, self.main_globals)
        if self.first_training is None and any(m["changed"] for m in record.get("measures", {}).values()):
            # calls before that one (a gradient check on a few images, say) trained nothing: not steps
            self.first_training = len(self.step_records) - 1
            if self.first_training and self.exam:  # examined on a call that trained nothing: examine again on
                now = snapshot(record["params"])  # the first batch it trains on, as it was before that step
                _write(record["params"], record["before"])
                try:
                    self.paused(self.examine_first, record)
                finally:
                    _write(record["params"], now)
            if self.exam:
                with loss_mode(self):
                    self.paused(updates.judge_first_step, self, record)
        if self.exam and self.exam.labels is not None and self.first_training is not None:
            self.paused(self.fixed_batch_loss)

    def fixed_batch_loss(self):
        """The learner's loss on the first step's batch, after each step (a trajectory free of batch noise)."""
        first = self.step_records[self.first_training]
        with loss_mode(self):
            value, err = attempt(self.subject.loss, first["x"], first["t"])
        try:
            self.fixed_losses.append(as_float(value) if err is None else float("nan"))
        except (TypeError, ValueError):
            pass

    # -- running ----------------------------------------------------------------------------------
    def run(self):
        def alarm(signum, stack):
            self.stop_reason = ["stop-timeout", {"seconds": self.timeout}]
            raise StopWatching()

        signal.signal(signal.SIGALRM, alarm)
        error = None
        signal.setitimer(signal.ITIMER_REAL, self.timeout)
        sys.setprofile(self.profile)
        sys.settrace(self.trace)
        self.looping = False
        try:
            sandbox.run_script(self.script)
        except StopWatching:
            self.looping = True
        except SystemExit as exc:
            self.stop_reason = ["stop-exit", {"code": str(exc.code)}]
        except BaseException as exc:  # the learner's error, reported as theirs
            where = learner_location(exc, self.is_learner)
            if isinstance(exc, SyntaxError):
                where = f"{exc.filename}:{exc.lineno}"
            error = {"type": type(exc).__name__, "message": str(exc), "where": where}
            self.stop_reason = ["stop-error", {}]
        finally:
            sys.setprofile(None)
            sys.settrace(None)
            signal.setitimer(signal.ITIMER_REAL, 0)
        self.stack = []
        self.learner_error = error
        last = self.step_records[-1] if self.step_records else None
        if last is not None and "grads" not in last:  # stopped inside the learner's gradient: undo its
            _write(last["params"], last["before"])      # half-done perturbations (it never got to restore them)
        if last is not None and "per_parameter" in last and "after" not in last and self.looping:
            # stopped before the next step began (time up): the step may be cut short, its update not known
            if self.param_call is not None:  # inside one parameter's numerical gradient: W as it was
                _, key, was = self.param_call
                last["params"][key][...] = was
                self.param_call = None
            if len(self.step_records) > 1:
                self.step_records.pop()
            else:  # the first step: examined as the network was before it, on the doctor's own gradients
                _write(last["params"], last["before"])
                last.pop("grads", None)
        if self.step_records and "after" not in self.step_records[-1] and "grads" in self.step_records[-1]:
            self.close_step(None)
        if self.exam is None and self.step_records:
            self.paused(self.examine_first, self.step_records[0])
        return self


def loss_mode(watch):
    """The learner's loss in the mode the examination judged it in (training mode for batch normalisation)."""
    if watch.exam and watch.exam.loss_mode:
        return training_mode(watch.subject.loss)
    return contextlib.nullcontext()


def result_of(watch):
    """The JSON-friendly result of a watched run."""
    exam = watch.exam or None
    findings = list(exam.findings) if exam else []
    findings += updates.findings(watch) + watch.extra
    not_checked = [list(n) for n in exam.not_checked] if exam else []
    if not watch.step_records:
        not_checked.append(["program", "no-step", {}])
    elif watch.subject is None or watch.subject.loss is None:
        not_checked.append(["network", "no-loss", {}])
    not_checked += [["doctor", "internal", {"error": why}] for why in watch.internal_errors]
    trained = len(updates.training_records(watch))
    if trained < 2:
        not_checked.append(["update", "two-steps", {"n": trained}])
    kept = rank([f for f in findings if f is not None])
    if watch.inline:  # the loop's gradient variables name what a finding is about
        for f in kept:
            name = watch.inline.grad_names.get(f.param)
            if name is not None:
                f.measured.setdefault("variable", f"{name[0]}['{name[1]}']" if isinstance(name, tuple) else name)
    measured = dict(exam.measured) if exam else {}
    measured.update(updates.measured(watch))
    return {"findings": [f.to_dict() for f in kept], "not_checked": not_checked,
            "learner_errors": [list(e) for e in exam.learner_errors] if exam else [],
            "program_error": watch.learner_error, "stop_reason": watch.stop_reason,
            "steps": len(updates.training_records(watch)), "measured": _jsonable(measured),
            "doctor_seconds": watch.doctor_seconds - (exam.learner_seconds if exam else 0.0),
            "learner_seconds_in_checks": exam.learner_seconds if exam else 0.0}


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if np.isfinite(value) else str(float(value))
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    return value if isinstance(value, (int, str, bool)) or value is None else str(value)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m fastnn._doctor_runner")
    parser.add_argument("file")
    parser.add_argument("--out", required=True)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--budget", type=float, default=15.0)
    args = parser.parse_args(argv)
    script = os.path.abspath(args.file)
    with sandbox.Sandbox(script):
        watch = Watch(script, args.steps, args.timeout, args.budget).run()
        out = result_of(watch)
    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(out, f)
    os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
