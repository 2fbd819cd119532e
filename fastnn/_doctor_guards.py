"""Guards that cannot fire: ``if x.all() < -500:`` in a learner's sigmoid.

``x.all()`` (``x.any()``, ``np.all(x)``, ``all(x)``) is one True/False, that is 1 or 0; compared with a number
outside [0, 1] it gives the same answer for every input, so the branch it guards never runs (or always does).
A learner writes it to keep ``np.exp`` from overflowing and then wonders why NumPy still warns. The same
question is asked of a whole-array test in an activation function (``if np.all(x < -709): return 0``): it fires
only when every element is extreme (``any``: when one is, and then treats them all alike). Read from the
source of the learner's functions and methods, so a guard on a path the probes do not reach is seen too.
"""
import ast
import inspect
import operator
import textwrap

from ._doctor_findings import Finding

_OPS = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
        ast.Eq: operator.eq, ast.NotEq: operator.ne}


def _is_truth(node):
    """Whether node is x.all()/x.any(), np.all(x)/np.any(x) or all(x)/any(x): one True or False."""
    if not isinstance(node, ast.Call):
        return False
    fn = node.func
    if isinstance(fn, ast.Attribute) and fn.attr in ("all", "any"):
        if node.keywords:  # x.all(axis=0) is an array
            return False
        return not node.args or isinstance(fn.value, ast.Name) and fn.value.id in ("np", "numpy") and \
            len(node.args) == 1
    return isinstance(fn, ast.Name) and fn.id in ("all", "any") and len(node.args) == 1 and not node.keywords


def _number(node):
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _number(node.operand)
        return None if value is None else (-value if isinstance(node.op, ast.USub) else value)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    return None


def constant_test(test):
    """True/False when ``test`` compares one truth value with a number and so is the same for every input, else
    None."""
    if not isinstance(test, ast.Compare) or len(test.ops) != 1 or type(test.ops[0]) not in _OPS:
        return None
    op, left, right = _OPS[type(test.ops[0])], test.left, test.comparators[0]
    if _is_truth(left) and _number(right) is not None:
        answers = {op(b, _number(right)) for b in (False, True)}
    elif _is_truth(right) and _number(left) is not None:
        answers = {op(_number(left), b) for b in (False, True)}
    else:
        return None
    return answers.pop() if len(answers) == 1 else None


def _reduces(node):
    """("all"|"any", the threshold, the elementwise comparison) for np.all(x < c), (x < c).all(), any(x > c)..., else None."""
    if not isinstance(node, ast.Call) or node.keywords:
        return None
    fn = node.func
    if isinstance(fn, ast.Attribute) and fn.attr in ("all", "any") and not node.args:
        inner = fn.value
    elif isinstance(fn, ast.Attribute) and fn.attr in ("all", "any") and isinstance(fn.value, ast.Name) and \
            fn.value.id in ("np", "numpy") and len(node.args) == 1:
        inner = node.args[0]
    elif isinstance(fn, ast.Name) and fn.id in ("all", "any") and len(node.args) == 1:
        inner = node.args[0]
    else:
        return None
    if isinstance(inner, ast.Compare) and len(inner.ops) == 1 and type(inner.ops[0]) in _OPS:
        number = _number(inner.comparators[0]) if _number(inner.left) is None else _number(inner.left)
        if number is not None and abs(number) >= 10:  # an overflow threshold, not a check for zeros
            return fn.attr if isinstance(fn, ast.Attribute) else fn.id, number, ast.unparse(inner)
    return None


#: Functions whose whole-array tests are overflow guards (elsewhere np.all(grad == 0) and the like are checks).
_ACTIVATIONS = ("sigmoid", "softmax", "tanh", "exp", "activation", "forward", "logistic")


def _callables(functions, namespaces, is_learner):
    """(name, function) of the learner's functions and of the methods of its classes."""
    seen = set()
    out = list(functions.items())
    for ns in namespaces:
        for name, value in list(ns.items()):
            if isinstance(value, type):
                out += [(f"{name}.{k}", v) for k, v in vars(value).items() if inspect.isfunction(v)]
    for name, fn in out:
        code = getattr(fn, "__code__", None)
        if code is not None and code not in seen and (is_learner is None or is_learner(code.co_filename)):
            seen.add(code)
            yield name, fn


def dead_guards(functions, namespaces=(), is_learner=None):
    """A ``dead-guard`` finding for the first if/while test of a learner's function that cannot change."""
    for name, fn in _callables(functions, namespaces, is_learner):
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
        except (OSError, TypeError, SyntaxError, IndentationError):
            continue
        for node in ast.walk(tree):
            if not isinstance(node, (ast.If, ast.IfExp, ast.While)):
                continue
            where = {"function": name, "test": ast.unparse(node.test), "line": fn.__code__.co_firstlineno + node.lineno - 1}
            always = constant_test(node.test)
            if always is not None:
                return Finding("dead-guard", None, dict(where, always=always),
                               template="dead-guard" if not always else "dead-guard-always")
            whole = _reduces(node.test)
            if whole is not None and any(w in name.lower() for w in _ACTIVATIONS):
                return Finding("dead-guard", None, dict(where, reduce=whole[0], threshold=whole[1], cond=whole[2]),
                               template=f"dead-guard-{whole[0]}")
    return None
