#!/usr/bin/env bash
# The main job (until the video pipeline exists): sets up and builds uspdit, then runs USP
# attention (Ulysses 2 × Ring 2) on 4 CPU ranks with joint, partly padded text tokens and a
# sequence length that does not divide 4, verifies it against single-rank attention and prints
# its timings and the bytes each rank sent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
"$root/scripts/build.sh" >/dev/null
mpirun --oversubscribe --bind-to none -np 4 "$root/build/uspdit" bench-attn \
  --ulysses-degree 2 --ring-degree 2 --seq-len 4099 --heads 24 --head-dim 64 \
  --text-len 77 --text-padding 20 --joint-strategy auto --threads 1 --iters 3 --verify "$@"
