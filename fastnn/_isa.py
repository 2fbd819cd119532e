"""Which instruction-set variant of the compiled extensions to import.

Design
------
setup.py builds every Cython extension several times from the same source: the baseline (plain x86-64, or the
platform's default elsewhere) under its own name, ``fastnn._mlp``, and on x86-64 the variants
``fastnn._mlp_v3`` (``-march=x86-64-v3``: AVX2, FMA, BMI, ...) and ``fastnn._mlp_v4`` (``-march=x86-64-v4``:
AVX-512). ``load_extension(name)`` imports the highest variant that was built and that this CPU runs, and
records which (``loaded_variants()``; ``fastnn info`` and the benchmarks print it).

The CPU's level is a pure function of its feature flags (``level_of_flags``), read from /proc/cpuinfo on
Linux and from llvmlite (numba's LLVM) elsewhere; anything unreadable counts as the baseline, which runs
everywhere. ``$FASTNN_ISA`` forces a variant; ``$FASTNN_REQUIRE_VARIANTS=1`` (CI) turns a variant that the CPU
supports but that was not built into an ImportError, so a build that silently lost its variants fails.
"""
import functools
import importlib
import os

from ._config import ENV_ISA, ENV_REQUIRE_VARIANTS

#: Variant names, lowest first, and the suffix of each one's module name.
LEVELS = ("baseline", "v3", "v4")
SUFFIXES = {"baseline": "", "v3": "_v3", "v4": "_v4"}

# The x86-64 psABI micro-architecture levels, in /proc/cpuinfo's flag names (v3 includes v2's).
_V2 = frozenset({"cx16", "lahf_lm", "popcnt", "pni", "sse4_1", "sse4_2", "ssse3"})
_V3 = _V2 | {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "lzcnt", "movbe", "xsave"}
_V4 = _V3 | {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"}
#: The flags each level needs.
REQUIRED_FLAGS = {"baseline": frozenset(), "v3": _V3, "v4": _V4}

# Other spellings of the same features: /proc/cpuinfo ("abm" is LZCNT) and LLVM ("bmi", "sse4.1", "sahf", ...).
_ALIASES = {"abm": "lzcnt", "bmi": "bmi1", "sse3": "pni", "sse4.1": "sse4_1", "sse4.2": "sse4_2",
            "sahf": "lahf_lm", "cmpxchg16b": "cx16"}

_loaded = {}


def normalize_flags(flags):
    """The set of feature names in /proc/cpuinfo's spelling (lower case, aliases resolved)."""
    names = {str(flag).strip().lower() for flag in flags}
    return frozenset(_ALIASES.get(name, name) for name in names if name)


def level_of_flags(flags):
    """The highest level in LEVELS whose required flags are all in ``flags`` (any spelling)."""
    flags = normalize_flags(flags)
    return next(level for level in reversed(LEVELS) if REQUIRED_FLAGS[level] <= flags)


def _proc_cpuinfo_flags(path="/proc/cpuinfo"):
    with open(path) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key.strip() == "flags":
                return value.split()
    return []


def _llvm_flags():
    from llvmlite import binding
    return [name for name, on in binding.get_host_cpu_features().items() if on]


@functools.lru_cache(maxsize=None)
def cpu_flags():
    """The CPU's feature flags: /proc/cpuinfo, else llvmlite's host features, else none (the baseline)."""
    for reader in (_proc_cpuinfo_flags, _llvm_flags):
        try:
            flags = reader()
        except Exception:  # no /proc, no llvmlite, an odd LLVM: try the next, finally assume the baseline
            continue
        if flags:
            return normalize_flags(flags)
    return frozenset()


def cpu_level():
    """This CPU's level: 'baseline', 'v3' or 'v4'."""
    return level_of_flags(cpu_flags())


def forced_level():
    """``$FASTNN_ISA`` checked against LEVELS, or None when unset."""
    value = os.environ.get(ENV_ISA, "").strip().lower()
    if not value:
        return None
    if value not in LEVELS:
        raise ValueError(f"{ENV_ISA} must be one of {', '.join(LEVELS)}, got {value!r}")
    return value


def require_variants():
    return os.environ.get(ENV_REQUIRE_VARIANTS, "") in ("1", "true", "yes")


def candidates(cpu, forced=None):
    """Levels to try, best first, on a CPU of level ``cpu`` (``forced``: that one only)."""
    if forced is not None:
        if LEVELS.index(forced) > LEVELS.index(cpu):
            raise ValueError(f"{ENV_ISA}={forced} but this CPU supports up to {cpu} "
                             f"(needs {', '.join(sorted(REQUIRED_FLAGS[forced] - REQUIRED_FLAGS[cpu]))})")
        return [forced]
    return list(reversed(LEVELS[:LEVELS.index(cpu) + 1]))


def load_extension(name):
    """Import ``fastnn.<name>``'s best variant that was built and runs on this CPU (see the module's notes).

    Parameters
    ----------
    name : str
        The extension's base name, e.g. '_mlp'.

    Returns
    -------
    module

    Raises
    ------
    ValueError
        ``$FASTNN_ISA`` is not a known level, or names one this CPU does not support.
    ImportError
        No variant could be imported; or the forced one was not built; or, with ``$FASTNN_REQUIRE_VARIANTS=1``,
        a variant this CPU supports was not built.
    """
    forced = forced_level()
    cpu = cpu_level()
    errors = []
    for level in candidates(cpu, forced):
        try:
            module = importlib.import_module(f"fastnn.{name}{SUFFIXES[level]}")
        except ImportError as exc:
            if forced is not None:
                raise ImportError(f"{ENV_ISA}={forced}: the variant fastnn.{name}{SUFFIXES[level]} was not built "
                                  f"({exc})") from exc
            if require_variants():
                raise ImportError(f"fastnn.{name}{SUFFIXES[level]} (the {level} variant this CPU runs) was not "
                                  f"built but {ENV_REQUIRE_VARIANTS}=1 says it must be: rebuild with "
                                  f"`pip install .` ({exc})") from exc
            errors.append(f"{level}: {exc}")
            continue
        _loaded[name] = level
        return module
    raise ImportError(f"no variant of fastnn.{name} could be imported ({'; '.join(errors)})")


def loaded_variants():
    """{extension name: level} of the extensions imported so far through load_extension."""
    return dict(_loaded)


def describe():
    """One line: the variant(s) in use and this CPU's level, e.g. 'v4 (CPU x86-64-v4, FASTNN_ISA unset)'."""
    used = sorted(set(_loaded.values()), key=LEVELS.index)
    forced = os.environ.get(ENV_ISA, "").strip() or "unset"
    return f"{'/'.join(used) or 'none loaded'} (CPU level {cpu_level()}, {ENV_ISA}={forced})"
