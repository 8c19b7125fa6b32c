#!/usr/bin/env bash
# The main job: sets up and builds uspdit, then generates a video with the whole Wan 2.1
# text-to-video pipeline (umt5 text encoder, DiT with Ulysses 2 across 2 ranks, UniPC, Wan-VAE
# decoded in parallel, H.264 mp4) from the tiny fixture checkpoint in tests/data/wan_t2v.
# Its weights are random, so the video is coloured noise: this shows the pipeline runs end to
# end on 2 ranks, not what the real model draws. Real weights: README.md, "Generate a video".
#   output: out/tiny_t2v.mp4 and a benchmark report in out/results/
#   extra arguments are passed to `uspdit generate` (e.g. --sample_steps 10)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
"$root/scripts/build.sh" >/dev/null
mkdir -p "$root/out"
# yield_when_idle: a rank waiting in MPI gives its core up instead of busy-polling it.
mpirun --oversubscribe --bind-to none --mca mpi_yield_when_idle 1 -np 2 -x OMP_NUM_THREADS=1 "$root/build/uspdit" generate \
  --ckpt_dir "$root/tests/data/wan_t2v/original" \
  --prompt "A cat walks on the grass, realistic style." \
  --size 64*48 --frame_num 9 --sample_steps 4 --base_seed 42 --ulysses_degree 2 --dtype fp32 \
  --save_file "$root/out/tiny_t2v.mp4" --bench_output "$root/out/results" "$@"
echo "[run] wrote $root/out/tiny_t2v.mp4 — random-weight fixture model, so the frames are coloured noise by design"
