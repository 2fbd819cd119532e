"""Load a learner's script for ``fastnn doctor --static``: its imports, functions and classes — never its
top-level code. The script's folder and its parent are on ``sys.path`` while its imports run (the book's
``ch04/x.py`` imports the learner's own ``common/``); only when that import fails do fastnn's versions of
the book's functions stand in, and a note says so."""
import ast

import numpy as np

from . import reference


def book_functions():
    """fastnn's correct versions of the book's ``common/`` functions, for scripts whose import fails."""
    def numerical_gradient(f, x):
        return reference.numerical_gradient_of(lambda: f(x), x)
    return {"np": np, "sigmoid": reference.sigmoid, "sigmoid_grad": reference.sigmoid_grad, "relu": reference.relu,
            "softmax": reference.softmax, "cross_entropy_error": reference.cross_entropy_error,
            "mean_squared_error": reference.mean_squared_error, "numerical_gradient": numerical_gradient}


def load_definitions(path):
    """(namespace, notes): the script's imports, defs, classes and literal constants, run in a fresh module.

    Imports that fail (e.g. keras on a machine without it) are skipped with a note; when an import of
    the book's ``common`` package fails, fastnn's versions of its functions stand in.
    """
    with open(path, encoding="utf-8") as f:
        source = f.read()
    tree = ast.parse(source, filename=str(path))
    namespace = {"__name__": "fastnn_learner_script", "__file__": str(path)}
    notes = []
    import os
    import sys
    folder = os.path.dirname(os.path.abspath(path))
    saved = list(sys.path)
    sys.path[0:0] = [folder, os.path.dirname(folder)]  # the book's layout: ch04/x.py importing common.*
    try:
        _run_definitions(tree, source, path, namespace, notes)
    finally:
        sys.path[:] = saved
    return namespace, notes


def _run_definitions(tree, source, path, namespace, notes):
    for node in tree.body:
        keep = isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
        keep |= isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        if not keep:
            continue
        code = compile(ast.Module(body=[node], type_ignores=[]), str(path), "exec")
        try:
            exec(code, namespace)  # noqa: S102 - the learner's own definitions, by request
        except ImportError as exc:
            line = ast.get_source_segment(source, node) or "import"
            module = getattr(node, "module", None) or ""
            if module.startswith("common") or module.startswith("dataset"):
                for name, fn in book_functions().items():
                    namespace.setdefault(name, fn)
                notes.append(f"skipped `{line}` ({exc}); using fastnn's versions of the book's functions")
            else:
                notes.append(f"skipped `{line}` ({exc})")


def build_learner_network(namespace, class_name, input_size, hidden_size, output_size):
    """An instance of the script's network class with the book's constructor arguments."""
    cls = namespace.get(class_name)
    if cls is None:
        found = [k for k, v in namespace.items() if isinstance(v, type) and not k.startswith("_")]
        raise ValueError(f"the script defines no class {class_name!r} (classes found: {', '.join(found) or 'none'}); "
                         "name it with --class")
    try:
        return cls(input_size=input_size, hidden_size=hidden_size, output_size=output_size)
    except TypeError:
        return cls(input_size, hidden_size, output_size)
