"""Mutation check: named counterfeits of fastnn's central claims, each of which some test must catch.

    python .ci/mutants.py            # every mutant; exit status 1 if one survives or the baseline fails
    python .ci/mutants.py --list
    python .ci/mutants.py h-ignored numgrad-is-backprop

Each mutant is applied by monkeypatching inside a fresh ``pytest`` process (this file is also the pytest
plugin that does it, ``-p mutants`` with ``FASTNN_MUTANT=<name>``), and runs only the test selection that
should catch it, stopping at the first failure. The same selections are first run on the unmutated code,
which must pass them (else "killed" would mean nothing). Mutants of numba kernels replace a jitted helper
before anything is compiled, in a process with an empty numba cache of its own (so neither the mutant nor
the cached original leaks into the other).

Not collected by the default ``pytest`` run (testpaths = tests).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent


# --- the mutations, applied inside the pytest process --------------------------------------------------

TARGETS = ("two-layer", "mlp", "extend")


def _two_layer_kernel(sizes, act, lam):
    """Whether the numba backend's numerical gradient runs its two-layer kernel (else its MLP kernel)."""
    from fastnn.backends import _numba
    return _numba.uses_two_layer_numgrad(sizes, act, lam)


def numgrad_is_backprop(targets=TARGETS):
    """The numerical gradient returns backprop's gradient (they agree to ~1e-10 at h = 1e-4): the two-layer
    net's on every backend, MultiLayerNet's compiled one, MultiLayerNetExtend's reference loop."""
    from fastnn import multilayer
    from fastnn.backends import _numba, _numpy
    if "two-layer" in targets:  # the numpy backend's numerical gradient serves the two-layer net only
        _numpy.numerical_gradient = lambda theta, sizes, x, t, act, loss, lam, h, n: _numpy.gradient(
            theta, sizes, x, t, act, loss, lam, n)[1]
    numba_kernels = {"two-layer": True, "mlp": False}
    mutated = {numba_kernels[k] for k in targets if k in numba_kernels}
    if mutated:  # the cython backend's numerical gradient is numba's

        def patched(theta, sizes, x, t, act, loss, lam, h, n, series=None, _f=_numba.numerical_gradient):
            if _two_layer_kernel(sizes, act, lam) in mutated:
                return _numba.gradient(theta, sizes, x, t, act, loss, lam, n)[1]
            return _f(theta, sizes, x, t, act, loss, lam, h, n, series)
        _numba.numerical_gradient = patched
    if "extend" in targets:  # the reference loop of MultiLayerNet(numpy) and MultiLayerNetExtend
        method = multilayer.MultiLayerNetExtend.numerical_gradient
        multilayer.MultiLayerNetExtend.numerical_gradient = lambda self, x, t, h=1e-4: (
            self.gradient(x, t) if self._fast() is None else method(self, x, t, h))


def h_ignored(targets=TARGETS):
    """The numerical gradient takes h = 1e-4 whatever h it is given (same targets as numgrad-is-backprop)."""
    from fastnn import multilayer
    from fastnn.backends import _numba, _numpy
    fixed = 1e-4
    if "two-layer" in targets:
        def patched_numpy(theta, sizes, x, t, act, loss, lam, h, n, _f=_numpy.numerical_gradient):
            return _f(theta, sizes, x, t, act, loss, lam, fixed, n)
        _numpy.numerical_gradient = patched_numpy
    numba_kernels = {"two-layer": True, "mlp": False}
    mutated = {numba_kernels[k] for k in targets if k in numba_kernels}
    if mutated:  # the cython backend's is numba's

        def patched(theta, sizes, x, t, act, loss, lam, h, n, series=None, _f=_numba.numerical_gradient):
            return _f(theta, sizes, x, t, act, loss, lam, fixed if _two_layer_kernel(sizes, act, lam) in mutated
                      else h, n, series)
        _numba.numerical_gradient = patched
    if "extend" in targets:
        method = multilayer.MultiLayerNetExtend.numerical_gradient
        multilayer.MultiLayerNetExtend.numerical_gradient = lambda self, x, t, h=1e-4: method(
            self, x, t, fixed if self._fast() is None else h)


