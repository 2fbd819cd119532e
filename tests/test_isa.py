"""The instruction-set variants of the compiled extensions: which one the loader picks for a CPU's flags,
FASTNN_ISA forcing and its errors, FASTNN_REQUIRE_VARIANTS, and every variant built here (and runnable on
this CPU) computing what the reference computes."""
import importlib.util
import os
import types

import numpy as np
import pytest

import fastnn
from fastnn import _isa
from fastnn import reference as ref
from helpers import assert_close, problem

EXTENSIONS = ("_mlp", "_sparse_kernels")

# Feature flags as /proc/cpuinfo prints them (the ISA-relevant part): Sapphire Rapids, AMD EPYC Zen 2
# (AVX2, no AVX-512), an old Xeon (Westmere: SSE4.2, no AVX) and an ARM server.
SAPPHIRE_RAPIDS = ("fpu sse sse2 pni ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt xsave avx f16c lahf_lm abm avx2 "
                   "bmi1 bmi2 avx512f avx512dq avx512cd avx512bw avx512vl avx512_bf16 amx_tile").split()
EPYC_ZEN2 = ("fpu sse sse2 pni ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt xsave avx f16c lahf_lm abm sse4a avx2 "
             "bmi1 bmi2 sha_ni").split()
WESTMERE = "fpu sse sse2 pni ssse3 cx16 sse4_1 sse4_2 popcnt lahf_lm aes".split()
ARM = "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics".split()
# LLVM's names for Zen 2's features (llvmlite.binding.get_host_cpu_features, off-Linux).
LLVM_ZEN2 = ("sse3 ssse3 sse4.1 sse4.2 cx16 sahf popcnt movbe xsave avx avx2 fma f16c bmi bmi2 lzcnt "
             "sse4a").split()


@pytest.mark.parametrize("flags, level", [(SAPPHIRE_RAPIDS, "v4"), (EPYC_ZEN2, "v3"), (LLVM_ZEN2, "v3"),
                                          (WESTMERE, "baseline"), (ARM, "baseline"), ([], "baseline")],
                         ids=["sapphire-rapids", "epyc-zen2", "llvm-zen2", "westmere", "arm", "none"])
def test_level_of_known_cpus(flags, level):
    assert _isa.level_of_flags(flags) == level


@pytest.mark.parametrize("missing", sorted(_isa.REQUIRED_FLAGS["v3"]))
def test_every_v3_flag_is_needed(missing):
    """Without any one of x86-64-v3's features the CPU is baseline (the compiler may use each of them)."""
    flags = set(_isa.normalize_flags(EPYC_ZEN2)) - {missing}
    assert _isa.level_of_flags(flags) == "baseline"
    assert _isa.level_of_flags(set(_isa.normalize_flags(SAPPHIRE_RAPIDS)) - {missing}) == "baseline"


