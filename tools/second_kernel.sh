#!/usr/bin/env bash
# The second floating-point path of `make test`: the unit and property tests and every chapter
# again, under another OpenBLAS kernel (OPENBLAS_CORETYPE, default Prescott: it runs on every
# x86-64 CPU and takes a different code path for the matrix products and reductions than the
# kernel OpenBLAS picks for a recent CPU). Each test file runs in a pytest process of its own, so
# this pass also proves that every file passes alone (imports what it uses, needs no state left
# by another file). Every failure is listed at the end; the exit status is 1 if any.
#
#   tools/second_kernel.sh [PYTHON]        e.g. tools/second_kernel.sh .venv/bin/python
#   OPENBLAS_CORETYPE=Sandybridge tools/second_kernel.sh .venv/bin/python
set -uo pipefail
cd "$(dirname "$0")/.."
python=${1:-.venv/bin/python}
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Prescott}
corename='import numpy, threadpoolctl; print(threadpoolctl.threadpool_info()[0].get("architecture", "?"))'
native=$(env -u OPENBLAS_CORETYPE "$python" -c "$corename" 2>/dev/null || echo '?')
kernel=$("$python" -c "$corename" 2>/dev/null || echo '?')
echo "second floating-point path: OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE (OpenBLAS core '$kernel'; native core '$native')"
if [ "$kernel" = "$native" ]; then
  echo "warning: OpenBLAS runs the native core '$native' under OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE; this pass repeats the first on this machine (set SECOND_KERNEL to another core)" >&2
fi
failed=()
for file in tests/test_*.py; do
  "$python" -m pytest "$file" -q -p no:cacheprovider || failed+=("$file")
done
"$python" -m pytest book --nbval-lax --nbval-current-env -q -p no:cacheprovider || failed+=("book (nbval)")
if [ ${#failed[@]} -gt 0 ]; then
  printf 'failed under OPENBLAS_CORETYPE=%s:\n' "$OPENBLAS_CORETYPE" >&2
  printf '  %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "every test file (each alone) and every chapter passed under OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE"
