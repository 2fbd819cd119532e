"""doctor: say, in plain words, why a learner's network does not learn.

Two ways in:

- ``doctor(network, x, t)``: examine a network object on a batch (``params`` dict of arrays and
  ``loss(x, t)``; ``predict``, ``gradient`` and ``numerical_gradient`` are used when present).
- ``watch(path)`` (``fastnn doctor FILE.py``): run the learner's whole program in a child process for a
  few training steps and examine what it really does (``_doctor_runner``).

Every finding has a stable ``code`` (``_doctor_findings.ORDER``), the parameter it is in, the numbers
measured, why it matters and the fix; a cause hides the consequences it explains.
"""
import inspect
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

from . import _checks
from . import _doctor_sandbox as sandbox
from . import _doctor_updates as updates
from ._doctor_examine import Subject, examine
from ._doctor_findings import ORDER, SEVERITY, Finding, rank
from ._doctor_text import TEMPLATES, note, report, words

__all__ = ["doctor", "watch", "report", "render_watch", "Finding", "ORDER", "SEVERITY", "ZH"]

#: Codes that have a Chinese text (every template has one).
ZH = {key: table["zh"] for key, table in TEMPLATES.items()}


def _subject_of(network):
    cls = type(network)
    namespaces = []
    for name in ("predict", "loss", "gradient"):
        fn = getattr(cls, name, None)
        g = getattr(fn, "__globals__", None)
        if g is not None and all(g is not n for n in namespaces):
            namespaces.append(g)
    module = inspect.getmodule(cls)
    if module is not None and all(vars(module) is not n for n in namespaces):
        namespaces.append(vars(module))
    is_learner = sandbox.learner_files(None)
    functions = {}
    for ns in namespaces:
        for name, value in ns.items():
            code = getattr(value, "__code__", None)
            if code is not None and is_learner(code.co_filename):
                functions.setdefault(name, value)

    def method(name):
        fn = getattr(network, name, None)
        return fn if callable(fn) else None
    return Subject(params=network.params, loss=network.loss, gradient=method("gradient"),
                   numerical_gradient=method("numerical_gradient"), predict=method("predict"),
                   functions=functions, is_learner=is_learner, namespaces=namespaces)


def check_learning_rate(network, grads, lr, x, t):
    """learning-rate from what one SGD step of rate lr does to the network's loss on the batch (x, t): the
    judgement the watch makes of a program's first step (far too large: along the step the loss is lowest at
    a tenth of it or less; far too small: it barely moves while a 100x larger step lowers it a lot)."""
    if lr is None or not isinstance(grads, dict):
        return None
    if lr == 0:
        return Finding("learning-rate", None, {"name": "lr"}, template="learning-rate-zero")
    params = network.params
    before = {k: np.array(W) for k, W in params.items() if isinstance(W, np.ndarray)}
    delta = {k: -lr * np.asarray(g, np.float64) for k, g in grads.items()
             if k in before and isinstance(g, np.ndarray) and g.shape == before[k].shape and np.all(np.isfinite(g))}
    if not delta or not any(np.any(d) for d in delta.values()):
        return None

    def stepped(scale):
        return updates.loss_with(params, {k: before[k] + scale * d for k, d in delta.items()}, network.loss, x, t)
    try:
        start, end = stepped(0.0), stepped(1.0)
        if start is None or not np.isfinite(start):
            return None
        return updates.rate_finding(lr, start, end, updates.judge_step(stepped, start, end))
    finally:
        for k, W in before.items():
            params[k][...] = W


def doctor(network, x, t, lr=None, activation=None, verbose=True, seed=0, lang="en"):
    """Diagnose why a network does not learn on the batch (x, t).

    Parameters
    ----------
    network : any object with ``params`` (dict of arrays) and ``loss(x, t)``
    x, t : arrays
        A batch of inputs and labels (one-hot or integer), e.g. 32 MNIST images.
    lr : float, optional
        The learning rate in use, to judge the size of an update (0 is reported, not divided by).
    activation : str, optional
        Kept for compatibility; the hidden units are observed through the network's own functions.
    verbose : bool
        Print the report.
    seed : int
        Seed of the sampled elements of the gradient check.
    lang : {'en', 'zh'}
        Language of the printed report.

    Returns
    -------
    list of Finding
        Most serious first; empty for a healthy network.
    """
    words(lang)
    if not isinstance(getattr(network, "params", None), dict) or not callable(getattr(network, "loss", None)):
        raise TypeError("network must have a params dict and a loss(x, t) method")
    x = np.asarray(_checks.dense_if_sparse(x))
    if x.ndim < 1 or len(x) == 0:
        raise ValueError(f"x must be a non-empty batch, got shape {x.shape}")
    exam = examine(_subject_of(network), x, t, rng=np.random.default_rng(seed))
    extra = None
    if lr is not None and callable(getattr(network, "gradient", None)):
        g, _ = _attempt_gradient(network, x, exam.labels if exam.labels is not None else t)
        extra = check_learning_rate(network, g, lr, x, exam.labels if exam.labels is not None else t)
    findings = rank(exam.findings + [extra])
    if verbose:
        print(report(findings, lang))
        for check, key, values in exam.not_checked:
            print(f"{words(lang)['not_checked']}: {check}: {note([key, values], lang)}")
    return findings


