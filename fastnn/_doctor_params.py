"""Views of a learner's parameters wherever its program keeps them (module globals, an object's attributes, a
dict the training loop rebinds, a list), read live so that an update that rebinds an array is seen; and the
snapshots the doctor takes of them."""
import re
import types
from collections.abc import Mapping

import numpy as np

from ._doctor_perparam import float_array


class ParamsView(Mapping):
    """A live view of a learner's parameters kept elsewhere than in a dict: ``names`` are its keys, read through
    ``value(key)`` at each access, so that an array the update rebinds is seen."""

    names = ()

    def value(self, key):
        raise NotImplementedError

    def __getitem__(self, key):
        if key not in self.names:
            raise KeyError(key)
        return self.value(key)

    def __iter__(self):
        return iter(self.names)

    def __len__(self):
        return len(self.names)


class GlobalParams(ParamsView):
    """Parameters kept as module globals (W1, b1, W2, b2 = ...), in definition order."""

    PATTERN = re.compile(r"[WwBb]_?\d+|weights?_?\d*|bias(es)?_?\d*|[Ww]_?(hidden|out|output|in|input)")

    def __init__(self, namespace, names):
        self.namespace, self.names = namespace, names

    @classmethod
    def find(cls, namespace):
        names = [k for k, v in namespace.items() if cls.PATTERN.fullmatch(k) and isinstance(v, np.ndarray)
                 and v.dtype.kind == "f"]
        return cls(namespace, names) if len(names) >= 2 else None

    def value(self, key):
        return self.namespace[key]


class OwnerParams(ParamsView):
    """A network object's float arrays kept as attributes (self.W1 = ...) or in list/tuple attributes
    (self.w = [W1, W2] as "w[0]", "w[1]"). ``keep`` narrows it to the arrays a gradient matched (an object's
    cached activations, self.z = ..., are arrays too)."""

    def __init__(self, owner):
        self.owner, self.names = owner, []
        for name, value in vars(owner).items():
            if float_array(value):
                self.names.append(name)
            elif _float_arrays(value, least=1):
                self.names += [f"{name}[{i}]" for i in range(len(value))]

    def keep(self, keys):
        self.names = [k for k in self.names if k in keys]

    def value(self, key):
        name, _, index = key.partition("[")
        value = getattr(self.owner, name)
        return value[int(index[:-1])] if index else value


class NamedDict(ParamsView):
    """A params dict read through the name the training loop holds it by, so that an update that rebinds it
    (params = {k: params[k] - lr * grads[k] for k in params}) is seen: ``scope()`` is that namespace."""

    def __init__(self, scope, name, original):
        self.scope, self.name, self.original, self.names = scope, name, original, list(original)

    @classmethod
    def find(cls, frame, params):
        """The view of ``params`` through the name ``frame`` (the caller's) binds it to, else None."""
        if frame is None:
            return None
        for scope in (lambda: frame.f_locals, lambda: frame.f_globals):
            name = next((k for k, v in list(scope().items()) if v is params), None)
            if name is not None:
                return cls(scope, name, params)
        return None

    def value(self, key):
        now = self.scope().get(self.name)
        return now[key] if isinstance(now, dict) and isinstance(now.get(key), np.ndarray) else self.original[key]


def _live(values, params):
    """values with the params dict a call was first given replaced by the one the loop holds now (a replayed
    call must see the network as it is, not as it was at the first step)."""
    if not isinstance(params, NamedDict):
        return values
    return {n: {k: params[k] for k in params} if v is params.original else v for n, v in values.items()}


class ListParams(ParamsView):
    """Parameters passed as a list of arrays (gradient(params, x, t) with params = [W1, b1, ...]), as
    "params[0]", "params[1]", ..."""

    def __init__(self, name, items):
        self.seq, self.names = items, [f"{name}[{i}]" for i in range(len(items))]

    def value(self, key):
        return self.seq[self.names.index(key)]


def _float_arrays(value, least=2):
    """Whether value is a list or tuple of ``least`` to 50 float arrays (a network's parameters in a list)."""
    return isinstance(value, (list, tuple)) and least <= len(value) <= 50 and all(map(float_array, value))


def _held_params(value):
    """The parameters of a network object passed to a function (its ``params`` dict, else its float array
    attributes when it has two or more), or None."""
    if value is None or isinstance(value, (np.ndarray, list, tuple, dict, str, bytes, int, float, type,
                                           types.ModuleType, types.FunctionType, types.MethodType)):
        return None
    params = getattr(value, "params", None)
    if _params_dict(params):
        return params
    if hasattr(value, "__dict__"):
        view = OwnerParams(value)
        return view if len(view.names) >= 2 else None
    return None


def _params_dict(value):
    return isinstance(value, dict) and value and all(isinstance(v, np.ndarray) for v in value.values())


def snapshot(params):
    return {k: np.array(v, copy=True) for k, v in params.items() if isinstance(v, np.ndarray)}


def _write(params, values):
    """Put saved values back into the learner's own arrays, in place."""
    for key, value in values.items():
        if key in params and isinstance(params[key], np.ndarray) and params[key].shape == value.shape:
            params[key][...] = value
