"""Build fastnn's compiled extension from src_cython/ (Cython + BLAS from SciPy, OpenMP if available)."""
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import warnings

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

SRC = os.path.join("src_cython")


def _compiles(flags, source="int main(void){return 0;}\n"):
    """Whether the C compiler builds and links source with these flags."""
    cc = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()
    tmp = tempfile.mkdtemp()
    try:
        src = os.path.join(tmp, "t.c")
        with open(src, "w") as f:
            f.write(source)
        return subprocess.run(cc + flags + [src, "-o", os.path.join(tmp, "t")], capture_output=True).returncode == 0
    except OSError:
        return False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def no_openmp():
    if os.environ.get("FASTNN_NO_OPENMP", "") in ("1", "true", "yes"):
        warnings.warn("fastnn: FASTNN_NO_OPENMP is set; building without OpenMP (kernels run serially)")
        return True
    return False


def openmp_flags():
    """-fopenmp when the C compiler builds and links an OpenMP program, else [] with a warning -- or an
    error when FASTNN_REQUIRE_OPENMP=1 (CI: a build that silently lost OpenMP must fail). FASTNN_NO_OPENMP=1
    (a serial build asked for) takes precedence over the requirement.

    macOS: Apple's clang has no -fopenmp, so wheels for macOS are built without OpenMP (the compiled
    kernels run on one thread there; the numba backend still runs in parallel)."""
    if sys.platform == "win32" or no_openmp():  # MSVC: see msvc_flags
        return []
    if not _compiles(["-fopenmp"], "#include <omp.h>\nint main(void){return omp_get_max_threads() > 0 ? 0 : 1;}\n"):
        if os.environ.get("FASTNN_REQUIRE_OPENMP", "") in ("1", "true", "yes"):
            raise SystemExit("fastnn: FASTNN_REQUIRE_OPENMP=1 but the C compiler does not build an OpenMP program "
                             "with -fopenmp (install the compiler's OpenMP runtime, e.g. libgomp or libomp)")
        warnings.warn("fastnn: the C compiler does not support OpenMP; building without it "
                      "(the compiled kernels will run on one thread)")
        return []
    return ["-fopenmp"]


#: Instruction-set variants of every extension: (module suffix, compiler flags). The baseline keeps the
#: plain module name (fastnn._mlp) and is built everywhere; fastnn/_isa.py imports the best variant the CPU runs.
ISA_VARIANTS = (("", []), ("_v3", ["-march=x86-64-v3"]), ("_v4", ["-march=x86-64-v4"]))
#: The Cython extensions, each built from src_cython/<name>.pyx.
EXTENSION_NAMES = ("_mlp", "_sparse_kernels")


def _targets_x86_64():
    """Whether the build targets x86-64 only (no -march flag is safe in a cross or universal2 build)."""
    platform_tag = sysconfig.get_platform()
    archflags = os.environ.get("ARCHFLAGS", "")  # macOS: set by cibuildwheel for arm64/universal2
    return platform_tag.endswith(("x86_64", "amd64")) and "arm64" not in archflags


def arch_flags():
    """Extra flags of the baseline: none. The build is portable (x86-64 baseline plus the x86-64-v3/v4
    variants from isa_variants, chosen at import time), never -march=native; FASTNN_PORTABLE_BUILD is
    therefore no longer needed and is ignored."""
    return []


def isa_variants():
    """[(suffix, flags)] to build: the baseline, plus x86-64-v3 (AVX2+FMA) and x86-64-v4 (AVX-512) when the
    target is x86-64 with GCC/Clang and the compiler accepts the flag. The debug build (FASTNN_DEBUG_BUILD=1)
    and MSVC build the baseline only."""
    if sys.platform == "win32" or debug_build() or not _targets_x86_64():
        return [ISA_VARIANTS[0]]
    return [ISA_VARIANTS[0]] + [(suffix, flags) for suffix, flags in ISA_VARIANTS[1:] if _compiles(flags)]


def msvc_flags():
    """(compile, link) flags for MSVC: /O2 (its -O3), /openmp (OpenMP 2.0: enough for Cython's prange over
    a signed Py_ssize_t), no -march (MSVC's baseline is SSE2; /arch:AVX2 would exclude older CPUs)."""
    return ["/O2"] + ([] if no_openmp() else ["/openmp"]), []


