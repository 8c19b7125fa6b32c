#!/usr/bin/env bash
# Reproduces bench/cluster.md on a namespace cluster of 3 nodes x 2 slots (scripts/cluster.sh,
# needs root):
#   1. `uspdit check` on the unshaped cluster, then with node 2's link limited to 400 Mbit/s
#   2. bytes each rank sent across nodes per denoising step, from the nodes' eth0 counters (a run
#      of 12 steps minus a run of 2, so loading, text and VAE traffic cancel), next to the MPI
#      bytes of the denoise stage (--bench_output) and `uspdit plan`'s prediction, for the tiny
#      fixture on 3 nodes x 2 (Ulysses 2 x Ring 3) and 2 nodes x 2 (Ulysses 2 x CFG 2)
#   3. a node lost mid-run: node 2's processes killed; node 2's link taken down (with the
#      keepalive cluster.sh mpirun sets; Open MPI's default would take 300 s + 9 x 20 s)
# env: SKIP_BUILD=1, USPDIT_BIN (default build/uspdit), PYTHON (.venv-tools/bin/python)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${USPDIT_CLUSTER:-}" ]; then
  [ "${SKIP_BUILD:-0}" = 1 ] || "$root/scripts/build.sh" >/dev/null
  exec "$root/scripts/cluster.sh" run --nodes 3 --slots 2 -- "$0" "$@"
fi
cluster="$root/scripts/cluster.sh"
bin=${USPDIT_BIN:-$root/build/uspdit}
py=${PYTHON:-$root/.venv-tools/bin/python}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
id=$(cat "$USPDIT_CLUSTER/id")
echo "uspdit git $(git -C "$root" describe --always --dirty 2>/dev/null || echo '?'), $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"

echo "=== 1a. check, unshaped"
"$cluster" mpirun -np 6 "$bin" check --nodes-share-cpus 2>&1 | grep -v "^\[uspdit-n0:.*setpgid" || true
echo "=== 1b. check, node 2 limited to 400mbit"
"$cluster" shape 2 400mbit
"$cluster" mpirun -np 6 "$bin" check --nodes-share-cpus 2>&1 | grep -v "^\[uspdit-n0:.*setpgid" || true
"$cluster" unshape 2

tx() { ip -n "$id-n$1" -s -j link show eth0 | "$py" -c "import json,sys; print(json.load(sys.stdin)[0]['stats64']['tx']['bytes'])"; }
tiny=(--ckpt_dir "$root/tests/data/wan_t2v/original" --prompt "a cat" --size "64*48" --frame_num 5
      --dtype fp32 --text-dtype fp32 --no-progress)
plan=(--heads 2 --head-dim 12 --seq-len 24 --layers 2 --gpus-per-node 2 --dtype fp32)
echo "=== 2. bytes across nodes per step"
for shape in "3 6" "2 4 --cfg"; do
  set -- $shape
  nodes=$1 np=$2 cfg=${3:-}
  "$bin" plan "${plan[@]}" --nodes "$nodes" $cfg
  mesh=$("$bin" plan "${plan[@]}" --nodes "$nodes" $cfg | sed -n 's/^recommended: \([^#]*[^# ]\) *#.*/\1/p')
  declare -A before after mpi
  for steps in 2 12; do
    for ((n = 0; n < nodes; n++)); do before[$steps,$n]=$(tx "$n"); done
    "$cluster" mpirun -np "$np" "$bin" generate "${tiny[@]}" $mesh --sample_steps "$steps" \
      --save_file "$tmp/s$steps.mp4" --bench_output "$tmp/r$nodes-$steps" > /dev/null 2>&1
    for ((n = 0; n < nodes; n++)); do after[$steps,$n]=$(tx "$n"); done
    mpi[$steps]=$("$py" -c "
import json,glob
d=json.load(open(glob.glob('$tmp/r$nodes-$steps/*.json')[0]))
print(max(sum(s['bytes_sent'] for s in r['stages'] if s['name']=='denoise') for r in d['ranks']))")
  done
  echo "--- $nodes nodes x 2 ranks, $mesh: per denoising step (12-step run minus 2-step run, / 10)"
  for ((n = 0; n < nodes; n++)); do
    d=$(( (after[12,$n] - before[12,$n]) - (after[2,$n] - before[2,$n]) ))
    echo "node $n eth0 sent $((d / 10)) B/step, $((d / 20)) B/step per rank (IP packets: TCP/IP headers and ACKs included)"
  done
  echo "MPI bytes of the denoise stage, the rank sending the most (intra + inter): $(( (mpi[12] - mpi[2]) / 10 )) B/step"
done

echo "=== 3a. node lost: node 2's processes killed mid-run"
lost() {  # how to lose node 2
  "$cluster" mpirun -np 6 "$bin" generate "${tiny[@]}" --ulysses-degree 2 --ring-degree 3 --sample_steps 100000 \
    --save_file "$tmp/lost.mp4" > "$tmp/lost.log" 2>&1 &
  local runner=$!
  for _ in $(seq 100); do grep -q load_dit "$tmp/lost.log" && break; sleep 0.2; done
  sleep 1
  local t0=$SECONDS
  "$@"
  local rc=0
  wait "$runner" || rc=$?
  echo "mpirun exit $rc, $((SECONDS - t0)) s after the loss"
  grep -v "^\[uspdit info" "$tmp/lost.log" | head -12 || true
  for n in 0 1 2; do echo "node $n processes left: $(ip netns pids "$id-n$n" | wc -l)"; done
  ls "$tmp" | grep "^lost\.mp4" || echo "no lost.mp4 (nor temporary) written"
}
lost "$cluster" kill 2
echo "=== 3b. node lost: node 2's link down mid-run (cluster.sh mpirun sets TCP keepalive on the daemons' links)"
ip -n "$id-sw" link set port2 up
lost "$cluster" cut 2
