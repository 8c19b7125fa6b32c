#!/usr/bin/env bash
# Open MPI's launch agent for the namespace cluster (scripts/cluster.sh), in place of ssh:
#   cluster_agent.sh HOST COMMAND...
# mpirun calls it as it would call `ssh HOST COMMAND...`: it finds HOST (an address from the
# hostfile) in the cluster's table, enters that node's network namespace and a UTS namespace
# with the node's host name, and runs COMMAND through a shell there, as sshd would.
set -euo pipefail
[ -n "${USPDIT_CLUSTER:-}" ] && [ -f "$USPDIT_CLUSTER/hosts" ] || {
  echo "cluster_agent.sh: USPDIT_CLUSTER is not a running cluster" >&2
  exit 255
}
host=$1; shift
read -r _ ns name < <(awk -v h="$host" '$1 == h || $3 == h' "$USPDIT_CLUSTER/hosts") || {
  echo "cluster_agent.sh: $host is not a node of the cluster in $USPDIT_CLUSTER" >&2
  exit 255
}
exec ip netns exec "$ns" unshare --uts -- sh -c 'hostname "$0" && exec sh -c "$1"' "$name" "$*"