def _batch_softmax(a):
    import numpy as np
    a = np.asarray(a)
    if a.ndim < 2:
        e = np.exp(a - a.max())
        return e / e.sum()
    e = np.exp(a - a.max())
    return e / e.sum()


def softmax_over_batch_reference():
    """The reference normalises the softmax over the whole batch instead of each row."""
    import numpy as np
    from fastnn import reference
    reference.softmax = _batch_softmax
    reference.log_softmax = lambda a: np.log(_batch_softmax(a))


def _replace_logits_grad(kind):
    """fastnn._mlp_numba._logits_grad (dL/da of the loss, inside the jitted backprop and epoch loop)
    replaced before any kernel is compiled."""
    import math
    from numba import njit
    from fastnn import _mlp_numba as bp

    @njit
    def batch_softmax(a, b, t, loss, loss_rows):
        n, c = a.shape
        inv_n = 1.0 / n
        m = a[0, 0] + b[0]
        for i in range(n):
            for k in range(c):
                a[i, k] = a[i, k] + b[k]
                m = max(m, a[i, k])
        s = 0.0
        for i in range(n):
            for k in range(c):
                a[i, k] = math.exp(a[i, k] - m)
                s += a[i, k]
        for i in range(n):
            loss_rows[i] = -math.log(a[i, t[i]] / s)
            for k in range(c):
                a[i, k] = a[i, k] / s * inv_n
            a[i, t[i]] -= inv_n

    @njit
    def summed(a, b, t, loss, loss_rows):
        n, c = a.shape
        for i in range(n):
            m = a[i, 0] + b[0]
            for k in range(c):
                a[i, k] = a[i, k] + b[k]
                m = max(m, a[i, k])
            at = a[i, t[i]] - m
            s = 0.0
            for k in range(c):
                a[i, k] = math.exp(a[i, k] - m)
                s += a[i, k]
            loss_rows[i] = (math.log(s) - at) * n   # the mean of these is the batch sum
            for k in range(c):
                a[i, k] = a[i, k] / s
            a[i, t[i]] -= 1.0

    bp._logits_grad = batch_softmax if kind == "softmax" else summed


def softmax_over_batch_numba():
    """The numba backprop kernel normalises the softmax over the whole batch (its cross-entropy branch)."""
    _replace_logits_grad("softmax")


def loss_summed_reference():
    """The reference's losses (and their gradients) summed over the batch instead of averaged."""
    import numpy as np
    from fastnn import reference
    sce, ce, mse, dlogits = (reference.softmax_cross_entropy, reference.cross_entropy_error,
                             reference.mean_squared_error, reference._dlogits)
    reference.softmax_cross_entropy = lambda a, t: sce(a, t) * np.asarray(a).shape[0]
    reference.cross_entropy_error = lambda y, t: ce(y, t) * reference._as_batch(y, t)[0].shape[0]
    reference.mean_squared_error = lambda y, t: mse(y, t) * reference._as_batch(y, t)[0].shape[0]
    reference._dlogits = lambda a2, t, loss: dlogits(a2, t, loss) * a2.shape[0]


def loss_summed_numba():
    """The numba backprop kernel sums the cross-entropy over the batch instead of averaging it."""
    _replace_logits_grad("summed")


