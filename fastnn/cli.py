"""The ``fastnn`` command: a few lines over library functions per subcommand."""
import argparse
import math
import os
import platform
import sys
import time

import numpy as np

from . import __version__, _config
from .backends import available_backends, get_backend, unavailable_reasons
from .datasets import load_dataset, n_classes


def _info_lines():
    from threadpoolctl import threadpool_info

    import scipy

    lines = [f"fastnn {__version__}", f"python {platform.python_version()} ({platform.machine()})",
             f"numpy {np.__version__}", f"scipy {scipy.__version__}"]
    for name in available_backends():
        lines.append(f"backend {name}: {get_backend(name).NOTES}")
    for name, why in unavailable_reasons().items():
        lines.append(f"backend {name}: unavailable ({why})")
    lines.append(f"auto backend: {get_backend('auto').NAME}")
    lines.append("MultiLayerNet: the backend's compiled kernels (numba, cython) of any depth; with dropout or "
                 "batchnorm (MultiLayerNetExtend) the NumPy reference computes")
    from .backends import _cython_openmp
    if _cython_openmp() is not None:
        lines.append(f"compiled extension: OpenMP {'on' if _cython_openmp() else 'off (kernels run serially)'}")
    if "cython" in available_backends():
        lines.append(_dense_columns_line())
    lines.append(f"threads: {_config.resolve_threads()} (cores available {_config.available_cores()}, "
                 f"{_config.ENV_NUM_THREADS}={os.environ.get(_config.ENV_NUM_THREADS, 'unset')})")
    from . import _cache
    folder, why = _cache.numba_cache
    lines.append(f"numba cache: {folder or 'numba default'} ({why}); data cache: {_cache.cache_root()}")
    for pool in threadpool_info():
        lines.append(f"threadpool: {pool.get('internal_api')} {pool.get('version')} "
                     f"({pool.get('user_api')}, {pool.get('num_threads')} threads) {pool.get('filepath')}")
    return lines


def _dense_columns_line():
    """Whether a held sparse input's dense columns are multiplied as a dense block here, and why (the cython
    backend's policy: the instruction set its kernels run)."""
    from .backends._cython import _vector_panels, sparse_ext
    isa = sparse_ext.isa()
    if _vector_panels():
        f32, f64 = (_config.DENSE_COLUMN_MIN_DENSITY[name] for name in ("float32", "float64"))
        share = (f"{f32:.0%} of the rows (float32 and float64)" if f32 == f64
                 else f"{f32:.0%} (float32) / {f64:.0%} (float64) of the rows")
        return (f"held sparse inputs: dense columns on (kernels {isa}; columns nonzero in >= "
                f"{share} multiplied as a dense block: with SGD at any width, with other optimizers for first "
                f"layers of <= {_config.DENSE_COLUMN_MAX_UNITS} units)")
    return (f"held sparse inputs: dense columns off (kernels {isa}, no vector body: every nonzero "
            f"through the sparse kernels)")


def cmd_info(args):
    print("\n".join(_info_lines()))
    return 0


def cmd_warmup(args):
    from .numerical import warmup
    warmup(verbose=True)
    return 0


def architecture(net):
    """'784-100-10' (TwoLayerNet) or '784-256-128-10' (MultiLayerNet): the widths of the layers."""
    hidden = getattr(net, "hidden_size_list", None)
    return "-".join(map(str, [net.input_size, *(hidden if hidden is not None else [net.hidden_size]),
                              net.output_size]))


#: fastnn train's defaults for the options a checkpoint fixes. argparse leaves them None, so that ``--resume``
#: can tell an option the user typed (checked against the checkpoint) from one left alone (the checkpoint's).
TRAIN_DEFAULTS = {"hidden": [100], "activation": "sigmoid", "init": "xavier", "optimizer": "Momentum", "lr": 0.1,
                  "dtype": "float32"}


def _fill_defaults(args):
    for name, value in TRAIN_DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, value)


