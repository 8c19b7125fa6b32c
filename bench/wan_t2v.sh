#!/usr/bin/env bash
# Reproduces bench/wan_t2v.md: per-stage times and per-stage peak memory of `uspdit generate`
# (Wan 2.1 text-to-video) on the CPU, from the benchmark JSON it writes (--bench_output).
#   1. the tiny fixture pipeline (tests/data/wan_t2v/original): 1 rank; 2 ranks Ulysses 2;
#      2 ranks CFG-parallel
#   2. a 1.3B-shaped pipeline with random weights (umt5-xxl encoder bf16, 30-layer DiT, Wan 2.1
#      VAE), written once by tools/make_random_wan_checkpoint.py --pipeline into $BIG_DIR
#      (default /tmp/wan13b_pipeline, ~17 GB): 1 rank × 2 threads and 2 ranks × 1 thread
#      (Ulysses 2), BIG_SIZE (default 320*320), BIG_FRAMES (17), BIG_STEPS (2), bf16.
# env: SKIP_BUILD=1, SKIP_BIG=1, USPDIT_BIN, PYTHON (.venv-tools/bin/python)
source "$(dirname "$0")/common.sh"  # root, build, $tmp
cp "${USPDIT_BIN:-$root/build/uspdit}" "$tmp/uspdit"
py=${PYTHON:-$root/.venv-tools/bin/python}
mpi=(mpirun --oversubscribe --bind-to none --mca mpi_yield_when_idle 1)
echo "uspdit git $(git -C "$root" describe --always --dirty), $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"

run() {  # label, ranks, threads, args...
  local label=$1 np=$2 threads=$3; shift 3
  echo "=== $label: $np rank(s) × $threads thread(s) (load $(cut -d' ' -f1 /proc/loadavg))"
  "${mpi[@]}" -np "$np" -x OMP_NUM_THREADS="$threads" "$tmp/uspdit" generate --no-progress --threads "$threads" \
    --bench_output "$tmp/results/$label" --save_file "$tmp/$label.mp4" "$@" 2>&1 | grep -v "^\[uspdit info" || true
  ls "$tmp/results/$label"/*.json >/dev/null
}

tiny=(--ckpt_dir "$root/tests/data/wan_t2v/original" --prompt "A cat walks on the grass, realistic style."
      --size 64*48 --frame_num 9 --sample_steps 4 --base_seed 42 --dtype fp32 --text-dtype fp32 --warmup_steps 1 --n_repeats 3)
run tiny-1rank 1 1 "${tiny[@]}"
run tiny-ulysses2 2 1 "${tiny[@]}" --ulysses_degree 2
run tiny-cfg2 2 1 "${tiny[@]}" --use_cfg_parallel

if [ "${SKIP_BIG:-0}" != 1 ]; then
  big=${BIG_DIR:-/tmp/wan13b_pipeline}
  [ -f "$big/models_t5_umt5-xxl-enc-bf16.pth" ] ||
    "$py" "$root/tools/make_random_wan_checkpoint.py" --size 1.3b --out "$big" --pipeline
  args=(--ckpt_dir "$big" --prompt "A cat walks on the grass, realistic style." --size "${BIG_SIZE:-320*320}"
        --frame_num "${BIG_FRAMES:-17}" --sample_steps "${BIG_STEPS:-2}" --base_seed 42 --dtype bf16 --text-dtype bf16)
  run 1.3b-1rank 1 2 "${args[@]}"
  run 1.3b-ulysses2 2 1 "${args[@]}" --ulysses_degree 2
fi

# ---- tables (from the JSON reports) ----
python3 - "$tmp/results" <<'PY'
import json, pathlib, sys
root = pathlib.Path(sys.argv[1])
for run in sorted(p for p in root.iterdir() if p.is_dir()):
    doc = json.loads(next(run.glob("*.json")).read_text())
    c = doc["config"]
    print(f"\n{run.name}: {c['mesh']}, {int(c['width'])}x{int(c['height'])}, {int(c['num_frames'])} frames, "
          f"{int(c['num_inference_steps'])} steps, {c['dtype']}, {int(c['threads_per_rank'])} thread(s)/rank; "
          f"median step {doc['summary']['step_seconds_median']:.3f} s\n")
    print("| stage | run | " + " | ".join(f"rank {r['rank']} s" for r in doc["ranks"]) + " | " +
          " | ".join(f"rank {r['rank']} peak GiB" for r in doc["ranks"]) + " | bytes sent (max rank) |")
    print("|---" * (3 + 2 * len(doc["ranks"])) + "|")
    stages = doc["ranks"][0]["stages"]
    for i, s in enumerate(stages):
        per = [r["stages"][i] for r in doc["ranks"]]
        print(f"| {s['name']} | {s['repeat'] + 1} | " + " | ".join(f"{p['seconds']:.3f}" for p in per) + " | " +
              " | ".join(f"{p['peak_rss_bytes'] / 2**30:.2f}" for p in per) + f" | {max(p['bytes_sent'] for p in per)} |")
PY
