"""Training steps made of one numerical-gradient call per parameter: ``numerical_gradient(f, W)``.

The book's chapter 4 differentiates ``f = lambda W: net.loss(x, t)`` with respect to one array at a time
(``simpleNet``); a learner who trains that way calls it once per parameter in the loop. Such a call carries
no batch of its own: the batch is what ``f`` reads (its closure or its module's globals), and the
parameters are the container that holds ``W`` (an object's ``params`` dict or attributes, a dict, a list,
module globals ``W1, b1, ...``). ``find`` recognises the call; ``Replay`` re-runs ``f`` (the loss it
differentiates) and the learner's own per-parameter routine on another batch, by rebinding the names ``f``
reads.
"""
import types

import numpy as np


def float_array(value):
    """Whether value is a float NumPy array (a parameter, a gradient)."""
    return isinstance(value, np.ndarray) and value.dtype.kind == "f"


def _reads(f):
    """{name: value} of what f reads by name: its arguments' defaults (lambda W, x=x_batch: ...), its closure cells
    and the globals its code names."""
    code = f.__code__
    out = dict(_defaults(f))
    for name, cell in zip(code.co_freevars, f.__closure__ or ()):
        try:
            out[name] = cell.cell_contents
        except ValueError:  # an empty cell
            pass
    for name in code.co_names:
        if name in f.__globals__ and name not in out:
            out[name] = f.__globals__[name]
    return out


def _defaults(f):
    """{argument name: default} of f's positional arguments."""
    code, defaults = f.__code__, f.__defaults__ or ()
    names = code.co_varnames[code.co_argcount - len(defaults):code.co_argcount]
    return dict(zip(names, defaults))


def rebound(f, values):
    """f with the names in ``values`` (defaults, closure variables or globals it reads) bound to other values."""
    code = f.__code__
    namespace = f.__globals__
    if any(n in code.co_names for n in values):
        namespace = dict(namespace)
        namespace.update({n: v for n, v in values.items() if n in code.co_names})
    closure = f.__closure__
    if closure:
        closure = tuple(types.CellType(values[n]) if n in values else c for n, c in zip(code.co_freevars, closure))
    defaults = f.__defaults__
    if defaults:
        given = _defaults(f)
        defaults = tuple(values.get(n, v) for n, v in given.items())
    return types.FunctionType(code, namespace, code.co_name, defaults, closure)


class Replay:
    """The loss f differentiates, and the learner's per-parameter numerical gradient over all parameters, on
    another batch: ``loss(x, t)``, ``numerical_gradient(x, t)`` -> {key: gradient}."""

    def __init__(self, routine, f, params, key, x_name, t_name):
        self.routine, self.f, self.params, self.key = routine, f, params, key
        self.x_name, self.t_name = x_name, t_name

    def on(self, x, t):
        return rebound(self.f, {self.x_name: x, self.t_name: t})

    def loss(self, x, t):
        return self.on(x, t)(self.params[self.key])

    def numerical_gradient(self, x, t):
        f = self.on(x, t)
        return {key: self.routine(f, value) for key, value in self.params.items() if float_array(value)}


def _container(name, value, W, views):
    """(owner, parameters) holding W (by identity) when ``value`` (read by f as ``name``) does, else None."""
    owner_params, list_params = views
    params = getattr(value, "params", None)
    if isinstance(params, dict) and any(v is W for v in params.values()):
        return value, params
    if isinstance(value, dict) and value and any(v is W for v in value.values()) and \
            all(isinstance(v, np.ndarray) for v in value.values()):
        return None, value
    if isinstance(value, (list, tuple)) and any(v is W for v in value) and all(map(float_array, value)):
        return None, list_params(name, value)
    if hasattr(value, "__dict__") and not isinstance(value, (type, types.ModuleType, types.FunctionType)):
        view = owner_params(value)
        if any(view.value(k) is W for k in view.names):
            return value, view
    return None


def find(frame, is_learner, views):
    """For a call numerical_gradient(f, W) (f a learner's function, W one parameter array):
    (owner, params, key, Replay, x, t), else None. ``views`` = (OwnerParams, ListParams, GlobalParams)."""
    code = frame.f_code
    names = list(code.co_varnames[:code.co_argcount])
    values = [frame.f_locals.get(n) for n in names]
    fns = [v for v in values if isinstance(v, types.FunctionType) and is_learner(v.__code__.co_filename)]
    arrays = [v for v in values if float_array(v)]
    if len(fns) != 1 or len(arrays) != 1 or len(values) > 3:
        return None
    f, W = fns[0], arrays[0]
    routine = frame.f_globals.get(code.co_name)
    if getattr(routine, "__code__", None) is not code:
        return None
    owner_params, list_params, global_params = views
    reads = _reads(f)
    owner, params = next((found for found in (_container(n, v, W, (owner_params, list_params))
                                              for n, v in reads.items()) if found is not None), (None, None))
    if params is None:
        for namespace in (f.__globals__, frame.f_globals):
            view = global_params.find(namespace)
            if view is not None and any(view.value(k) is W for k in view.names):
                params = view
                break
    if params is None:
        return None
    key = next((k for k in params if params[k] is W), None)
    ours = {id(v) for v in params.values()}
    batch = [(n, v) for n, v in reads.items() if isinstance(v, np.ndarray) and id(v) not in ours
             and np.issubdtype(v.dtype, np.number) and v.ndim >= 1]
    if key is None or len(batch) < 2:
        return None
    batch.sort(key=lambda nv: (-nv[1].ndim, -nv[1].size))
    x_name, x = batch[0]
    t_name, t = ([nv for nv in batch[1:] if len(nv[1]) == len(x)] or batch[1:])[0]  # labels: as many rows
    return owner, params, key, Replay(routine, f, params, key, x_name, t_name), x, t