def _checkpoint_options(meta):
    """What a checkpoint fixes, spelled as the options: {option: value} (its optimizer None in a plain model)."""
    hidden = meta["hidden_size_list"] if "hidden_size_list" in meta else [meta["hidden_size"]]
    return {"hidden": list(hidden), "activation": meta["activation"], "dtype": meta["dtype"],
            "optimizer": (meta.get("optimizer") or {}).get("name")}


def _as_typed(value):
    return " ".join(map(str, value)) if isinstance(value, list) else str(value)


def _check_resume_options(args, meta):
    """Refuse the options typed with --resume that the checkpoint contradicts (it keeps its own), naming each.

    Architecture, dtype and optimizer (whose state the checkpoint holds) must match it. --init and --seed cannot
    apply (the weights and the shuffling RNG's state come from it), but re-running the first run's command with
    --resume added is natural: they are not refused, a note on stderr says they are not used. --lr is applied
    (see cmd_train).
    """
    for name, what in (("init", "the trained weights"), ("seed", "the shuffling RNG's state")):
        if getattr(args, name) is not None:
            print(f"fastnn: note: --{name} {getattr(args, name)} is not used when resuming: the checkpoint holds "
                  f"{what}", file=sys.stderr)
    saved = _checkpoint_options(meta)
    clashes = [f"--{name} {_as_typed(getattr(args, name))} (the checkpoint's: {_as_typed(saved[name])})"
               for name in ("hidden", "activation", "dtype") if getattr(args, name) not in (None, saved[name])]
    if args.optimizer is not None and saved["optimizer"] is not None \
            and args.optimizer.lower() != saved["optimizer"].lower():
        clashes.append(f"--optimizer {args.optimizer} (the checkpoint's: {saved['optimizer']}, with its state)")
    if clashes:
        raise ValueError(f"--resume {args.resume} continues the checkpoint's run, which these options contradict: "
                         f"{'; '.join(clashes)}. Leave them out to resume (a new --lr is applied), or drop --resume "
                         "to start a new run")


def _network_from_args(args, n_inputs, n_outputs):
    """One --hidden width: the book's TwoLayerNet; several: a MultiLayerNet (``fastnn.make_network``)."""
    from .multilayer import make_network
    return make_network(n_inputs, args.hidden, n_outputs, activation=args.activation, weight_init_std=args.init,
                        dtype=np.dtype(args.dtype), backend=args.backend, seed=args.seed, n_threads=args.threads)


def _check_outputs(args):
    """Fail now, not after training, when --save (or --resume's file) or --plot cannot be written."""
    from ._files import check_writable
    checkpoint = args.save or args.resume
    if checkpoint:
        check_writable(checkpoint)
    if args.plot:
        check_writable(args.plot)
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise ImportError("--plot needs matplotlib: pip install 'fastnn[plot]' (or pip install matplotlib)") \
                from None


def _dataset_for(net, asked):
    """The dataset named, else the one whose images fit the model (64 pixels: digits), else MNIST."""
    if asked not in (None, "auto"):
        return asked
    return "digits" if net is not None and net.input_size == 64 else "mnist"


def _check_fits(net, x, dataset, path):
    if net.input_size != x.shape[1]:
        fits = {784: " (--dataset mnist)", 64: " (--dataset digits)"}.get(net.input_size, "")
        raise ValueError(f"the model in {path!r} takes {net.input_size} inputs, but the {dataset} images have "
                         f"{x.shape[1]} pixels; it needs data of its own input size{fits}")


def _report_saved(trainer, path):
    if trainer.checkpoint_epoch is None:
        print(f"nothing was saved to {path}: no epoch finished")
    elif trainer.checkpoint_epoch == trainer.current_epoch:
        print(f"model and checkpoint saved to {path} (epoch {trainer.checkpoint_epoch})")
    else:
        print(f"{path} holds the checkpoint of epoch {trainer.checkpoint_epoch}")


def _check_data_dir(data_dir):
    """A folder the user named is used or refused, never replaced by other data (fail now, not after a load)."""
    if data_dir is not None and not os.path.isdir(data_dir):
        what = "is not a folder" if os.path.exists(data_dir) else "does not exist"
        raise FileNotFoundError(f"--data-dir {data_dir!r} {what}")


