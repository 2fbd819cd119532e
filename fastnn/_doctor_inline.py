"""A training step written inline in a module-level loop: no gradient() or loss() function to watch.

Many learners write the step out where it runs::

    for i in range(iters_num):
        batch_mask = np.random.choice(train_size, batch_size)
        x_batch, t_batch = x_train[batch_mask], t_train[batch_mask]
        z1 = sigmoid(x_batch @ W1 + b1)
        y = softmax(z1 @ W2 + b2)
        loss = cross_entropy_error(y, t_batch)
        dy = (y - t_batch) / batch_size
        dW2 = z1.T @ dy
        ...
        W1 -= learning_rate * dW1
        ...

``plan(body, namespace, filename)`` finds the *step loop* among a frame's statements (the module's, or a
function's such as ``def main():``): the innermost loop whose body updates the parameters (variables ``W1, b1,
...``, a ``params`` dict, or a network object's attributes ``net.W1, ...``; a loop over the parameters' keys
that only updates them is part of a step, not the step loop). Its *core* is the body from the first statement
that reads a parameter to the last update, the updates left out; the batch is what the core reads that the
loop chose before it (``x_batch``, ``t_batch``, or the loop's own targets). ``InlineStep`` replays the core in
a copy of the frame's variables with another batch, with the parameters as they are now: the learner's own
loss, gradient and output as functions of (x, t), which the doctor examines as it examines a learner's
functions. The runner's line tracer (``_doctor_runner``) takes each pass of the loop's head as the end of one
step.
"""
import ast
import contextlib
import copy
import io
import types
from collections.abc import Mapping

import numpy as np

from ._doctor_params import GlobalParams, NamedDict, OwnerParams

#: Names a learner's loss variable goes by, best first.
LOSS_NAMES = ("loss", "cost", "error", "err", "l", "j", "ce")
#: Names of a gradient variable for the parameter {k}, best first (matched without regard to case).
GRAD_NAMES = ("d{k}", "grad_{k}", "{k}_grad", "g{k}", "d_{k}", "grad{k}", "delta_{k}", "{k}_gradient")
#: Names of a gradients dict.
GRADS_DICT_NAMES = ("grads", "grad", "gradients", "gradient", "g", "d")
#: Calls that update the parameters they are given (the book's optimizer.update(params, grads), ...).
UPDATE_CALLS = {"update", "step", "apply", "apply_gradients", "sgd", "sgd_update", "update_params",
                "update_parameters"}
#: Names (besides any with "batch" in them) a loop's batch size goes by.
BATCH_SIZE_NAMES = {"bs", "b", "n", "m", "B", "N", "M"}


def body_of(tree, code):
    """The statements a frame running ``code`` executes: the module's, or those of the function ``code`` is
    (found by name and first line, decorators included); None for anything else (a lambda, a class body)."""
    if code.co_name == "<module>":
        return tree.body
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == code.co_name and \
                code.co_firstlineno in [node.lineno] + [d.lineno for d in node.decorator_list]:
            return node.body
    return None


class FrameNamespace(Mapping):
    """A function frame's variables over its module's globals, read live (a loop in def main(): ...)."""

    def __init__(self, frame):
        self.frame = frame

    def __getitem__(self, key):
        local = self.frame.f_locals
        return local[key] if key in local else self.frame.f_globals[key]

    def __iter__(self):
        return iter({**self.frame.f_globals, **self.frame.f_locals})

    def __len__(self):
        return len({**self.frame.f_globals, **self.frame.f_locals})


def loops(body):
    """Every loop in the statements ``body`` outside function and class bodies, each with the loops it is
    nested in: (loop, parents)."""
    found = []

    def visit(body, parents):
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                continue
            if isinstance(node, (ast.For, ast.While)):
                found.append((node, parents))
                visit(node.body, parents + [node])
                visit(node.orelse, parents)
                continue
            for field in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(node, field, None)
                if isinstance(inner, list):
                    visit([n for n in inner if isinstance(n, ast.AST)], parents)
            for case in getattr(node, "cases", ()):  # match statements
                visit(case.body, parents)
    visit(body, [])
    return found


def loaded(node):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def stored(node):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


#: Names of a network object whose array attributes are the parameters (net.W1 -= lr * dW1), best first.
OWNER_NAMES = ("net", "network", "model", "nn", "mlp", "clf")


