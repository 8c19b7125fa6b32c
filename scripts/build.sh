#!/usr/bin/env bash
# Configures and builds uspdit with Ninja and ccache.
#   scripts/build.sh                 -> build/       (Release, warnings as errors)
#   BUILD_TYPE=asan scripts/build.sh -> build-asan/  (ASan + UBSan, for the tests)
#   BUILD_TYPE=cuda scripts/build.sh -> build-cuda/  (Release GPU variant: -DUSPDIT_TORCH_CUDA=ON;
#       a link check only where the NVIDIA wheels are absent, see cmake/TorchCuda.cmake). Builds
#       the uspdit binary and the GPU tests; TARGETS=all (or any target list) overrides.
# USPDIT_TORCH_DIR=<torch package dir> builds against that torch instead of the project's .venv
# (setup.sh then installs no torch). A GPU variant without .venv takes python3's torch, as on a
# GPU machine with a preinstalled CUDA torch and no network.
# USPDIT_CMAKE_ARGS: extra CMake arguments; USPDIT_SKIP_APT=1: setup.sh installs nothing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
kind=${BUILD_TYPE:-release}
targets=${TARGETS:-all}
case "$kind" in
  release) dir="$root/build"; extra=(-DCMAKE_BUILD_TYPE=Release) ;;
  asan)    dir="$root/build-asan"; extra=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DUSPDIT_SANITIZE=ON) ;;
  # Release like build/: every translation unit without GPU code compiles with build/'s flags,
  # so after a normal build ccache serves all but the GPU ones.
  cuda)    dir="$root/build-cuda"; extra=(-DCMAKE_BUILD_TYPE=Release -DUSPDIT_TORCH_CUDA=ON)
           targets=${TARGETS:-uspdit uspdit_gpu_tests} ;;
  *) echo "BUILD_TYPE must be release, asan or cuda" >&2; exit 2 ;;
esac
if [ -z "${USPDIT_TORCH_DIR:-}" ] && [ "$kind" = cuda ] && [ ! -e "$root/.venv/bin/python" ]; then
  USPDIT_TORCH_DIR=$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))' 2>/dev/null || true)
fi
if [ -n "${USPDIT_TORCH_DIR:-}" ]; then
  echo "[build] libtorch from $USPDIT_TORCH_DIR"
  USPDIT_SKIP_TORCH=1 "$root/scripts/setup.sh"
  extra+=(-DUSPDIT_TORCH_DIR="$USPDIT_TORCH_DIR")
else
  "$root/scripts/setup.sh"
fi
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# Ninja where it exists (setup.sh installs it); a machine that cannot install it uses Makefiles.
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
# shellcheck disable=SC2086  # USPDIT_CMAKE_ARGS is a list of arguments
cmake -S "$root" -B "$dir" "${generator[@]}" "${extra[@]}" "${launcher[@]}" ${USPDIT_CMAKE_ARGS:-} >/dev/null
# shellcheck disable=SC2086  # targets is a list
cmake --build "$dir" -j "${JOBS:-$(nproc)}" --target $targets