def cmd_train(args):
    from .io import load_model, read_model_file
    from .trainer import Trainer, plot_history

    _check_data_dir(args.data_dir)
    if args.resume:
        _check_resume_options(args, read_model_file(args.resume)[0])
    lr_given = args.lr
    _fill_defaults(args)
    _check_outputs(args)
    net = load_model(args.resume, backend=args.backend, n_threads=args.threads) if args.resume else None
    ((x, t), (x_test, t_test)), dataset = load_dataset(_dataset_for(net, args.dataset), args.data_dir)
    if net is None:
        net = _network_from_args(args, x.shape[1], n_classes(dataset))
    else:
        _check_fits(net, x, dataset, args.resume)
    trainer = Trainer(net, x, t, x_test, t_test, epochs=args.epochs, mini_batch_size=args.batch_size,
                      optimizer=args.optimizer, optimizer_param={"lr": args.lr}, seed=args.seed,
                      gradient=args.gradient, verbose=not args.quiet, checkpoint=args.save or args.resume,
                      eval_train=args.eval_train)
    if args.resume:
        trainer.load_checkpoint(args.resume)
        lr_note = ""
        if lr_given is not None and lr_given != trainer.optimizer.lr:  # the optimizer's state is kept, its lr set
            lr_note = f", lr {lr_given} (the checkpoint's {trainer.optimizer.lr})"
            trainer.optimizer.lr = lr_given
        print(f"resuming {args.resume} after epoch {trainer.current_epoch} of {args.epochs}{lr_note}")
    start = time.perf_counter()
    history = trainer.train()
    total = time.perf_counter() - start
    epochs = len(history["loss"])
    print(f"{dataset}: {x.shape[0]} train / {x_test.shape[0]} test rows, {architecture(net)} "
          f"{net.activation}, {type(trainer.optimizer).__name__} lr {trainer.optimizer.lr}, "
          f"batch {args.batch_size}, {net.dtype.name}")
    if epochs:
        how = "" if args.eval_train else " (over the last epoch's batches; --eval-train for a full pass)"
        print(f"final train accuracy {history['accuracy'][-1]:.4f}{how}, "
              f"test accuracy {history['val_accuracy'][-1]:.4f}")
        print(f"{epochs} epochs, {total:.1f} s this run ({np.mean(history['epoch_time']):.3f} s per epoch of training)")
    print(f"backend {net.backend}, threads {_config.resolve_threads(args.threads)}")
    if args.save or args.resume:
        _report_saved(trainer, args.save or args.resume)
    if args.plot and not history["loss"]:
        print(f"{args.plot} not written: no epoch finished, no curves to plot")
    elif args.plot:
        plot_history(history, args.plot, title=f"fastnn {dataset} {architecture(net)}")
        print(f"curves saved to {args.plot}")
    return 130 if trainer.interrupted else 0


def _doctor_batch(data_dir, n):
    """(x raw 0..255, x scaled, t one-hot, t int, dataset name) of the first n training images."""
    data, name = load_dataset("mnist", data_dir)
    (x, t), _ = data
    top = 16.0 if name == "digits" else 255.0
    xs = np.asarray(x[:n], np.float64)
    return np.round(xs * top), xs, np.eye(10)[t[:n]], t[:n], name


def cmd_doctor(args):
    import json

    from .doctor import json_report, render_watch, watch
    from .doctor import check_script
    check_script(args.file)
    _check_data_dir(args.data_dir)
    if args.static:
        return _doctor_static(args)
    result, output = watch(args.file, steps=args.steps, timeout=args.timeout, data_dir=args.data_dir)
    if args.json:
        print(json.dumps(json_report(args.file, result, output, args.lang), indent=1, ensure_ascii=False))
    else:
        print(render_watch(args.file, result, output, args.lang))
    return 0


