#!/usr/bin/env bash
# The main job: sets up and builds uspdit, then draws a prompt with the project's demo model
# (models/demo-shapes-t2v: Wan 2.1's architecture at tiny widths, trained by tools/train_demo.py)
# through the whole text-to-video pipeline — umt5 text encoder, DiT sequence-parallel over 2 ranks
# (Ulysses 2), UniPC with classifier-free guidance, Wan-VAE decoded in parallel, H.264 mp4 — in a
# few seconds on a CPU. The model folder's generate_defaults.json gives size, frames, steps,
# guidance and shift, so only the prompt and the seed are named here.
#   output: out/demo.mp4, the strip of every 4th frame out/demo_strip.png (the picture in the
#   README, the same bytes on this kind of machine), a benchmark report in out/results/
#   USPDIT_PROMPT / USPDIT_SEED change what is drawn; extra arguments go to `uspdit generate`
#   USPDIT_NO_BUILD=1: use the binary as it is (the test that checks the README's strip);
#   USPDIT_BIN=PATH: that binary instead of build/uspdit
#   USPDIT_OUT=DIR: write there instead of out/
#   USPDIT_UPDATE_README=1: copy the strip to docs/demo_strip.png (the README's picture) and record
#   the CPU it was made on in docs/demo_strip.txt (tests/unit/test_demo_model.cpp checks both)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${USPDIT_OUT:-$root/out}
prompt=${USPDIT_PROMPT:-a red circle moving right}
seed=${USPDIT_SEED:-42}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
[ "${USPDIT_NO_BUILD:-0}" = 1 ] || "$root/scripts/build.sh" >/dev/null
mkdir -p "$out"
# yield_when_idle: a rank waiting in MPI gives its core up instead of busy-polling it.
mpirun --oversubscribe --bind-to none --mca mpi_yield_when_idle 1 -np 2 -x OMP_NUM_THREADS=1 "${USPDIT_BIN:-$root/build/uspdit}" generate \
  --ckpt_dir "$root/models/demo-shapes-t2v" --prompt "$prompt" --base_seed "$seed" --ulysses_degree 2 \
  --save_file "$out/demo.mp4" --save_strip "$out/demo_strip.png" --bench_output "$out/results" "$@"
echo "[run] wrote $out/demo.mp4 and $out/demo_strip.png: \"$prompt\" (seed $seed)"
if [ "${USPDIT_UPDATE_README:-0}" = 1 ]; then
  cp "$out/demo_strip.png" "$root/docs/demo_strip.png"
  {
    echo "docs/demo_strip.png: frames 0, 4, 8, 12, 16 of \"$prompt\" (seed $seed), made by scripts/run.sh"
    echo "regenerate: USPDIT_UPDATE_README=1 scripts/run.sh"
    # The model name and the vector units libtorch's kernels choose between: the test demands the
    # same bytes only where both match.
    isa=""
    for f in avx2 avx512f avx512_bf16 amx_tile; do grep -qw "$f" /proc/cpuinfo && isa="$isa $f"; done
    echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1);$isa"
  } >"$root/docs/demo_strip.txt"
  echo "[run] updated docs/demo_strip.png and docs/demo_strip.txt"
fi