@pytest.mark.parametrize("missing", ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"])
def test_every_v4_flag_is_needed(missing):
    assert _isa.level_of_flags(set(_isa.normalize_flags(SAPPHIRE_RAPIDS)) - {missing}) == "v3"


def test_cpuinfo_is_parsed(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: " + " ".join(EPYC_ZEN2) +
                       "\nbugs\t\t: sysret_ss_attrs\n\nprocessor\t: 1\n")
    assert _isa._proc_cpuinfo_flags(str(cpuinfo)) == EPYC_ZEN2
    (tmp_path / "arm").write_text("processor\t: 0\nFeatures\t: " + " ".join(ARM) + "\n")
    assert _isa._proc_cpuinfo_flags(str(tmp_path / "arm")) == []


def test_unreadable_flags_mean_the_baseline(monkeypatch):
    def fail():
        raise OSError("no /proc here")
    monkeypatch.setattr(_isa, "_proc_cpuinfo_flags", fail)
    monkeypatch.setattr(_isa, "_llvm_flags", fail)
    _isa.cpu_flags.cache_clear()
    try:
        assert _isa.cpu_flags() == frozenset() and _isa.cpu_level() == "baseline"
    finally:
        _isa.cpu_flags.cache_clear()


def test_llvm_flags_are_used_when_there_is_no_cpuinfo(monkeypatch):
    monkeypatch.setattr(_isa, "_proc_cpuinfo_flags", lambda: [])
    monkeypatch.setattr(_isa, "_llvm_flags", lambda: LLVM_ZEN2)
    _isa.cpu_flags.cache_clear()
    try:
        assert _isa.cpu_level() == "v3"
    finally:
        _isa.cpu_flags.cache_clear()


def test_candidates_best_first_and_forced():
    assert _isa.candidates("v4") == ["v4", "v3", "baseline"]
    assert _isa.candidates("v3") == ["v3", "baseline"]
    assert _isa.candidates("baseline") == ["baseline"]
    assert _isa.candidates("v4", "v3") == ["v3"]
    assert _isa.candidates("v3", "baseline") == ["baseline"]
    with pytest.raises(ValueError, match=r"FASTNN_ISA=v4 but this CPU supports up to v3 \(needs avx512bw"):
        _isa.candidates("v3", "v4")
    with pytest.raises(ValueError, match="FASTNN_ISA=v3 .* up to baseline"):
        _isa.candidates("baseline", "v3")


@pytest.mark.parametrize("value", ["avx2", "x86-64-v3", "v5", "native"])
def test_unknown_forced_level_is_refused_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv("FASTNN_ISA", value)
    with pytest.raises(ValueError, match=f"FASTNN_ISA must be one of baseline, v3, v4, got '{value}'"):
        _isa.forced_level()
    with pytest.raises(ValueError, match="FASTNN_ISA"):
        _isa.load_extension("_mlp")


def test_forced_level_is_read_case_and_space_insensitively(monkeypatch):
    monkeypatch.setenv("FASTNN_ISA", " V3 ")
    assert _isa.forced_level() == "v3"
    monkeypatch.setenv("FASTNN_ISA", "")
    assert _isa.forced_level() is None


@pytest.fixture
def fake_build(monkeypatch):
    """A CPU of level v4 and an extension '_x' built as baseline and v3 only (its v4 variant is missing)."""
    built = {f"fastnn._x{s}": types.ModuleType(f"fastnn._x{s}") for s in ("", "_v3")}

    def import_module(name):
        if name not in built:
            raise ImportError(f"No module named {name!r}")
        return built[name]
    monkeypatch.setattr(_isa.importlib, "import_module", import_module)
    monkeypatch.setattr(_isa, "cpu_level", lambda: "v4")
    monkeypatch.setattr(_isa, "_loaded", dict(_isa._loaded))
    monkeypatch.delenv("FASTNN_ISA", raising=False)
    monkeypatch.delenv("FASTNN_REQUIRE_VARIANTS", raising=False)
    return built


def test_loader_takes_the_best_built_variant_and_records_it(fake_build):
    assert _isa.load_extension("_x") is fake_build["fastnn._x_v3"]
    assert _isa.loaded_variants()["_x"] == "v3"


def test_required_variants_make_a_missing_one_an_error(fake_build, monkeypatch):
    monkeypatch.setenv("FASTNN_REQUIRE_VARIANTS", "1")
    with pytest.raises(ImportError, match=r"fastnn\._x_v4 \(the v4 variant this CPU runs\) was not built but "
                                          "FASTNN_REQUIRE_VARIANTS=1"):
        _isa.load_extension("_x")


def test_forcing_takes_that_variant_or_says_it_was_not_built(fake_build, monkeypatch):
    monkeypatch.setenv("FASTNN_ISA", "baseline")
    assert _isa.load_extension("_x") is fake_build["fastnn._x"]
    assert _isa.loaded_variants()["_x"] == "baseline"
    monkeypatch.setenv("FASTNN_ISA", "v4")
    with pytest.raises(ImportError, match=r"FASTNN_ISA=v4: the variant fastnn\._x_v4 was not built"):
        _isa.load_extension("_x")


def test_no_variant_at_all_is_an_import_error(fake_build):
    with pytest.raises(ImportError, match=r"no variant of fastnn\._y could be imported"):
        _isa.load_extension("_y")


# --- the variants built here -----------------------------------------------------------------------------

def built(name, level):
    return importlib.util.find_spec(f"fastnn.{name}{_isa.SUFFIXES[level]}") is not None


RUNNABLE = [level for level in _isa.LEVELS[:_isa.LEVELS.index(_isa.cpu_level()) + 1]]
BUILT = [level for level in RUNNABLE if all(built(name, level) for name in EXTENSIONS)]


def test_every_variant_this_cpu_runs_is_built_when_required():
    """CI sets FASTNN_REQUIRE_VARIANTS=1: a build that silently lost a variant fails here."""
    if not _isa.require_variants():
        pytest.skip("FASTNN_REQUIRE_VARIANTS is not set")
    assert BUILT == RUNNABLE, {name: [lv for lv in RUNNABLE if not built(name, lv)] for name in EXTENSIONS}


def test_the_library_uses_the_best_variant_and_says_so():
    if "cython" not in fastnn.available_backends():
        pytest.skip("compiled extension not built")
    used = _isa.loaded_variants()
    assert used["_mlp"] == (_isa.forced_level() or BUILT[-1])
    assert f"instruction-set variant {used['_mlp']}" in fastnn.backends.get_backend("cython").NOTES
    assert "instruction-set variant" in fastnn.backends.get_backend("cython").NOTES


@pytest.fixture(params=BUILT)
def variant(request, monkeypatch):
    """The cython backend running one built variant's kernels (forced through FASTNN_ISA)."""
    if "cython" not in fastnn.available_backends():
        pytest.skip("compiled extension not built")
    from fastnn.backends import _cython
    monkeypatch.setattr(_isa, "_loaded", dict(_isa._loaded))  # the library's own record stays as it was
    monkeypatch.setenv("FASTNN_ISA", request.param)
    modules = {name: _isa.load_extension(name) for name in EXTENSIONS}
    for name, module in modules.items():
        assert module.__name__ == f"fastnn.{name}{_isa.SUFFIXES[request.param]}"
    monkeypatch.setattr(_cython, "ext", modules["_mlp"])
    return modules


def test_variant_twolayer_matches_the_reference(variant, dtype):
    params, x, t = problem(3, n=37, d=9, h=6, k=5)
    net = fastnn.TwoLayerNet(9, 6, 5, dtype=dtype, backend="cython")
    net.params = {k: v.astype(dtype) for k, v in params.items()}
    P = {k: np.array(v, np.float64) for k, v in net.params.items()}
    x = x.astype(dtype)
    value, grads = net.loss_and_gradient(x, t)
    ref_value, ref_grads = ref.gradient(P, x.astype(np.float64), t, "sigmoid", "cross_entropy")
    assert_close(value, ref_value, dtype)
    assert_close(net.predict(x), ref.predict(P, x.astype(np.float64), "sigmoid"), dtype)
    for key in ref_grads:
        assert_close(grads[key], ref_grads[key], dtype, err_msg=key)
    perm = np.random.default_rng(0).permutation(37)
    losses = net.train_epoch(x, t, 8, fastnn.SGD(0.1), perm=perm)
    ref_losses, _ = ref.train_epoch(P, x.astype(np.float64), t, perm, 8, fastnn.SGD(0.1), "sigmoid", "cross_entropy")
    assert_close(losses, ref_losses.mean(), dtype, scale=10)
    for key in P:
        assert_close(net.params[key], P[key], dtype, scale=100 if dtype == np.float32 else 1, err_msg=key)


def test_variant_multilayer_matches_the_reference(variant, dtype):
    kw = dict(activation="tanh", weight_init_std=0.5, weight_decay_lambda=0.1, seed=1, dtype=dtype)
    reference = fastnn.MultiLayerNet(8, [6, 5], 4, backend="numpy", **kw)
    net = fastnn.MultiLayerNet(8, [6, 5], 4, backend="cython", **kw)
    rng = np.random.default_rng(5)
    x, t = rng.random((23, 8)).astype(dtype), rng.integers(0, 4, 23)
    gn, gr = net.gradient(x, t), reference.gradient(x, t)
    for key in gr:
        assert_close(gn[key], gr[key], dtype, err_msg=key)
    ln = net.train_epoch(x, t, 10, fastnn.Adam(lr=0.05, eps=1e-8), seed=0)
    lr_ = reference.train_epoch(x, t, 10, fastnn.Adam(lr=0.05, eps=1e-8), seed=0)
    assert ln == pytest.approx(lr_, rel=1e-4)


def test_variant_sparse_kernels_match_the_dense_products(variant, dtype):
    """Each variant's sparse kernels, with every instruction-set body of _sparse.h this CPU runs."""
    from test_sparse import _ISA_ORDER, check, sparse_rows
    kernels = variant["_sparse_kernels"]
    x = sparse_rows(np.random.default_rng(2), 40, 30, 0.2, dtype)
    try:
        for body in _ISA_ORDER[:_ISA_ORDER.index(kernels.cpu_isa()) + 1]:
            assert kernels.set_isa(body) == body
            check(kernels, x, np.random.default_rng(3).permutation(40), 5, 37, 100)
    finally:
        kernels.set_isa(kernels.cpu_isa())


def test_the_avx2_variant_runs_avx2_kernels_at_most(variant):
    """FASTNN_ISA=v3 stands for an AVX2 machine: on a wider CPU its sparse and dense-column kernels must not
    take their AVX-512 bodies (the run would then measure kernels an AVX2 machine does not have); the other
    variants dispatch at run time to the CPU's widest."""
    from test_sparse import _ISA_ORDER
    kernels = variant["_sparse_kernels"]
    cpu = _isa.cpu_level()
    widest = {"baseline": "scalar", "v3": "avx2", "v4": "avx512"}[cpu]
    assert kernels.cpu_isa() == (_ISA_ORDER[min(_ISA_ORDER.index(widest), 1)] if kernels.__name__.endswith("_v3")
                                 else widest)


def test_a_forced_variant_that_cannot_load_is_an_error_not_a_fallback(tmp_path):
    """FASTNN_ISA names a variant; when it cannot be imported, asking for a network says so (the 'auto'
    backend does not quietly take numba instead)."""
    import subprocess
    import sys
    script = tmp_path / "blocked.py"
    script.write_text(
        "import sys, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name == 'fastnn._mlp':\n"
        "            raise ImportError('blocked by the test')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import fastnn\n"
        "try:\n"
        "    print('backend', fastnn.TwoLayerNet(2, 2, 2).backend)\n"
        "except ImportError as exc:\n"
        "    print('ImportError', exc)\n")
    env = dict(os.environ, FASTNN_ISA="baseline")
    env.pop("FASTNN_REQUIRE_EXTENSION", None)
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert "ImportError" in out.stdout and "FASTNN_ISA" in out.stdout, out.stdout + out.stderr
    env.pop("FASTNN_ISA")  # unforced, the same missing module is the auto backend's fallback
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.startswith("backend "), out.stdout + out.stderr