def _doctor_static(args):
    import json

    from .doctor import doctor
    from .learner import build_learner_network, load_definitions

    from ._doctor_probes import learner_location
    _, scaled, onehot, _, name = _doctor_batch(args.data_dir, args.batch)
    try:
        namespace, notes = load_definitions(args.file)
        net = build_learner_network(namespace, args.class_name, scaled.shape[1], args.hidden, 10)
    except (OSError, SyntaxError) as exc:
        raise ValueError(f"cannot read {args.file}: {exc}") from None
    except ValueError:
        raise
    except Exception as exc:  # the learner's own code failed: say so, with its file:line
        print(f"the learner's code raised {type(exc).__name__}: {exc} (at {learner_location(exc)})")
        return 1
    if not args.json:
        for note in notes:
            print(f"note: {note}")
        print(f"\n== {args.class_name}({scaled.shape[1]}, {args.hidden}, 10) on {len(scaled)} {name} images "
              "scaled to [0, 1] (definitions only; no top-level code run)")
    found = doctor(net, scaled, onehot, lr=args.lr, lang=args.lang, verbose=not args.json)
    if args.json:
        print(json.dumps({"file": args.file, "notes": notes, "findings": [f.to_dict(args.lang) for f in found]},
                         indent=1, ensure_ascii=False, default=str))
    return 0


def cmd_gradcheck(args):
    from .gradcheck import gradient_check
    from .io import load_model
    from .network import TwoLayerNet

    _check_data_dir(args.data_dir)
    net = load_model(args.model, backend=args.backend) if args.model else None
    ((x, t), _), name = load_dataset(_dataset_for(net, args.dataset), args.data_dir)
    x, t = np.asarray(x[:args.batch], np.float64), t[:args.batch]
    if net is None:
        net = TwoLayerNet(x.shape[1], args.hidden, 10, "xavier", backend=args.backend, seed=0)
    else:
        _check_fits(net, x, name, args.model)
    print(f"gradient check of {net} on {len(x)} {name} images")
    result = gradient_check(net, x.astype(net.dtype), t)
    print(result)
    return 0 if result.passed else 1


def cmd_sweep(args):
    import json
    import os

    import joblib

    from .sweeps import sweep
    grid = args.grid
    if os.path.isdir(grid):
        raise ValueError(f"--grid {grid!r} is a directory, not a JSON file")
    if os.path.exists(grid):
        with open(grid) as f:
            grid = f.read()
    try:
        grid = json.loads(grid)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--grid must be a JSON object (or list of objects), or a file holding one: {exc}") from None
    kwargs = dict(epochs=args.epochs, n_train=args.n_train, n_jobs=args.n_jobs, threads_per_task=args.threads_per_task,
                  backend=args.backend, out=args.out)
    if args.dask:
        try:
            from dask.distributed import Client
        except ImportError:
            raise ImportError("--dask needs dask.distributed: pip install 'fastnn[dask]'") from None
        with Client(args.dask), joblib.parallel_config("dask"):
            sweep(grid, args.data, **kwargs)
    elif args.ray:
        try:
            from ray.util.joblib import register_ray
        except ImportError:
            raise ImportError("--ray needs ray: pip install 'fastnn[ray]'") from None
        register_ray()
        with joblib.parallel_config("ray"):
            sweep(grid, args.data, **kwargs)
    else:
        sweep(grid, args.data, **kwargs)
    return 0


MAX_COUNT = 2**31 - 1  # counts the kernels take as C ints


def _number(text, kind, minimum, what, maximum=MAX_COUNT):
    try:
        value = kind(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"must be {what}, got {text[:40]!r}") from None
    if kind is int and value < minimum:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text[:40]!r}")
    if kind is int and value > maximum:
        raise argparse.ArgumentTypeError(f"must be {what} up to {maximum}, got {text[:40]!r}")
    if kind is float and not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be {what}, got {text[:40]!r}")
    return value


def positive_int(text):
    """argparse type: an integer >= 1 (a count: batch size, epochs, widths, rows, threads, jobs)."""
    return _number(text, int, 1, "a positive integer")


def nonnegative_int(text):
    """argparse type: an integer >= 0 (a seed)."""
    return _number(text, int, 0, "a non-negative integer", maximum=2**128 - 1)


