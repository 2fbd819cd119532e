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


def arch_flags():
    """-march=native for the elementwise loops (AVX2/AVX-512 where the CPU has them), unless a portable
    build is asked for (FASTNN_PORTABLE_BUILD=1, e.g. for wheels that run on other machines)."""
    if os.environ.get("FASTNN_PORTABLE_BUILD", "") in ("1", "true", "yes") or sys.platform == "win32":
        return []
    return ["-march=native"] if _compiles(["-march=native"]) else []


def msvc_flags():
    """(compile, link) flags for MSVC: /O2 (its -O3), /openmp (OpenMP 2.0: enough for Cython's prange over
    a signed Py_ssize_t), no -march (MSVC's baseline is SSE2; /arch:AVX2 would exclude older CPUs)."""
    return ["/O2"] + ([] if no_openmp() else ["/openmp"]), []


class BuildExt(build_ext):
    """GCC/Clang flags are set on the extensions below; MSVC gets its own (it rejects -O3, -march, -fopenmp)."""

    def build_extensions(self):
        if self.compiler.compiler_type == "msvc":
            compile_args, link_args = msvc_flags()
            for ext in self.extensions:
                ext.extra_compile_args, ext.extra_link_args = compile_args, link_args
        super().build_extensions()


def debug_build():
    """FASTNN_DEBUG_BUILD=1: bounds-checked kernels (Cython boundscheck, wraparound, initializedcheck), for CI."""
    return os.environ.get("FASTNN_DEBUG_BUILD", "") in ("1", "true", "yes")


omp = openmp_flags()
arch = arch_flags()
debug = debug_build()
extensions = [
    Extension(
        f"fastnn.{name}",
        [os.path.join(SRC, f"{name}.pyx")],
        include_dirs=[np.get_include(), SRC],
        extra_compile_args=["-O1" if debug else "-O3", "-fno-math-errno"] + arch + omp,  # debug: quicker to build
        extra_link_args=omp,
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")] + ([("FASTNN_DEBUG_BUILD", "1")] if debug else []),
    )
    for name in ("_twolayer", "_mlp", "_sparse_kernels")
]

if __name__ == "__main__":  # setuptools' build backend runs this file as __main__; tests import the flags
    setup(
        ext_modules=cythonize(
            extensions,
            include_path=[SRC],
            compiler_directives={"language_level": "3", "boundscheck": debug, "wraparound": debug,
                                 "initializedcheck": debug},
            build_dir=os.path.join("build", "cython-debug" if debug else "cython"),  # the C differs: never reuse it
        ),
        cmdclass={"build_ext": BuildExt},
    )