class Params:
    """Which names hold the parameters: module globals (``names``), a dict (``dict_name``), or the attributes
    ``names`` of an object (``owner``: net.W1, net.b1, ...)."""

    def __init__(self, names=(), dict_name=None, owner=None):
        self.names, self.dict_name, self.owner = set(names), dict_name, owner

    @classmethod
    def find(cls, namespace):
        found = GlobalParams.find(namespace)
        if found is not None:
            return cls(found.names)
        dicts = [k for k, v in namespace.items() if not k.startswith("_") and isinstance(v, dict) and v
                 and all(isinstance(a, np.ndarray) and a.dtype.kind == "f" for a in v.values())]
        dicts.sort(key=lambda k: k not in ("params", "parameters", "network", "weights", "net", "model"))
        if dicts:
            return cls(dict_name=dicts[0])
        owners = {k: _param_attributes(v) for k, v in namespace.items() if not k.startswith("_")}
        owners = {k: names for k, names in owners.items() if names}
        best = min(owners, key=lambda k: (k.lower() not in OWNER_NAMES, k), default=None)
        return cls(owners[best], owner=best) if best is not None else None

    def view(self, namespace):
        if self.owner is not None:
            view = OwnerParams(namespace[self.owner])
            view.keep(self.names)
            return view
        if self.dict_name is not None:
            return NamedDict(lambda: namespace, self.dict_name, namespace[self.dict_name])
        return GlobalParams(namespace, [k for k in namespace if k in self.names])

    def reads(self, node):
        names = loaded(node)
        if self.owner is not None:
            return self.owner in names
        return bool(names & self.names) or (self.dict_name is not None and self.dict_name in names)

    def _target(self, target):
        if self.owner is not None:  # net.W1 (or net.W1[...])
            while isinstance(target, ast.Subscript):
                target = target.value
            if isinstance(target, (ast.Tuple, ast.List)):
                return any(self._target(t) for t in target.elts)
            return isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and \
                target.value.id == self.owner and target.attr in self.names
        if isinstance(target, ast.Name):
            return target.id in self.names or target.id == self.dict_name
        if isinstance(target, ast.Subscript):
            value = target.value
            return isinstance(value, ast.Name) and (value.id == self.dict_name or value.id in self.names)
        if isinstance(target, (ast.Tuple, ast.List)):
            return any(self._target(t) for t in target.elts)
        return False

    def updates(self, node):
        """Whether the statement updates a parameter: W1 -= ..., W1 = W1 - ..., params[k] -= ..., or a loop
        that does only that (for key in params: params[key] -= lr * grads[key])."""
        if isinstance(node, ast.AugAssign):
            return self._target(node.target)
        if isinstance(node, ast.Assign):
            return any(self._target(t) for t in node.targets) and self.reads(node.value)
        if isinstance(node, ast.For):
            inner = [n for n in node.body if not isinstance(n, (ast.Pass, ast.Expr))]
            return bool(inner) and all(self.updates(n) for n in inner)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):  # optimizer.update(params, grads)
            call = node.value
            name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
            given = {a.id for a in call.args if isinstance(a, ast.Name)}
            return name.lower() in UPDATE_CALLS and bool(given & (self.names | {self.dict_name}))
        return False


def _param_attributes(obj):
    """The names of obj's attributes that GlobalParams would take as parameters (W1, b1, W_out, ...: float
    arrays, at least two): empty for a module, a class or anything without instance attributes."""
    attributes = getattr(obj, "__dict__", None)
    if isinstance(obj, (type, types.ModuleType, types.FunctionType)) or not isinstance(attributes, dict):
        return []
    found = GlobalParams.find(attributes)
    return found.names if found is not None else []


class Plan:
    """The step loop and its core (statements, compiled), the names it reads for the batch."""

    def __init__(self, loop, core, prefix_names, params, filename):
        self.loop, self.core, self.params = loop, core, params
        self.head = loop.lineno
        self.prefix_names = prefix_names  # names the loop set before the core (its targets, the batch's)
        self.reads = set().union(*(loaded(s) for s in core)) if core else set()
        self.sets = set().union(*(stored(s) for s in core)) if core else set()
        self.filename = filename
        self.code = compile(ast.Module(body=core, type_ignores=[]), filename, "exec")
        self.order = [stored(s) for s in core]  # names each core statement sets, in order


def _stepped(loop, namespace):
    """Float arrays the loop steps in place (W_out -= lr * dW, W += v): parameters whatever their names."""
    return {n.target.id for n in ast.walk(loop) if isinstance(n, ast.AugAssign)
            and isinstance(n.op, (ast.Sub, ast.Add)) and isinstance(n.target, ast.Name)
            and isinstance(namespace.get(n.target.id), np.ndarray) and namespace[n.target.id].dtype.kind == "f"}