def _attempt_gradient(network, x, t):
    from ._doctor_probes import attempt
    return attempt(network.gradient, x, t)


# --- watching a whole program ---------------------------------------------------------------------------

def check_script(path):
    """path, when it is the learner's script (a regular file); else an error saying what it is instead."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"file {path!r} does not exist")
    if os.path.isdir(path):
        raise ValueError(f"{path!r} is a directory, not a Python script")
    if not os.path.isfile(path):
        raise ValueError(f"{path!r} is not a regular file, not a Python script")
    return path


def watch(path, steps=3, timeout=120.0, data_dir=None, budget=15.0):
    """Run the learner's program in a child process and return (result dict, the program's output).

    The child is ``python -m fastnn._doctor_runner``; see that module for what it records.
    """
    path = check_script(os.fspath(path))
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    if not timeout > 0:
        raise ValueError(f"timeout must be positive, got {timeout}")
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["MPLBACKEND"] = "Agg"
    env["PYTHONIOENCODING"] = "utf-8"
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, "1")  # small matrices: one BLAS thread, no spinning against the learner's loop
    if data_dir:
        env["FASTNN_MNIST_DIR"] = os.path.abspath(data_dir)
    with tempfile.TemporaryDirectory(prefix="fastnn-doctor-") as tmp:
        out = os.path.join(tmp, "result.json")
        cmd = [sys.executable, "-m", "fastnn._doctor_runner", os.path.abspath(path), "--out", out,
               "--steps", str(steps), "--timeout", str(timeout), "--budget", str(budget)]
        try:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  env=env, cwd=tmp, timeout=timeout + 10 * budget + 60)
            output = proc.stdout.decode("utf-8", "replace")
        except subprocess.TimeoutExpired as exc:
            output = (exc.stdout or b"").decode("utf-8", "replace")
            return _failed("child-timeout", seconds=timeout + 10 * budget + 60), output
        if not os.path.exists(out):
            return _failed("child-died", code=proc.returncode), output
        with open(out, encoding="utf-8") as f:
            return json.load(f), output


def _failed(key, **values):
    return {"findings": [], "not_checked": [["program", key, values]], "learner_errors": [], "program_error": None,
            "stop_reason": [key, values], "steps": 0, "measured": {}, "doctor_seconds": 0.0, "learner_seconds_in_checks": 0.0}


def findings_of(result):
    """The Finding objects of a watch result (to render them in any language)."""
    return [Finding(d["code"], d.get("param"), d.get("measured") or {}, explains=d.get("explains") or [],
                    template=d.get("template", "")) for d in result["findings"]]


def render_watch(path, result, output, lang="en", tail=20):
    """The printed report of a watched program: its own output apart, then the findings."""
    w = words(lang)
    lines = output.rstrip("\n").splitlines()
    text = [w["output"].format(n=min(tail, len(lines)))]
    text += [("  " + line) for line in lines[-tail:]] or ["  " + w["no_output"]]
    text += ["", w["program"].format(file=path), w["stopped"].format(steps=result["steps"],
                                                                      reason=note(result["stop_reason"], lang))]
    err = result.get("program_error")
    if err:
        text.append(w["program_error"].format(error=f"{err['type']}: {err['message']}", where=err["where"]))
    for what, message, where in result.get("learner_errors", []):
        text.append(w["learner_error"].format(what=what, message=message, where=where))
    found = findings_of(result)
    text.append(w["nothing"] if not found and not result["steps"] else report(found, lang))
    for check, *why in result.get("not_checked", []):
        text.append(f"{w['not_checked']}: {check}: {note(why, lang)}")
    text.append(w["timing"].format(doctor=max(result.get("doctor_seconds", 0.0), 0.0),
                                   learner=result.get("learner_seconds_in_checks", 0.0)))
    return "\n".join(text)


def json_report(path, result, output, lang="en"):
    """The JSON report of a watched program (findings rendered in lang)."""
    fs = findings_of(result)
    return {"file": os.fspath(path), "findings": [f.to_dict(lang) for f in fs],
            "not_checked": [[check, note(why, lang)] for check, *why in result["not_checked"]],
            "program_error": result.get("program_error"), "learner_errors": result.get("learner_errors", []),
            "steps": result["steps"], "stop_reason": note(result["stop_reason"], lang), "measured": result.get("measured", {}),
            "doctor_seconds": result.get("doctor_seconds"),
            "learner_seconds_in_checks": result.get("learner_seconds_in_checks"),
            "output_tail": output.splitlines()[-20:]}