def build_jobs():
    """Parallel jobs for compiling (and, on Linux, cythonizing) the variants: $FASTNN_BUILD_JOBS, else the
    cores available (the variants multiply the work; build_ext -j N still wins)."""
    value = os.environ.get("FASTNN_BUILD_JOBS", "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise SystemExit(f"fastnn: FASTNN_BUILD_JOBS must be a positive integer, got {value!r}")
        return int(value)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class BuildExt(build_ext):
    """GCC/Clang flags are set on the extensions below; MSVC gets its own (it rejects -O3, -march, -fopenmp).
    The extensions compile in parallel unless -j was given."""

    def finalize_options(self):
        super().finalize_options()
        if not self.parallel:
            self.parallel = build_jobs()

    def build_extensions(self):
        if self.compiler.compiler_type == "msvc":
            compile_args, link_args = msvc_flags()
            for ext in self.extensions:
                ext.extra_compile_args, ext.extra_link_args = compile_args, link_args
        super().build_extensions()

    def run(self):
        super().run()
        if self.inplace:  # setuptools clears inplace during build_extensions, so this check sits here
            remove_stale_variants(os.path.dirname(os.path.abspath(__file__)), {ext.name for ext in self.extensions})


def remove_stale_variants(root, built):
    """Delete in-place variant modules this build did not make (e.g. v4 left over from an optimised build
    under a debug one): the loader would otherwise prefer the stale, unchecked variant."""
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    for name in EXTENSION_NAMES:
        for variant, _ in ISA_VARIANTS[1:]:
            path = os.path.join(root, "fastnn", f"{name}{variant}{suffix}")
            if f"fastnn.{name}{variant}" not in built and os.path.exists(path):
                print(f"removing {path}: not part of this build")
                os.remove(path)


def debug_build():
    """FASTNN_DEBUG_BUILD=1: bounds-checked kernels (Cython boundscheck, wraparound, initializedcheck), for CI."""
    return os.environ.get("FASTNN_DEBUG_BUILD", "") in ("1", "true", "yes")


def variant_source(name, suffix, build_dir):
    """The .pyx of fastnn.<name><suffix>: the source itself for the baseline, else a copy named after the
    variant in build_dir (Cython names the module's init function after the file, so each variant needs its
    own file; the copy is rewritten only when the source changed, so cythonize's change check still works)."""
    source = os.path.join(SRC, f"{name}.pyx")
    if not suffix:
        return source
    os.makedirs(build_dir, exist_ok=True)
    copy = os.path.join(build_dir, f"{name}{suffix}.pyx")
    with open(source, "rb") as f:
        text = f.read()
    if not os.path.exists(copy) or open(copy, "rb").read() != text:
        with open(copy, "wb") as f:
            f.write(text)
    return copy


omp = openmp_flags()
arch = arch_flags()
debug = debug_build()
CYTHON_BUILD_DIR = os.path.join("build", "cython-debug" if debug else "cython")  # the C differs: never reuse it
extensions = [
    Extension(
        f"fastnn.{name}{suffix}",
        [variant_source(name, suffix, os.path.join(CYTHON_BUILD_DIR, "variants"))],
        include_dirs=[np.get_include(), SRC],
        # debug: quicker to build, with debug info; else -g0: the variants would triple the wheel's size
        extra_compile_args=(["-O1"] if debug else ["-O3", "-g0"]) + ["-fno-math-errno", "-fno-trapping-math"] + arch + isa + omp,
        extra_link_args=omp,
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")] + ([("FASTNN_DEBUG_BUILD", "1")] if debug else []),
    )
    for suffix, isa in isa_variants()
    for name in EXTENSION_NAMES
]

if __name__ == "__main__":  # setuptools' build backend runs this file as __main__; tests import the flags
    setup(
        ext_modules=cythonize(
            extensions,
            include_path=[SRC],
            compiler_directives={"language_level": "3", "boundscheck": debug, "wraparound": debug,
                                 "initializedcheck": debug},
            build_dir=CYTHON_BUILD_DIR,
            nthreads=build_jobs() if sys.platform == "linux" else 0,  # multiprocessing's fork: Linux only
        ),
        cmdclass={"build_ext": BuildExt},
    )
