#!/usr/bin/env bash
# Several "nodes" on one machine: each node is a network namespace with its own veth interface,
# address and host name, joined by a bridge that lives in a namespace of its own, so nothing of
# the host's network (interfaces, routes, addresses) is touched and all traffic stays between the
# namespaces made here. Open MPI launches across them as on a real cluster: a hostfile with one
# line per node, and scripts/cluster_agent.sh as the launch agent (instead of ssh) entering the
# node's network namespace and a UTS namespace carrying the node's host name.
#
#   sudo scripts/cluster.sh run [--nodes 3] [--slots 2] -- COMMAND...
#       builds the cluster, runs COMMAND on this machine with the variables below, tears it all
#       down when COMMAND ends (also after a failure or Ctrl-C), and exits with COMMAND's status.
#   scripts/cluster.sh shape NODE RATE    limit NODE's link to RATE (tc tbf, e.g. 400mbit), both ways
#   scripts/cluster.sh unshape NODE       remove the limit
#   scripts/cluster.sh cut NODE           take NODE's link down (the cable pulled)
#   scripts/cluster.sh kill NODE          SIGKILL every process in NODE's namespace (the node dies)
#   scripts/cluster.sh mpirun ARGS...     mpirun from node 0 with the cluster's hostfile and agent
#   scripts/cluster.sh exec NODE CMD...   run CMD on NODE (its network and host name)
# The last five read USPDIT_CLUSTER (set for COMMAND by `run`).
#
# Variables COMMAND sees: USPDIT_CLUSTER (the cluster's state folder), USPDIT_CLUSTER_NODES,
# USPDIT_CLUSTER_HOSTFILE. Requires root and iproute2 (ip, tc).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

die() { echo "[cluster] $*" >&2; exit 2; }

# Node i: address 10.213.13.(11+i) on the cluster's private /24; host name uspdit-n<i> (resolved
# inside the nodes through /etc/netns/<namespace>/hosts, removed with the cluster). The
# subnet exists only inside this cluster's namespaces (the switch and the nodes), so it cannot
# clash with the host's networks or with another cluster running at the same time.
subnet=10.213.13
node_addr() { echo "$subnet.$((11 + $1))"; }

state() { [ -n "${USPDIT_CLUSTER:-}" ] && [ -f "$USPDIT_CLUSTER/id" ] || die "USPDIT_CLUSTER is not a running cluster (use: cluster.sh run ... -- COMMAND)"; }
ns_of() { echo "$(cat "$USPDIT_CLUSTER/id")-n$1"; }
switch_ns() { echo "$(cat "$USPDIT_CLUSTER/id")-sw"; }
node_count() { cat "$USPDIT_CLUSTER/nodes"; }
check_node() { [[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -lt "$(node_count)" ] || die "no node '$1' (0..$(($(node_count) - 1)))"; }

teardown() {
  local dir=$1 id n
  [ -f "$dir/id" ] || return 0
  id=$(cat "$dir/id")
  for ns in $(ip netns list | awk '{print $1}' | grep -E "^$id-(n[0-9]+|sw)$" || true); do
    # Only processes inside this cluster's own namespaces: ours, by id.
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -rf /etc/netns/"$id"-n*
  [ ! -f "$dir/made_etc_netns" ] || rmdir /etc/netns 2>/dev/null || true
  rm -rf "$dir"
}

cmd_run() {
  local nodes=3 slots=2
  while [ $# -gt 0 ]; do
    case $1 in
      --nodes) nodes=$2; shift 2 ;;
      --slots) slots=$2; shift 2 ;;
      --) shift; break ;;
      *) die "unknown option $1 (usage: cluster.sh run [--nodes N] [--slots S] -- COMMAND...)" ;;
    esac
  done
  [ $# -gt 0 ] || die "run: no COMMAND after --"
  [[ "$nodes" =~ ^[0-9]+$ ]] && [ "$nodes" -ge 2 ] && [ "$nodes" -le 16 ] || die "--nodes must be 2..16"
  [ "$(id -u)" = 0 ] || die "needs root (network namespaces); CI runs as root"
  command -v ip >/dev/null && command -v tc >/dev/null || die "needs iproute2 (ip, tc): apt-get install iproute2"

  local id="uspdit-c$$" dir
  dir=$(mktemp -d /tmp/uspdit-cluster.XXXXXX)
  echo "$id" > "$dir/id"
  echo "$nodes" > "$dir/nodes"
  trap "teardown '$dir'" EXIT
  trap "exit 130" INT TERM

  local sw="$id-sw"
  ip netns add "$sw"
  ip -n "$sw" link set lo up
  ip -n "$sw" link add name br0 type bridge
  ip -n "$sw" link set br0 up
  : > "$dir/hostfile"
  : > "$dir/hosts"
  for ((i = 0; i < nodes; i++)); do
    local ns="$id-n$i" addr
    addr=$(node_addr "$i")
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    # The node's end is eth0 inside its namespace; the switch's end is port<i> on the bridge.
    ip -n "$sw" link add name "port$i" type veth peer name eth0 netns "$ns"
    ip -n "$sw" link set "port$i" master br0 up
    ip -n "$ns" addr add "$addr/24" dev eth0
    ip -n "$ns" link set eth0 up
    echo "uspdit-n$i slots=$slots" >> "$dir/hostfile"
    echo "$addr $ns uspdit-n$i" >> "$dir/hosts"
  done
  # Host names resolve inside the nodes as on a cluster: `ip netns exec` shows /etc/netns/<ns>/hosts
  # as /etc/hosts, so the hostfile and Open MPI's messages name nodes, not addresses.
  [ -d /etc/netns ] || { mkdir /etc/netns && touch "$dir/made_etc_netns"; }
  for ((i = 0; i < nodes; i++)); do
    mkdir -p "/etc/netns/$id-n$i"
    { echo "127.0.0.1 localhost"; awk '{print $1, $3}' "$dir/hosts"; } > "/etc/netns/$id-n$i/hosts"
  done
  # The bridge forwards once the ports are up; wait until node 0 reaches every other node.
  for ((i = 1; i < nodes; i++)); do
    local ok=0
    for _ in $(seq 50); do
      # No ping in minimal images: a refused TCP connection to a closed port proves the path.
      local answer
      answer=$(ip netns exec "$id-n0" timeout 1 bash -c "</dev/tcp/$(node_addr "$i")/9" 2>&1 || true)
      if [[ "$answer" == *refused* ]]; then
        ok=1
        break
      fi
      sleep 0.1
    done
    [ "$ok" = 1 ] || die "node 0 cannot reach node $i ($(node_addr "$i"))"
  done
  echo "[cluster] $nodes nodes up ($subnet.0/24, namespaces $id-n0..n$((nodes - 1)), hostfile $dir/hostfile)" >&2

  local status=0
  USPDIT_CLUSTER=$dir USPDIT_CLUSTER_NODES=$nodes USPDIT_CLUSTER_HOSTFILE=$dir/hostfile "$@" || status=$?
  return "$status"
}

