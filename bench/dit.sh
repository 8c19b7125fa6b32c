#!/usr/bin/env bash
# One DiT forward step with random weights, uspdit (`uspdit bench dit`) against diffusers
# (`tools/bench_dit_diffusers.py`, same config and inputs) at 1 rank × 2 threads in fp32 and bf16,
# then uspdit alone at 1 rank × 1 thread and at 2 and 4 ranks × 1 thread (Ulysses 2, Ring 2,
# Ulysses 4, USP 2×2). Prints every run's output, then the tables (markdown).
# bench/wan_dit.sh and bench/hunyuan_dit.sh call this with their model's shape.
#
# Usage: MODEL=wan2.1-t2v-1.3b|hunyuanvideo bench/dit.sh   (builds first)
#   env: LAYERS HEIGHT WIDTH FRAMES TEXT_LEN ITERS WARMUP (shape, default 2 layers, 320×320,
#        17 frames -> 5×40×40 latent = 2000 tokens, text 512, 3 iters after 1 warmup),
#        SINGLE_LAYERS TEXT_PADDING (hunyuanvideo: single-stream blocks, masked text tokens),
#        DTYPES (default "fp32 bf16"), REPEATS (default 1: the whole matrix this many times,
#        interleaved; the tables give every value and use the fastest for ratios),
#        SKIP_BUILD=1, USPDIT_BIN, PYTHON (default .venv-tools/bin/python, see tools/README.md).
source "$(dirname "$0")/common.sh"  # root, build, $tmp
# Run a private copy: the shared build/ may be relinked by someone else while this runs.
cp "${USPDIT_BIN:-$root/build/uspdit}" "$tmp/uspdit"
bin=$tmp/uspdit
py=${PYTHON:-$root/.venv-tools/bin/python}
model=${MODEL:?set MODEL=wan2.1-t2v-1.3b or hunyuanvideo}
layers=${LAYERS:-2}
single_layers=${SINGLE_LAYERS:-0}
shape=(--model "$model" --layers "$layers" --height "${HEIGHT:-320}" --width "${WIDTH:-320}" --num-frames "${FRAMES:-17}"
       --text-len "${TEXT_LEN:-512}" --iters "${ITERS:-3}" --warmup "${WARMUP:-1}")
[ "$model" != hunyuanvideo ] || shape+=(--single-layers "$single_layers" --text-padding "${TEXT_PADDING:-0}")
dtypes=(${DTYPES:-fp32 bf16})
repeats=${REPEATS:-1}
mpi=(mpirun --oversubscribe --bind-to none --mca mpi_yield_when_idle 1)
cores=$(nproc)

declare -A ms bytes  # key "engine|dtype|config" -> space-separated values, one per repeat

record() {  # key, output of one run
  local key=$1 out=$2 t b
  t=$(sed -n 's/^step time: \([0-9.]*\) ms.*/\1/p' <<<"$out")
  [ -n "$t" ] || { echo "no step time in the output of $key" >&2; exit 1; }
  ms[$key]="${ms[$key]:-}${ms[$key]:+ }$t"
  b=$(sed -n 's/.*bytes sent per rank per step: \([0-9]*\).*/\1/p' <<<"$out")
  [ -z "$b" ] || bytes[$key]=$b
}

uspdit() {  # dtype, label, ranks, threads, degrees...
  local dtype=$1 label=$2 np=$3 threads=$4 out; shift 4
  echo "=== uspdit $dtype, $label: $np rank(s) × $threads thread(s) $* (load $(cut -d' ' -f1 /proc/loadavg))"
  if [ "$np" = 1 ]; then
    out=$(OMP_NUM_THREADS=$threads "$bin" bench dit "${shape[@]}" --dtype "$dtype" --threads "$threads" "$@")
  else
    out=$("${mpi[@]}" -np "$np" -x OMP_NUM_THREADS="$threads" "$bin" bench dit "${shape[@]}" --dtype "$dtype" \
          --threads "$threads" "$@")
  fi
  echo "$out"
  record "uspdit|$dtype|$label" "$out"
}