def plan(body, namespace, filename):
    """The Plan of the step loop among the statements ``body`` with the variables as they are, or None."""
    found = Params.find(namespace)
    best = None
    for loop, parents in loops(body):
        params = found
        if found is None or (found.dict_name is None and found.owner is None):  # module arrays: named, or stepped
            names = (found.names if found is not None else set()) | _stepped(loop, namespace)
            params = Params(names) if len(names) >= 2 else None
        if params is None or params.updates(loop):  # a loop over the parameters' keys is an update, not a step
            continue
        if not any(params.updates(n) for n in loop.body):
            continue
        if best is None or best[0] in parents:
            best = (loop, parents, params)
    if best is None:
        return None
    loop, _, params = best
    body = loop.body
    # the core begins with the first statement computing something from the parameters (not a print of them)
    first = next((i for i, n in enumerate(body) if params.reads(n) and not params.updates(n)
                  and not isinstance(n, ast.Expr)), None)
    last = max(i for i, n in enumerate(body) if params.updates(n))
    if first is None or first > last:
        return None
    core = [n for n in body[first:last + 1] if not params.updates(n)]
    prefix = set(stored(loop.target)) if isinstance(loop, ast.For) else set()
    for n in body[:first]:
        prefix |= stored(n)
    return Plan(loop, core, prefix, params, filename)


#: The name a replayed core reads its batch's size by, where the loop's body divides by it as a number.
ROWS = "__fastnn_batch_rows__"


class _BatchSizeLiterals(ast.NodeTransformer):
    """x / 100 and x /= 100, where 100 is the loop's batch size: divided by the replayed batch's size."""

    def __init__(self, rows):
        self.rows = rows

    def _is_rows(self, node):
        return isinstance(node, ast.Constant) and type(node.value) in (int, float) and node.value == self.rows

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, (ast.Div, ast.FloorDiv)) and self._is_rows(node.right):
            node.right = ast.copy_location(ast.Name(ROWS, ast.Load()), node.right)
        return node

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        if isinstance(node.op, (ast.Div, ast.FloorDiv)) and self._is_rows(node.value):
            node.value = ast.copy_location(ast.Name(ROWS, ast.Load()), node.value)
        return node


def _named(names, wanted, pattern_keys):
    """The first name among ``names`` matching one of the patterns for key (case-insensitive)."""
    lower = {n.lower(): n for n in names}
    for key in pattern_keys:
        for pattern in wanted:
            name = lower.get(pattern.format(k=key).lower())
            if name is not None:
                return name
    return None


