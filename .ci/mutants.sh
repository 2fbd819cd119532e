#!/usr/bin/env bash
# Mutation check: every named counterfeit (numerical gradient -> backprop, h ignored, softmax over the batch,
# loss summed, a fused epoch skipping the bias update, an optimizer step of the wrong sign, the doctor's
# reference at the wrong precision or straddling kinks) must make a test of the default suite fail, and the
# same tests must pass on the unmutated code. See .ci/mutants.py.
set -euo pipefail
cd "$(dirname "$0")/.."
python .ci/mutants.py "$@"