def fused_epoch_skips_bias(backend):
    """A compiled epoch loop leaves the biases (b1, b2 of the two-layer net, inside theta) as they were."""
    import numpy as np
    from fastnn.backends import _cython, _numba

    class SkipBias:
        def __init__(self, module, theta_arg):
            self._module, self._theta_arg = module, theta_arg

        def __getattr__(self, name):
            return getattr(self._module, name)

        def train_epoch(self, *args):
            theta, sizes = args[self._theta_arg], np.asarray(args[self._theta_arg + 1])
            biases, off = [], 0
            for nin, nout in zip(sizes[:-1], sizes[1:]):
                off += nin * nout
                biases.append(slice(off, off + nout))
                off += nout
            saved = [theta[b].copy() for b in biases]
            out = self._module.train_epoch(*args)
            for b, values in zip(biases, saved):
                theta[b] = values
            return out

    if backend == "cython":
        _cython.ext = SkipBias(_cython.ext, 4)   # ext.train_epoch(x, t, perm, batch_size, theta, sizes, ...)
    else:
        _numba.kernels = SkipBias(_numba.kernels, 0)   # kernels.train_epoch(theta, sizes, ...)


def optimizer_wrong_sign():
    """SGD steps up the gradient: W := W + lr dW."""
    from fastnn import optimizers

    def update(self, params, grads):
        for key in params.keys():
            params[key] += self.lr * grads[key]
    optimizers.SGD.update = update


NUMGRAD_H = "tests/test_numgrad_h.py"
BACKPROP_NUMBA_CE = ["tests/test_backends.py", "-k", "forward_loss_and_backprop and numba and cross_entropy"]


def _epoch(backend):
    return ["tests/test_backends.py", "-k", f"epoch_loop_takes_the_reference_steps and SGD and {backend}"]


#: name -> (mutation, pytest arguments selecting the tests that should catch it, fresh numba cache)

def sparse_request_dropped(name):
    """A backend's epoch loop runs densely when the network asks for the sparse first layer (while the network
    still reports 'sparse')."""
    from fastnn.backends import _cython, _numba
    module = {"cython": _cython, "numba": _numba}[name]
    def patched(*args, _f=module.train_epoch, sparse=False, **kwargs):
        return _f(*args, sparse=False, **kwargs)
    module.train_epoch = patched


def auto_ignores_density():
    """'auto' runs the sparse first layer whatever the input's density."""
    from fastnn import _sparse
    _sparse.density = lambda x, n_rows=None: 0.0


def held_rows_ignore_perm():
    """An epoch on inputs held over their nonzeros reads their rows in stored order, not the epoch's."""
    from fastnn import _sparse
    original = _sparse.epoch_rows

    def patched(x, perm, csr_rows, n_threads):
        if isinstance(x, _sparse.SparseRows):
            return x.indptr[:-1][:perm.shape[0]], x.indptr[1:][:perm.shape[0]], x.indices, x.values
        return original(x, perm, csr_rows, n_threads)
    _sparse.epoch_rows = patched


def held_rows_rebuilt_every_epoch():
    """The Trainer compresses x_train again at every epoch instead of once for the fit."""
    from fastnn import trainer
    original = trainer.Trainer.train_step_epoch

    def patched(self):
        self._x_epochs = None
        return original(self)
    trainer.Trainer.train_step_epoch = patched