class InlineStep:
    """The core of a Plan replayed as the learner's loss(x, t), gradient(x, t) and output(x)."""

    def __init__(self, plan, namespace):
        self.plan, self.namespace = plan, namespace
        self.params = plan.params.view(namespace)
        self.x_name = self.t_name = None
        self.loss_name = self.output_name = None
        self.grad_names = {}  # parameter key -> variable name (or (dict name, key))
        self.t_like = None
        self.rows = None  # the loop's batch size
        self.columns = False  # whether the loop holds an example a column (X: inputs x examples)
        self.t_form = None  # the shape of the loop's labels
        self.code = plan.code  # the core, its divisions by the batch size as a number made by the batch's

    def batch(self):
        """(x, t) of the step just run, a row an example: what the core reads of the loop's batch, by shape (the
        loop's may hold an example a column, X of inputs x examples with Z1 = W1 @ X, as Andrew Ng's course
        writes it); None if not found."""
        ns = self.namespace
        w1 = next((v for v in self.params.values() if isinstance(v, np.ndarray) and v.ndim == 2), None)
        if w1 is None:
            return None
        candidates = [n for n in sorted(self.plan.reads - self.plan.sets) if isinstance(ns.get(n), np.ndarray)
                      and ns[n].dtype.kind in "fiub" and n not in self.params and id(ns[n]) not in
                      {id(v) for v in self.params.values()}]
        order = lambda n: (n not in self.plan.prefix_names, n.lower()[:1] != "x")  # noqa: E731
        xs = sorted((n for n in candidates if ns[n].ndim == 2 and ns[n].shape[1] == w1.shape[0]), key=order)
        self.columns = not xs
        if self.columns:
            xs = sorted((n for n in candidates if ns[n].ndim == 2 and ns[n].shape[0] == w1.shape[1]), key=order)
        if not xs:
            return None
        x_name = xs[0]
        n_rows = ns[x_name].shape[1 if self.columns else 0]
        ts = [n for n in candidates if n != x_name and ns[n].ndim in (1, 2)
              and (ns[n].shape[-1] if self.columns else ns[n].shape[0]) == n_rows]
        if not ts:
            return None
        ts.sort(key=lambda n: (n not in self.plan.prefix_names, n.lower()[:1] not in "ty", n.lower()[:1] != "t"))
        self.x_name, self.t_name = x_name, ts[0]
        self.t_form = np.shape(ns[ts[0]])
        self.rows = n_rows
        core = _BatchSizeLiterals(n_rows).visit(ast.Module(body=copy.deepcopy(self.plan.core), type_ignores=[]))
        self.code = compile(ast.fix_missing_locations(core), self.plan.filename, "exec")
        x, t = self.as_rows(ns[x_name], ns[ts[0]])
        self.t_like = t
        return x, t

    def as_rows(self, x, t):
        """The loop's (x, t) as arrays of an example a row (copies)."""
        if not self.columns:
            return np.array(x, copy=True), np.array(t, copy=True)
        t = np.asarray(t)
        return np.array(x.T, copy=True), np.array(t.ravel() if t.ndim == 1 or t.shape[0] == 1 else t.T, copy=True)

    def as_loops(self, x, t):
        """(x, t) of an example a row in the loop's own layout (copies: the body may scale its batch in place)."""
        if not self.columns:
            return np.array(x, copy=True), np.array(t, copy=True)
        t = np.asarray(t)
        if len(self.t_form) == 2 and self.t_form[0] == 1:
            return np.array(x.T, copy=True), np.array(t.reshape(1, -1), copy=True)
        return np.array(x.T, copy=True), np.array(t.T if t.ndim == 2 else t, copy=True)

    def run(self, x, t):
        """The core's namespace after running it on (x, t) (an example a row) with the parameters as they are."""
        ns = {k: (list(v) if type(v) is list else v) for k, v in dict(self.namespace).items()}  # appends stay here
        if t is None:  # an output only: labels of the right form, the core computes its loss too
            t = np.resize(self.t_like, (len(x),) + self.t_like.shape[1:])
        ns[self.x_name], ns[self.t_name] = self.as_loops(x, t)
        ns[ROWS] = len(x)
        if len(x) != self.rows:  # the body is written for its batch: its batch size is this batch's
            for name in self.plan.reads - self.plan.sets:
                value = ns.get(name)
                if type(value) is int and value == self.rows and ("batch" in name.lower() or name in BATCH_SIZE_NAMES):
                    ns[name] = len(x)
        with contextlib.redirect_stdout(io.StringIO()):
            exec(self.code, ns)
        return ns

    def learn_names(self, ns):
        """Which of the core's variables are the loss, the output and each parameter's gradient (from one run)."""
        sets = [n for n in self.plan.sets if n in ns]
        scalars = [n for n in sets if np.ndim(ns[n]) == 0 and isinstance(ns[n], (float, np.floating, np.ndarray))
                   and not isinstance(ns[n], bool)]
        self.loss_name = _named(scalars, ("{k}",), LOSS_NAMES) or \
            next((n for n in scalars if "loss" in n.lower() or "cost" in n.lower()), None)
        keys = list(self.params)
        for key in keys:
            shape = np.shape(self.params[key])
            name = _named([n for n in sets if np.shape(ns[n]) == shape], GRAD_NAMES, [key])
            if name is not None:
                self.grad_names[key] = name
        if len(self.grad_names) < len(keys):
            for name in GRADS_DICT_NAMES + tuple(sorted(sets)):
                value = ns.get(name) if name in sets else None
                if isinstance(value, dict) and all(k in value for k in keys):
                    self.grad_names = {k: (name, k) for k in keys}
                    break
        mats = [v for v in self.params.values() if isinstance(v, np.ndarray) and v.ndim == 2]
        k_out = mats[-1].shape[0 if self.columns else 1] if mats else None
        loss_at = next((i for i, s in enumerate(self.plan.order) if self.loss_name in s), len(self.plan.order))
        shape = (k_out, self.rows) if self.columns else (self.rows, k_out)
        for names in self.plan.order[:loss_at + 1]:
            for n in sorted(names):
                if n in ns and np.shape(ns[n]) == shape and n not in (self.x_name, self.t_name):
                    self.output_name = n
        return self

    def grads_of(self, ns):
        out = {}
        for key, name in self.grad_names.items():
            value = ns[name[0]][name[1]] if isinstance(name, tuple) else ns.get(name)
            if isinstance(value, (np.ndarray, np.generic, float, int)) and not isinstance(value, bool):
                out[key] = value  # a scalar too: a gradient of the wrong shape is the doctor's to say
        return out

    # the learner's functions, replayed
    def loss(self, x, t):
        return self.run(x, t)[self.loss_name]

    def gradient(self, x, t):
        return self.grads_of(self.run(x, t))

    def predict(self, x):
        out = self.run(x, None)[self.output_name]
        return out.T if self.columns else out
