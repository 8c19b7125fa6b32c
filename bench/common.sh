# Sourced by the bench/*.sh scripts that build and run the binary: strict mode, the repository
# root ($root), Open MPI allowed as root, the build (skipped with SKIP_BUILD=1) and a temporary
# directory ($tmp) removed on exit.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
[ "${SKIP_BUILD:-0}" = 1 ] || "$root/scripts/build.sh" >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