diffusers() {  # dtype, threads
  local dtype=$1 threads=$2 out
  echo "=== diffusers $dtype: 1 process × $threads thread(s) (load $(cut -d' ' -f1 /proc/loadavg))"
  out=$(OMP_NUM_THREADS=$threads "$py" "$root/tools/bench_dit_diffusers.py" "${shape[@]}" --dtype "$dtype" \
        --threads "$threads" 2> >(grep -v "should be kept in float32" >&2))
  echo "$out"
  record "diffusers|$dtype|1x2" "$out"
}

echo "uspdit: ${USPDIT_BIN:-$root/build/uspdit} (git $(git -C "$root" describe --always --dirty 2>/dev/null || echo '?'))"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $cores cores; load before: $(uptime | sed 's/.*load average: //')"
for ((rep = 1; rep <= repeats; ++rep)); do
  echo "##### repeat $rep/$repeats"
  for dtype in "${dtypes[@]}"; do
    uspdit "$dtype" 1x2 1 2
    diffusers "$dtype" 2
    uspdit "$dtype" 1x1 1 1
    uspdit "$dtype" "Ulysses 2" 2 1 --ulysses-degree 2
    uspdit "$dtype" "Ring 2" 2 1 --ring-degree 2
    uspdit "$dtype" "Ulysses 4" 4 1 --ulysses-degree 4
    uspdit "$dtype" "USP 2x2" 4 1 --ulysses-degree 2 --ring-degree 2
  done
done
echo "load after: $(uptime | sed 's/.*load average: //')"

# ---- tables ----
best() { tr ' ' '\n' <<<"$1" | sort -g | head -1; }
show() { sed 's/ / \/ /g' <<<"$1"; }  # "a b" -> "a / b"
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
per_layer() { awk -v a="$1" -v n="$((layers + single_layers))" 'BEGIN { printf "%.0f", a / n }'; }

echo
echo "shape: ${shape[*]} (batch 1); times in ms per step (every repeat; ratios from the fastest)"
echo
echo "| dtype | uspdit 1×2 | diffusers 1×2 | uspdit / layer | diffusers / layer | diffusers ÷ uspdit |"
echo "|---|---|---|---|---|---|"
for dtype in "${dtypes[@]}"; do
  u=${ms["uspdit|$dtype|1x2"]} d=${ms["diffusers|$dtype|1x2"]}
  echo "| $dtype | $(show "$u") | $(show "$d") | $(per_layer "$(best "$u")") | $(per_layer "$(best "$d")") | $(div "$(best "$d")" "$(best "$u")") |"
done
echo
echo "uspdit, every rank 1 thread (4 ranks on $cores cores are oversubscribed: 2 ranks share each core)"
echo
echo "| dtype | mesh | ranks × threads | step | / layer | speedup vs 1×2 | speedup vs 1×1 | vs diffusers 1×2 | bytes sent / rank / step |"
echo "|---|---|---|---|---|---|---|---|---|"
for dtype in "${dtypes[@]}"; do
  base2=$(best "${ms["uspdit|$dtype|1x2"]}") base1=$(best "${ms["uspdit|$dtype|1x1"]}")
  dref=$(best "${ms["diffusers|$dtype|1x2"]}")
  for cfg in "1x1:1 × 1" "1x2:1 × 2" "Ulysses 2:2 × 1" "Ring 2:2 × 1" "Ulysses 4:4 × 1" "USP 2x2:4 × 1"; do
    label=${cfg%%:*} rt=${cfg#*:} v=${ms["uspdit|$dtype|${cfg%%:*}"]}
    b=$(best "$v")
    echo "| $dtype | $label | $rt | $(show "$v") | $(per_layer "$b") | $(div "$base2" "$b") | $(div "$base1" "$b") | $(div "$dref" "$b") | ${bytes["uspdit|$dtype|$label"]:-0} |"
  done
done
