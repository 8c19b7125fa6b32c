#!/usr/bin/env bash
# Configures and builds uspdit with Ninja and ccache.
#   scripts/build.sh            -> build/        (Release, warnings as errors)
#   BUILD_TYPE=asan scripts/build.sh -> build-asan/  (ASan + UBSan, for the tests)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
kind=${BUILD_TYPE:-release}
case "$kind" in
  release) dir="$root/build"; extra=(-DCMAKE_BUILD_TYPE=Release) ;;
  asan)    dir="$root/build-asan"; extra=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DUSPDIT_SANITIZE=ON) ;;
  *) echo "BUILD_TYPE must be release or asan" >&2; exit 2 ;;
esac
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$root" -B "$dir" -G Ninja "${extra[@]}" "${launcher[@]}" ${USPDIT_CMAKE_ARGS:-} >/dev/null
cmake --build "$dir" -j "${JOBS:-$(nproc)}"
