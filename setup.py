"""Build fastnn's compiled extension from src_cython/ (Cython + BLAS from SciPy, OpenMP if available)."""
import os
import shutil
import subprocess
import sysconfig
import tempfile
import warnings

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

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


def openmp_flags():
    """-fopenmp when the C compiler builds and links an OpenMP program, else [] with a warning."""
    if os.environ.get("FASTNN_NO_OPENMP", "") in ("1", "true", "yes"):
        warnings.warn("fastnn: FASTNN_NO_OPENMP is set; building without OpenMP (kernels run serially)")
        return []
    if not _compiles(["-fopenmp"], "#include <omp.h>\nint main(void){return omp_get_max_threads() > 0 ? 0 : 1;}\n"):
        warnings.warn("fastnn: the C compiler does not support OpenMP; building without it "
                      "(the compiled kernels will run on one thread)")
        return []
    return ["-fopenmp"]


def arch_flags():
    """-march=native for the elementwise loops (AVX2/AVX-512 where the CPU has them), unless a portable
    build is asked for (FASTNN_PORTABLE_BUILD=1, e.g. for wheels that run on other machines)."""
    if os.environ.get("FASTNN_PORTABLE_BUILD", "") in ("1", "true", "yes"):
        return []
    return ["-march=native"] if _compiles(["-march=native"]) else []


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
    for name in ("_twolayer", "_mlp")
]

setup(
    ext_modules=cythonize(
        extensions,
        include_path=[SRC],
        compiler_directives={"language_level": "3", "boundscheck": debug, "wraparound": debug,
                             "initializedcheck": debug},
        build_dir=os.path.join("build", "cython-debug" if debug else "cython"),  # the C differs: never reuse it
    ),
)
