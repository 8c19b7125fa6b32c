// `uspdit check`: measure the links a USP run depends on and say which ones are slow, and which
// settings in the environment are known to make them slow.
//
// Why: a misconfigured transport does not fail, it is just slow. RoCE silently falls back to TCP
// when the RDMA drivers or NCCL_IB_HCA are wrong, and NCCL_P2P_DISABLE=1 costs ~20% end to end
// (xDiT issue #526). A run's only symptom is a latency that is "a bit high". Measuring every node
// pair and every pair inside a node, then comparing each link with its peers, names the bad one.
//
// Three parts, so the judgement is testable without MPI:
//   plan_link_check   which rank pairs and groups to measure, in which rounds (pure)
//   measure_links     runs the plan through the Communicator interface (collective)
//   flag_slow_links / check_environment   pure judgements on measurements and variables
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "parallel/communicator.h"
#include "parallel/launch_env.h"
#include "parallel/runtime.h"

namespace uspdit::parallel {

enum class LinkKind { kP2p, kAllToAll };
enum class LinkScope { kIntraNode, kInterNode };

const char* link_kind_name(LinkKind kind);     // "p2p", "all_to_all"
const char* link_scope_name(LinkScope scope);  // "intra-node", "inter-node"

// One measured link (p2p: ranks a and b) or group (all_to_all: every rank of a node, or the world;
// rank_a/rank_b are then its lowest and highest rank and node_a/node_b its node range).
struct LinkMeasurement {
  LinkKind kind = LinkKind::kP2p;
  LinkScope scope = LinkScope::kIntraNode;
  int rank_a = 0;
  int rank_b = 0;
  int node_a = 0;
  int node_b = 0;
  int group_size = 2;  // ranks taking part: 2 for p2p
  // p2p: time of one exchange of a small message (both directions at once), i.e. about one
  // one-way latency plus the communicator's per-call cost. all_to_all: one small all-to-all.
  double latency_us = 0;
  // p2p: bytes per direction / time of a simultaneous exchange, as a ring attention step sees it
  // (the fastest of the repetitions: noise only slows a transfer down).
  // all_to_all: bytes each rank sends to the others / time (slowest rank). GB = 1e9 bytes.
  double bandwidth_gbps = 0;
};

// ---- Plan -------------------------------------------------------------------------------------

// A link or group to measure, before measuring. ranks: the pair, or the group's members.
struct PlannedLink {
  LinkKind kind = LinkKind::kP2p;
  LinkScope scope = LinkScope::kIntraNode;
  std::vector<int> ranks;
  int node_a = 0;
  int node_b = 0;
};

struct LinkPlan {
  std::vector<PlannedLink> links;
  // p2p links by round: a round's pairs are disjoint and run at the same time, every other rank
  // waits at the barrier that ends the round. Intra-node pairs of different nodes share a round
  // (they share no hardware); each inter-node pair has a round to itself so that pairs do not
  // compete for the fabric and a slow link is not blamed on contention.
  std::vector<std::vector<size_t>> p2p_rounds;
  std::vector<size_t> node_all_to_all;     // one per node with >= 2 ranks
  std::optional<size_t> world_all_to_all;  // when the job spans >= 2 nodes
};

// node_of_rank from NodeInfo. Inter-node pairs join the lowest rank of each node (its local rank
// 0 under every launcher we know). Intra-node pairs are all pairs of a node's ranks, or, beyond
// max_intra_pairs_per_node, the pairs at rank distance 1, 2, ... (so every rank is covered first).
// nodes_share_cpus: every intra-node pair gets a round of its own (and node all-to-alls run one
// node at a time), for "nodes" that share one machine's cores (network namespaces, VMs on one
// host), where pairs of different nodes running at once would compete for the same CPUs.
LinkPlan plan_link_check(const std::vector<int>& node_of_rank, int max_intra_pairs_per_node,
                         bool nodes_share_cpus = false);

// ---- Measurement ------------------------------------------------------------------------------

struct LinkCheckOptions {
  int64_t bandwidth_bytes = 16 << 20;  // per direction (p2p) or per rank (all-to-all)
  int iters = 5;                       // timed repetitions of the large message; the fastest kept
  int64_t latency_bytes = 8;
  int latency_iters = 50;
  int max_intra_pairs_per_node = 64;
  bool nodes_share_cpus = false;  // see plan_link_check
};

// Collective over `world`: every rank must call it with the same arguments. Every rank returns
// the same measurements, in plan order; each time is the slower of the ranks that took part.
std::vector<LinkMeasurement> measure_links(Communicator& world, const NodeInfo& nodes,
                                           const LinkCheckOptions& options);

// ---- Judgement of links -----------------------------------------------------------------------

struct SlowLinkOptions {
  // A link is slow when under relative_fraction x the median of its group (same kind and scope),
  // judged only for groups of >= min_group_size links: with two links, which one is the outlier?
  double relative_fraction = 0.5;
  size_t min_group_size = 3;
  // Inter-node p2p links under this are slow whatever their peers do (all of them may be on TCP).
  std::optional<double> min_inter_node_gbps;
};

struct LinkFlag {
  size_t measurement = 0;  // index into the measurements
  std::string message;     // names the pair, the numbers and the likely cause
};

// Inter-node links being slower than intra-node ones is expected and never flagged: links are only
// compared with their own group (same kind and scope), and inter-node links also with the links
// of the other nodes, so that one slow node is named even where its links are the group's median
// (3 nodes: 2 of the 3 pairs). One inter-node link (2 nodes) has no peer: only
// min_inter_node_gbps, the rate the fabric should give, can judge it.
std::vector<LinkFlag> flag_slow_links(const std::vector<LinkMeasurement>& measurements,
                                      const SlowLinkOptions& options = {});

// ---- Judgement of the environment -------------------------------------------------------------

enum class EnvMatch {
  kNonZero,                 // set to a non-zero integer, as NCCL reads its *_DISABLE switches
  kUnset,                   // unset or empty
  kEqualsIgnoreCase,        // equal to EnvRule::argument, ignoring case
  kBtlWithoutSharedMemory,  // an Open MPI btl list that leaves out (or excludes) vader/sm
};

// kNccl: only jobs whose tensors go over NCCL (advice a CPU job over MPI cannot act on).
enum class RuleDevices { kAny, kCpu, kCuda, kNccl };

// One known-harmful setting. Rules are data: a new one is one line of the table in link_check.cpp.
// NCCL switches that are set concern every device: a CPU check run in a job's environment is the
// pre-flight of the GPU job launched the same way. A NCCL variable being unset concerns NCCL jobs
// only (every MPI job would otherwise fail the check). Open MPI transport rules: CPU runs only.
struct EnvRule {
  const char* variable;
  EnvMatch match;
  const char* argument;  // for kEqualsIgnoreCase
  int min_nodes;         // 2: only a multi-node job is hurt
  RuleDevices devices;
  const char* condition;  // how the setting reads, e.g. "NCCL_P2P_DISABLE=1"
  const char* problem;    // what it costs
  const char* fix;
};

const std::vector<EnvRule>& env_rules();
std::string env_rule_message(const EnvRule& rule);  // "<condition>: <problem>. Fix: <fix>"

struct EnvWarning {
  size_t rule = 0;  // index into env_rules()
  std::string variable;
  std::optional<std::string> value;
  std::string message;  // condition, problem and fix in one line
};

// uses_nccl: the run's tensors go over NCCL (Communicator::backend() "nccl").
std::vector<EnvWarning> check_environment(const EnvLookup& env, int num_nodes, DeviceKind device,
                                          bool uses_nccl);

// Environments may differ between nodes (mpirun forwards only what -x names), so every rank checks
// its own. Collective: returns, on every rank, each rule that fired anywhere and the ranks it fired on.
struct EnvFinding {
  size_t rule = 0;
  std::vector<int> ranks;
};
std::vector<EnvFinding> gather_env_findings(Communicator& world, const std::vector<EnvWarning>& local);

// "0-3,6": ranks as compact ranges, for messages.
std::string format_ranks(const std::vector<int>& ranks);

}  // namespace uspdit::parallel