def sparse_workspace_too_small():
    """The sparse step's CSC buffers sized for a third of the densest batch's nonzeros."""
    from fastnn import _sparse
    original = _sparse.most_batch_nonzeros
    _sparse.most_batch_nonzeros = lambda begin, end, batch_size: max(1, original(begin, end, batch_size) // 3)


def dense_columns_misplaced():
    """A held input's dense block holds its columns in reverse order, so they no longer meet the rows of W1
    that the epoch relabelled for them."""
    from fastnn.backends import _cython
    original = _cython.split_columns

    def patched(x, place, kd, n_threads):
        block, indptr, indices, values = original(x, place, kd, n_threads)
        return block[:, ::-1].copy(), indptr, indices, values
    _cython.split_columns = patched


def split_for_one_epoch():
    """A fit of one epoch (MLPClassifier.partial_fit, a Trainer of one epoch) splits its input all the same."""
    from fastnn import network
    original = network.NetworkBase._epoch_input
    network.NetworkBase._epoch_input = lambda self, x, optimizer, hold=False, epochs=2: original(
        self, x, optimizer, hold, max(epochs, 2))


def doctor_plain_reference():
    """The doctor's reference is the learner's loss as fed, at the parameters' own step and tolerance, whatever
    precision the loss runs in (float32 networks never differenced in float64, a float32 loss of float64
    parameters differenced at 1e-5)."""
    from fastnn import _doctor_examine, _doctor_gradients as grads
    _doctor_examine._reference = lambda subject, x, t, loss, rng, theirs, samples: (
        grads.reference_values(subject.params, loss, rng, theirs, samples), None)


def doctor_kinks_straddled():
    """The doctor's central difference is never taken again at a smaller step (a relu kink within h spoils it)."""
    from fastnn import _doctor_gradients as grads
    grads.REFINE = ()


MUTANTS = {
    "numgrad-is-backprop": (numgrad_is_backprop, [NUMGRAD_H], False),
    "numgrad-is-backprop/numba+cython": (lambda: numgrad_is_backprop(["two-layer"]),
                                         [NUMGRAD_H, "-k", "two_layer and not numpy"], False),
    "numgrad-is-backprop/multilayer": (lambda: numgrad_is_backprop(["mlp"]),
                                       [NUMGRAD_H, "-k", "multilayer and not numpy"], False),
    "numgrad-is-backprop/reference-loop": (lambda: numgrad_is_backprop(["extend"]),
                                           [NUMGRAD_H, "-k", "batchnorm or (multilayer and numpy)"], False),
    "h-ignored": (h_ignored, [NUMGRAD_H], False),
    "h-ignored/numba+cython": (lambda: h_ignored(["two-layer"]), [NUMGRAD_H, "-k", "two_layer and not numpy"],
                               False),
    "h-ignored/multilayer": (lambda: h_ignored(["mlp"]), [NUMGRAD_H, "-k", "multilayer and not numpy"], False),
    "h-ignored/reference-loop": (lambda: h_ignored(["extend"]),
                                 [NUMGRAD_H, "-k", "batchnorm or (multilayer and numpy)"], False),
    "softmax-over-batch/reference": (softmax_over_batch_reference, ["tests/test_reference.py"], False),
    "softmax-over-batch/numba-kernel": (softmax_over_batch_numba, BACKPROP_NUMBA_CE, True),
    "loss-summed/reference": (loss_summed_reference, ["tests/test_reference.py"], False),
    "loss-summed/numba-kernel": (loss_summed_numba, BACKPROP_NUMBA_CE, True),
    "fused-epoch-skips-bias/cython": (lambda: fused_epoch_skips_bias("cython"), _epoch("cython"), False),
    "fused-epoch-skips-bias/numba": (lambda: fused_epoch_skips_bias("numba"), _epoch("numba"), False),
    "optimizer-wrong-sign": (optimizer_wrong_sign, ["tests/test_training.py", "-k", "every_optimizer"], False),
    "sparse-request-dropped/cython": (lambda: sparse_request_dropped("cython"),
                                      ["tests/test_first_layer.py", "-k", "cython"], False),
    "sparse-request-dropped/numba": (lambda: sparse_request_dropped("numba"),
                                     ["tests/test_first_layer.py", "-k", "numba"], False),
    "auto-ignores-density": (auto_ignores_density, ["tests/test_first_layer.py", "-k", "auto"], False),
    "held-rows-ignore-perm": (held_rows_ignore_perm, ["tests/test_sparse_inputs.py", "-k",
                                                      "scipy_matrix_equals and SGD and two-layer"], False),
    "held-rows-rebuilt-every-epoch": (held_rows_rebuilt_every_epoch,
                                      ["tests/test_sparse_inputs.py", "-k", "trainer_builds"], False),
    "sparse-workspace-too-small": (sparse_workspace_too_small, ["tests/test_sparse_inputs.py", "-k", "densest"], False),
    "dense-columns-misplaced": (dense_columns_misplaced, ["tests/test_dense_columns.py", "-k",
                                                          "equals_the_dense_path"], False),
    "split-for-one-epoch": (split_for_one_epoch, ["tests/test_dense_columns.py", "-k", "one_epoch"], False),
    "doctor-plain-reference": (doctor_plain_reference, ["tests/test_doctor.py", "-k", "float32 or float64_parameters"],
                               False),
    "doctor-kinks-straddled": (doctor_kinks_straddled, ["tests/test_doctor.py", "-k", "kink"], False),
}


def pytest_configure(config):
    """The plugin side: apply the mutant named by FASTNN_MUTANT before any test is collected."""
    name = os.environ.get("FASTNN_MUTANT")
    if name:
        MUTANTS[name][0]()


# --- the harness -----------------------------------------------------------------------------------------

def run(selection, mutant=None, numba_cache=None):
    """pytest on a selection, stopping at the first failure; (exit code, first failing test, seconds)."""
    env = dict(os.environ)
    # fastnn comes from wherever the default run takes it (installed in CI; PYTHONPATH in a checkout):
    # the pytest script, not ``python -m pytest``, which would put the source tree first on sys.path
    env["PYTHONPATH"] = os.pathsep.join([str(HERE)] + [p for p in [env.get("PYTHONPATH")] if p])
    env.pop("FASTNN_MUTANT", None)
    if mutant:
        env["FASTNN_MUTANT"] = mutant
    if numba_cache:
        env["NUMBA_CACHE_DIR"] = numba_cache
    start = time.perf_counter()
    script = Path(sys.executable).with_name("pytest")
    pytest = [str(script)] if script.exists() else [sys.executable, "-m", "pytest"]
    proc = subprocess.run([*pytest, "-x", "-q", "-rf", "-p", "no:cacheprovider",
                           "-p", "mutants", *selection], cwd=ROOT, env=env, capture_output=True, text=True)
    failed = re.search(r"^FAILED (\S+)", proc.stdout, re.M)
    return proc.returncode, failed.group(1) if failed else "", time.perf_counter() - start, proc


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="mutants to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name, (mutation, selection, _) in MUTANTS.items():
            print(f"{name:36} {' '.join(selection)}")
        return 0
    unknown = set(args.names) - set(MUTANTS)
    if unknown:
        parser.error(f"unknown mutant(s) {', '.join(sorted(unknown))}; see --list")
    names = args.names or list(MUTANTS)
    ok = True
    with tempfile.TemporaryDirectory(prefix="fastnn-mutants-") as tmp:
        baseline = {}
        for name in sorted(names, key=lambda n: len(MUTANTS[n][1])):  # whole files first
            selection, fresh = MUTANTS[name][1], MUTANTS[name][2]
            key = (tuple(selection), fresh)
            if key in baseline or (tuple(selection[:1]), False) in baseline:  # a -k subset of a file that passed
                continue
            code, failed, seconds, proc = run(selection, numba_cache=os.path.join(tmp, "base") if fresh else None)
            baseline[key] = code
            print(f"baseline (unmutated) {' '.join(selection)}: {'passed' if code == 0 else 'FAILED'} "
                  f"({seconds:.0f} s)", flush=True)
            if code != 0:
                ok = False
                print(proc.stdout[-3000:], proc.stderr[-2000:], sep="\n")
        rows = []
        for name in names:
            mutation, selection, fresh = MUTANTS[name]
            code, failed, seconds, proc = run(selection, name, os.path.join(tmp, name) if fresh else None)
            if code == 1:
                verdict = "yes"
            elif code == 0:
                verdict, ok = "NO", False
            else:  # 2: interrupted or a collection error, 3: internal error, 4: usage, 5: no tests
                verdict, ok = f"ERROR (pytest exit {code})", False
                print(proc.stdout[-3000:], proc.stderr[-2000:], sep="\n")
            rows.append((name, " ".join(selection), verdict, failed or "-", f"{seconds:.0f} s"))
            print(f"{name}: killed {verdict} {failed}", flush=True)
    header = ("mutant", "tests run", "killed", "by", "time")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    print()
    for row in [header, tuple("-" * w for w in widths)] + rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
    print("\nmutation check " + ("passed: every mutant killed, baseline green" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