# tbf on both ends of the node's link: the node's eth0 shapes what it sends, the switch port
# what it receives. The bucket holds a few packets only, so a message of a few MB sees the rate.
cmd_shape() {
  state; check_node "$1"
  local node=$1 rate=$2
  for spec in "$(ns_of "$node") eth0" "$(switch_ns) port$node"; do
    set -- $spec
    tc -n "$1" qdisc replace dev "$2" root tbf rate "$rate" burst 32kb latency 400ms
  done
}

cmd_unshape() {
  state; check_node "$1"
  tc -n "$(ns_of "$1")" qdisc del dev eth0 root 2>/dev/null || true
  tc -n "$(switch_ns)" qdisc del dev "port$1" root 2>/dev/null || true
}

cmd_cut() { state; check_node "$1"; ip -n "$(switch_ns)" link set "port$1" down; }

cmd_kill() {
  state; check_node "$1"
  for pid in $(ip netns pids "$(ns_of "$1")"); do kill -9 "$pid" 2>/dev/null || true; done
}

# Runs in node NODE's network namespace and a fresh UTS namespace named after the node.
cmd_exec() {
  state; check_node "$1"
  local node=$1; shift
  exec ip netns exec "$(ns_of "$node")" unshare --uts -- \
    sh -c 'hostname "$0" && exec "$@"' "uspdit-n$node" "$@"
}

# mpirun as on the cluster's head node (node 0). The TCP transport carries what goes between
# nodes, vader (shared memory) what stays inside one; the agent replaces ssh; no tree spawn, so
# only mpirun starts daemons (each through the agent). TCP keepalive on the daemons' connections
# (idle 10 s, then 3 probes 5 s apart): a node whose link goes down sends no error, and Open MPI's
# default (300 s + 9 x 20 s) would leave the job hanging 8 minutes before it noticed.
cmd_mpirun() {
  state
  cmd_exec 0 env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
    mpirun --hostfile "$USPDIT_CLUSTER/hostfile" \
    --mca plm_rsh_agent "$here/cluster_agent.sh" --mca plm_rsh_no_tree_spawn 1 \
    --mca btl self,vader,tcp --mca btl_tcp_if_include "$subnet.0/24" --mca oob_tcp_if_include "$subnet.0/24" \
    --mca oob_tcp_keepalive_time 10 --mca oob_tcp_keepalive_intvl 5 --mca oob_tcp_keepalive_probes 3 \
    --mca mpi_yield_when_idle 1 --bind-to none -x OMP_NUM_THREADS=1 -x USPDIT_CLUSTER "$@"
}

[ $# -gt 0 ] || die "usage: cluster.sh run|shape|unshape|cut|kill|exec|mpirun ... (see the header)"
sub=$1; shift
case $sub in
  run) cmd_run "$@" ;;
  shape) [ $# = 2 ] || die "usage: cluster.sh shape NODE RATE"; cmd_shape "$@" ;;
  unshape) [ $# = 1 ] || die "usage: cluster.sh unshape NODE"; cmd_unshape "$@" ;;
  cut) [ $# = 1 ] || die "usage: cluster.sh cut NODE"; cmd_cut "$@" ;;
  kill) [ $# = 1 ] || die "usage: cluster.sh kill NODE"; cmd_kill "$@" ;;
  exec) [ $# -ge 2 ] || die "usage: cluster.sh exec NODE COMMAND..."; cmd_exec "$@" ;;
  mpirun) cmd_mpirun "$@" ;;
  *) die "unknown subcommand $sub" ;;
esac
