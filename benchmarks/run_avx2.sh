#!/usr/bin/env bash
# The benchmarks as an AVX2-only CPU would run them, on whatever x86-64 CPU this is (issue 17: figures must
# hold on AVX2 machines too, e.g. an AMD EPYC without AVX-512):
#   fastnn's compiled extensions: the x86-64-v3 variant (FASTNN_ISA=v3: AVX2 + FMA);
#   OpenBLAS (NumPy's, SciPy's and so the peers'): the Haswell kernels (AVX2), via OPENBLAS_CORETYPE;
#   MKL (PyTorch's BLAS on x86-64): AVX2 code paths (MKL_ENABLE_INSTRUCTIONS=AVX2);
#   numba: code generated for a Haswell (NUMBA_CPU_NAME=haswell), with a cache of its own.
# The run's JSON records all of these (machine_info.fastnn_isa, each timing's extra_info.isa).
#
# Usage: benchmarks/run_avx2.sh OUT.json [pytest arguments, default benchmarks/test_epoch.py]
# e.g.   benchmarks/run_avx2.sh results/avx2.json benchmarks/test_epoch.py benchmarks/test_multilayer.py
set -euo pipefail
if [ $# -lt 1 ] || [ "${1#-}" != "$1" ]; then
    echo "usage: $0 OUT.json [pytest arguments, default benchmarks/test_epoch.py]" >&2
    exit 2
fi
OUT=$(realpath -m "$1")
shift
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || set -- benchmarks/test_epoch.py
mkdir -p "$(dirname "$OUT")"
export FASTNN_ISA=v3
export FASTNN_BENCH_OPENBLAS_CORETYPE=Haswell OPENBLAS_CORETYPE=Haswell   # conftest.py keeps the first
export MKL_ENABLE_INSTRUCTIONS=AVX2
export NUMBA_CPU_NAME=haswell
export NUMBA_CACHE_DIR="${NUMBA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fastnn/numba-haswell}"
python -c "from fastnn import _isa; _isa.load_extension('_mlp'); print('fastnn variant:', _isa.describe())"
exec python -m pytest "$@" --benchmark-json="$OUT"
