#!/usr/bin/env bash
# CI: the compiled kernels once with bounds checks on, over the backend tests, the guards and the fuzz suite.
# Cython: FASTNN_DEBUG_BUILD=1 (boundscheck, wraparound, initializedcheck; an out-of-bounds memoryview access
# raises IndexError, or reaches sys.unraisablehook inside a nogil helper: -W error turns that into a failure,
# and the fuzz children exit on it). Numba: NUMBA_BOUNDSCHECK=1, with a cache of its own (never reuse the
# unchecked machine code cached by the ordinary run). Runs in the current venv; builds in a temporary copy.
set -euo pipefail
echo "== kernels with bounds checks (FASTNN_DEBUG_BUILD=1, NUMBA_BOUNDSCHECK=1): backends, guards, fuzz"
cd "$(dirname "$0")/.."
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir "$TMP/src"
cp -r fastnn src_cython tests setup.py pyproject.toml MANIFEST.in README.md "$TMP/src/"
rm -f "$TMP"/src/fastnn/*.so
rm -rf "$TMP"/src/fastnn/__pycache__ "$TMP"/src/fastnn/*/__pycache__
cd "$TMP/src"
# the build requirements (pip installed fastnn with build isolation, so they are not in this venv)
pip install -q "setuptools>=64" wheel "Cython>=3.0.8" "scipy>=1.11"
FASTNN_DEBUG_BUILD=1 python setup.py -q build_ext --inplace > "$TMP/build.log" 2>&1 || { cat "$TMP/build.log"; exit 1; }
# the debug build has the baseline variant only (setup.py): not the x86-64-v3/v4 ones .ci/run requires
export FASTNN_REQUIRE_VARIANTS=0
export PYTHONPATH="$TMP/src" NUMBA_BOUNDSCHECK=1 NUMBA_CACHE_DIR="$TMP/numba-cache" FASTNN_FUZZ_EXAMPLES=10
python -c "import fastnn, fastnn._mlp as m; assert fastnn.__file__.startswith('$TMP'), fastnn.__file__; assert m.DEBUG_BUILD, 'expected a bounds-checked build'; print('bounds-checked build:', fastnn.__file__)"
pytest -q -p no:cacheprovider -W error::pytest.PytestUnraisableExceptionWarning \
    tests/test_backends.py tests/test_first_layer.py tests/test_dense_columns.py tests/test_fuzz_api.py tests/test_guards.py \
    -k "not estimator and not sweep and (not test_guards or perm or read_only or finite)"
