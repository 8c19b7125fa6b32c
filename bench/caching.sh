#!/usr/bin/env bash
# Reproduces bench/caching.md: DiT (denoising) time of `uspdit generate` without step caching and
# with each method at its default, on a real-width Wan 2.1 1.3B DiT with random weights and few
# layers (tools/make_random_wan_checkpoint.py --tiny-parts: the tiny fixture's text encoder and
# VAE, so the run is the DiT's), on the CPU, 50 steps, CFG, fp32; also the same at thresholds
# that make the random model skip. Each run's bench JSON gives the denoise time, the forwards
# reused and the block passes saved; the log line of each run shows its pattern.
# env: SKIP_BUILD=1, USPDIT_BIN, PYTHON (.venv-tools/bin/python), LAYERS (2), SIZE (128*128),
#      FRAMES (9), STEPS (50), RANKS (1), THREADS (2)
source "$(dirname "$0")/common.sh"  # root, build, $tmp
py=${PYTHON:-$root/.venv-tools/bin/python}
bin=${USPDIT_BIN:-$root/build/uspdit}
"$py" "$root/tools/make_random_wan_checkpoint.py" --size 1.3b --layers "${LAYERS:-2}" --tiny-parts --out "$tmp/dit" >/dev/null
echo "uspdit git $(git -C "$root" describe --always --dirty), $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
echo "Wan 1.3B-shaped DiT, ${LAYERS:-2} layers, random weights; ${SIZE:-128*128}, ${FRAMES:-9} frames, ${STEPS:-50} steps, CFG 5, fp32"
printf "%-34s %9s %9s %15s %15s %10s\n" method denoise_s speedup forwards_reused passes_saved residual_MiB
base=""
run() {  # label, extra args...
  local label=$1; shift
  mpirun --oversubscribe --bind-to none -np "${RANKS:-1}" -x OMP_NUM_THREADS="${THREADS:-2}" "$bin" generate \
    --no-progress --threads "${THREADS:-2}" --ckpt_dir "$tmp/dit" --task t2v-1.3B --size "${SIZE:-128*128}" \
    --frame_num "${FRAMES:-9}" --sample_steps "${STEPS:-50}" --dtype fp32 --prompt "A cat walks on the grass." \
    --base_seed 42 --bench_output "$tmp/results/$label" --save_file "$tmp/$label.mp4" "$@" >"$tmp/$label.log" 2>&1
  "$py" - "$tmp/results/$label" "$label" "$base" <<'PY'
import glob, json, sys
d = json.load(open(glob.glob(sys.argv[1] + "/*.json")[0]))
t = [s["seconds"] for s in d["ranks"][0]["stages"] if s["name"] == "denoise"][0]
c = d["cache"]
base = float(sys.argv[3]) if sys.argv[3] else t
reused = f'{c["forwards_reused"]}/{c["forwards"]}' if c["method"] != "none" else "-"
saved = f'{c["block_passes_saved"]}/{c["block_passes"]}' if c["method"] != "none" else "-"
mib = f'{c["residual_bytes_rank0"] / 2**20:.1f}' if c["method"] != "none" else "-"
print(f"{sys.argv[2]:<34} {t:9.2f} {base / t:8.2f}x {reused:>15} {saved:>15} {mib:>10}")
PY
  grep -o "cache [a-z]*: cond.*" "$tmp/$label.log" | sed 's/^/    /' || true
}
run none
base=$("$py" -c "import glob,json;d=json.load(open(glob.glob('$tmp/results/none/*.json')[0]));print([s['seconds'] for s in d['ranks'][0]['stages'] if s['name']=='denoise'][0])")
run teacache-default --cache teacache
run teacache-ret-default --cache teacache --use_ret_steps
run magcache-default --cache magcache
run fbcache-default --cache fbcache
run "teacache-thresh-${TEA:-400}" --cache teacache --cache-threshold "${TEA:-400}"
run "fbcache-thresh-${FBC:-0.3}" --cache fbcache --cache-threshold "${FBC:-0.3}"