def positive_float(text):
    """argparse type: a finite number > 0 (a learning rate)."""
    return _number(text, float, None, "a positive finite number")


def build_parser():
    parser = argparse.ArgumentParser(prog="fastnn", description="The book's two-layer MNIST network, fast.")
    parser.add_argument("--version", action="version", version=f"fastnn {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help=f"show the traceback of an error (also {DEBUG_ENV}=1)")
    sub = parser.add_subparsers(dest="command")

    sub.add_parser("info", help="versions, backends, OpenMP, threads and BLAS").set_defaults(func=cmd_info)
    sub.add_parser("warmup", help="compile the jitted kernels now").set_defaults(func=cmd_warmup)

    doc = sub.add_parser("doctor", help="diagnose a learner's training script (why it does not learn)")
    doc.add_argument("file", help="the learner's Python script; it is run for a few training steps in a child "
                                  "process (with --static only its definitions are read)")
    doc.add_argument("--steps", type=positive_int, default=3,
                     help="training steps to watch (default 3; up to 50 while a first step that overshot has not "
                          "yet brought the loss back down)")
    doc.add_argument("--timeout", type=positive_float, default=120.0, help="seconds to watch (default 120)")
    doc.add_argument("--json", action="store_true", help="print the findings as JSON")
    doc.add_argument("--static", action="store_true",
                     help="run nothing of the script's top level: build its network class from its definitions")
    doc.add_argument("--class", dest="class_name", default="TwoLayerNet", help="--static: the network class")
    doc.add_argument("--hidden", type=positive_int, default=50, help="--static: hidden units")
    doc.add_argument("--lr", type=float, default=None, help="--static: the learning rate in use")
    doc.add_argument("--batch", type=positive_int, default=32, help="--static: batch size")
    doc.add_argument("--data-dir", default=None)
    doc.add_argument("--lang", choices=("en", "zh"), default="en", help="report language (zh: Chinese)")
    doc.set_defaults(func=cmd_doctor)

    gc = sub.add_parser("gradcheck", help="backprop vs central difference, per parameter")
    gc.add_argument("model", nargs="?", default=None, help="a saved model (.npz); default a fresh network")
    gc.add_argument("--hidden", type=positive_int, default=50)
    gc.add_argument("--batch", type=positive_int, default=3)
    gc.add_argument("--backend", choices=("auto", "numpy", "numba", "cython"), default="auto")
    gc.add_argument("--dataset", choices=("auto", "mnist", "digits"), default="auto",
                    help="images to check on (auto: those of the model's input size, 784 MNIST or 64 digits)")
    gc.add_argument("--data-dir", default=None)
    gc.set_defaults(func=cmd_gradcheck)

    sw = sub.add_parser("sweep", help="train a grid of configurations in parallel (joblib; Dask or Ray for clusters)")
    sw.add_argument("--grid", required=True,
                    help='JSON (or a file of it): {"hidden": [[100], [100, 100]], "lr": [0.01, 0.001], "seed": [0, 1]}')
    sw.add_argument("--data", choices=("mnist", "digits"), default="mnist")
    sw.add_argument("--epochs", type=positive_int, default=None, help="override every configuration's epochs")
    sw.add_argument("--n-train", type=positive_int, default=None, help="train on the first N rows only")
    sw.add_argument("--n-jobs", type=positive_int, default=None,
                    help="configurations at once (default: fill the cores)")
    sw.add_argument("--threads-per-task", type=positive_int, default=None)
    sw.add_argument("--backend", choices=("auto", "numpy", "numba", "cython"), default="auto")
    sw.add_argument("--out", default=None, metavar="PATH", help="write the results to PATH (.csv or .json)")
    where = sw.add_mutually_exclusive_group()
    where.add_argument("--dask", default=None, metavar="ADDRESS", help="run on this Dask scheduler (tcp://host:8786)")
    where.add_argument("--ray", action="store_true", help="run on Ray (ray.init() finds or starts the cluster)")
    sw.set_defaults(func=cmd_sweep)

    train = sub.add_parser("train", help="train TwoLayerNet (or MultiLayerNet) on MNIST (or the bundled digits)")
    from .datasets import DATASETS
    train.add_argument("--dataset", choices=DATASETS + ("digits",), default=None,
                       help="the MNIST family (found, else downloaded and verified) or scikit-learn's 8x8 digits; "
                            "default mnist, or with --resume the data of the model's input size")
    train.add_argument("--data-dir", default=None,
                       help="folder with the four IDX files (a known set is verified, any other checked and noted)")
    # None: the defaults (TRAIN_DEFAULTS) are filled in by cmd_train, after --resume has checked what was typed
    train.add_argument("--hidden", type=positive_int, nargs="+", default=None, metavar="WIDTH",
                       help="hidden layer width (default 100: the book's TwoLayerNet); several widths build a "
                            "MultiLayerNet")
    train.add_argument("--activation", choices=("sigmoid", "relu"), default=None, help="default sigmoid")
    train.add_argument("--init", default=None, help="weight init: a std, 'xavier' (default) or 'he'")
    train.add_argument("--optimizer", default=None, help="default Momentum",
                       choices=("SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam", "sgd", "momentum",
                                "nesterov", "adagrad", "rmsprop", "adam"))
    train.add_argument("--lr", type=positive_float, default=None,
                       help="learning rate (default 0.1; with --resume, replaces the checkpoint's)")
    train.add_argument("--batch-size", type=positive_int, default=100)
    train.add_argument("--epochs", type=positive_int, default=20,
                       help="total epochs (with --resume: including those already done)")
    train.add_argument("--backend", choices=("auto", "numpy", "numba", "cython"), default="auto")
    train.add_argument("--gradient", choices=("backprop", "numerical"), default="backprop")
    train.add_argument("--dtype", choices=("float32", "float64"), default=None, help="default float32")
    train.add_argument("--seed", type=nonnegative_int, default=None)
    train.add_argument("--threads", type=positive_int, default=None)
    train.add_argument("--plot", default=None, metavar="PATH", help="save loss/accuracy curves to this PNG")
    train.add_argument("--save", default=None, metavar="PATH", help="save the model (and a checkpoint every epoch)")
    train.add_argument("--resume", default=None, metavar="PATH",
                       help="continue a run from its checkpoint (saved back to the same file unless --save); "
                            "--hidden, --activation, --dtype and --optimizer, when given, must match it, --init "
                            "and --seed are not used (a note says so), --lr replaces its learning rate")
    train.add_argument("--quiet", action="store_true", help="no per-epoch report")
    train.add_argument("--eval-train", action="store_true",
                       help="measure the training accuracy in a full pass after each epoch (default: accumulated "
                            "over the epoch's own batches, as Keras reports it; the test set is evaluated either way)")
    train.set_defaults(func=cmd_train)
    return parser


DEBUG_ENV = "FASTNN_DEBUG"
USAGE_ERRORS = (ValueError, TypeError, FileNotFoundError, RuntimeError, ImportError)


def _one_line(exc):
    """An exception as one line: its message, with its type when that is not a plain usage error."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, MemoryError):
        return f"out of memory ({text})"
    if not isinstance(exc, USAGE_ERRORS):
        text = f"{type(exc).__name__}: {text}"
    return text


def main(argv=None):
    """Run the command; errors print one line on stderr (exit 2 for bad input, 1 for others, 130 on Ctrl-C).

    ``--debug`` or ``FASTNN_DEBUG=1`` lets the exception (and its traceback) through instead.
    """
    debug = os.environ.get(DEBUG_ENV, "") not in ("", "0")
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        debug = debug or args.debug
        if getattr(args, "init", None) is not None:
            try:
                args.init = float(args.init)
            except ValueError:
                pass
        if not getattr(args, "func", None):
            parser.print_help()
            return 0
        return args.func(args)
    except KeyboardInterrupt:
        if debug:
            raise
        print("fastnn: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the command line's last line of defence: one line, no traceback
        if debug:
            raise
        print(f"fastnn: error: {_one_line(exc)}", file=sys.stderr)
        return 2 if isinstance(exc, USAGE_ERRORS) else 1
