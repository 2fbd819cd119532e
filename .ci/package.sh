#!/usr/bin/env bash
# CI, packaging: the sdist alone builds and passes the tests on the oldest NumPy declared; twine accepts
# the sdist and the wheel; the cibuildwheel configuration parses. The extension is compiled once here
# (the wheel is built from the sdist, then installed); Debian's dataset-fashion-mnist is installed when
# apt is there, so the real Fashion-MNIST tests run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
DIST="$WORK/dist"
OLDEST_NUMPY="1.26.*"   # pyproject.toml: numpy>=1.26,<3

echo "== Debian's dataset-fashion-mnist (for the real Fashion-MNIST tests)"
if [ -d /usr/share/datasets/fashion-mnist ]; then
    echo "already installed"
elif command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    { apt-get install -y -q dataset-fashion-mnist || { apt-get update -q && apt-get install -y -q dataset-fashion-mnist; }; } \
        >"$WORK/apt.log" 2>&1 && echo "installed" || echo "apt could not install it (see $WORK/apt.log): those tests skip"
else
    echo "no apt (or not root): the real Fashion-MNIST tests skip with the reason"
fi

echo "== tools: build, twine, cibuildwheel (at ${SECONDS} s)"
python3 -m venv "$WORK/tools"
"$WORK/tools/bin/pip" install -q build twine cibuildwheel

echo "== sdist (python -m build --sdist) (at ${SECONDS} s)"
"$WORK/tools/bin/python" -m build --sdist -o "$DIST" "$ROOT"
SDIST=$(ls "$DIST"/fastnn-*.tar.gz)

echo "== cibuildwheel configuration parses (at ${SECONDS} s)"
for platform in linux macos windows; do
    "$WORK/tools/bin/cibuildwheel" --print-build-identifiers --platform "$platform" "$ROOT" | tr '\n' ' '
    echo
done

echo "== a fresh venv on the oldest NumPy declared ($OLDEST_NUMPY): the wheel built from the sdist alone"
python3 -m venv "$WORK/venv"
# shellcheck disable=SC1091
source "$WORK/venv/bin/activate"
echo "numpy==$OLDEST_NUMPY" > "$WORK/constraints.txt"
pip install -q -c "$WORK/constraints.txt" "numpy==$OLDEST_NUMPY"
pip wheel -q --no-deps -w "$DIST" "$SDIST"          # build isolation: compiled against NumPy 2, as wheels are
"$WORK/tools/bin/twine" check --strict "$DIST"/*
pip install -q -c "$WORK/constraints.txt" "$(ls "$DIST"/fastnn-*.whl)[test]"
python -c "import numpy; assert numpy.__version__.startswith('1.26.'), numpy.__version__; print('numpy', numpy.__version__)"

echo "== the tests from the unpacked sdist, against the installed package (at ${SECONDS} s)"
tar -xzf "$SDIST" -C "$WORK"
SRC=$(ls -d "$WORK"/fastnn-*/)
rm -rf "$SRC/fastnn"   # only the installed package can be imported
cd "$SRC"
python -c "import fastnn, os; assert not fastnn.__file__.startswith('$SRC'), fastnn.__file__; print('testing', fastnn.__file__)"
FASTNN_REQUIRE_EXTENSION=1 pytest -q -p no:cacheprovider tests
echo "== packaging step done in $SECONDS s"
