#!/usr/bin/env bash
# Sets up (scripts/setup.sh), builds, and runs the whole test suite through CTest: unit tests,
# the multi-rank tests under mpirun on 1..8 ranks, and the same again in the ASan/UBSan build
# (skip that with USPDIT_SKIP_ASAN=1 for a quicker local run). The GPU variant is compiled and
# linked too (USPDIT_SKIP_CUDA=1 skips it); without a GPU that is all it can do.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
# Ranks waiting in MPI give their core up (the tests oversubscribe 2 cores); see README, Launching.
export OMPI_MCA_mpi_yield_when_idle=1
# The torchrun launch tests run the pip wheel's torchrun (scripts/setup.sh installs what it needs).
export USPDIT_SETUP_TORCHRUN=1

"$root/scripts/build.sh"
if [ "${USPDIT_SKIP_CUDA:-0}" != 1 ]; then
  # Right after build/, ccache serves every translation unit without GPU code (same flags), so
  # this costs the GPU files and the links. Where the NVIDIA wheels are absent (CI) the link is a
  # check only and gpu_unit is not registered; on a GPU machine it runs.
  start=$SECONDS
  BUILD_TYPE=cuda "$root/scripts/build.sh"
  echo "[test] GPU variant built in $((SECONDS - start)) s"
  (cd "$root/build-cuda" && ctest -R '^gpu_unit$' --output-on-failure --timeout 900)
fi
(cd "$root/build" && ctest --output-on-failure --timeout 900)
# Every libFuzzer target (fuzz/: the file parsers, the tokenizers, the flag parser) a few seconds
# on its seed corpus, with ASan + UBSan; the long runs are in bench/fuzz.md.
start=$SECONDS
"$root/scripts/fuzz.sh" --smoke
echo "[test] fuzz build + smoke in $((SECONDS - start)) s"
# The prepared GPU check, dry-run on the CPU with build/ (about a minute on 2 cores), so that the
# script a lent GPU machine runs (bench/gpu.md) is exercised on every run.
"$root/scripts/gpu_check.sh" --cpu --out "$root/out/gpu_check_cpu"

if [ "${USPDIT_SKIP_ASAN:-0}" != 1 ]; then
  BUILD_TYPE=asan "$root/scripts/build.sh"
  # libtorch and Open MPI are not built with ASan: their allocations at exit are not ours to
  # report, so leak detection is off; every other ASan/UBSan check is fatal.
  export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  (cd "$root/build-asan" && ctest --output-on-failure --timeout 900)
fi
echo "[test] all tests passed"
