#include "parallel/link_check.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <utility>

#include "core/device.h"
#include "core/timer.h"

namespace uspdit::parallel {

const char* link_kind_name(LinkKind kind) {
  return kind == LinkKind::kP2p ? "p2p" : "all_to_all";
}

const char* link_scope_name(LinkScope scope) {
  return scope == LinkScope::kIntraNode ? "intra-node" : "inter-node";
}

std::string format_ranks(const std::vector<int>& ranks) {
  std::vector<int> sorted = ranks;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::string out;
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i;
    while (j + 1 < sorted.size() && sorted[j + 1] == sorted[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(sorted[i]);
    if (j > i) {
      out += '-';
      out += std::to_string(sorted[j]);
    }
    i = j + 1;
  }
  return out;
}

// ---- Plan -------------------------------------------------------------------------------------

namespace {

// Pairs of `members` by increasing distance around the ring of members: (i, i+1) for every i
// first, then (i, i+2), ... so a bounded sample still touches every rank. All pairs when
// limit >= n(n-1)/2. With an even count, distance n/2 pairs each show up twice; keep one.
std::vector<std::pair<int, int>> intra_node_pairs(const std::vector<int>& members, int limit) {
  std::vector<std::pair<int, int>> pairs;
  const int n = static_cast<int>(members.size());
  for (int d = 1; 2 * d <= n; ++d) {
    const int starts = 2 * d == n ? d : n;
    for (int i = 0; i < starts; ++i) {
      if (static_cast<int>(pairs.size()) >= limit) return pairs;
      int a = members[i], b = members[(i + d) % n];
      pairs.emplace_back(std::min(a, b), std::max(a, b));
    }
  }
  return pairs;
}

}  // namespace

LinkPlan plan_link_check(const std::vector<int>& node_of_rank, int max_intra_pairs_per_node,
                         bool nodes_share_cpus) {
  if (max_intra_pairs_per_node < 1) throw std::invalid_argument("max_intra_pairs_per_node must be >= 1");
  LinkPlan plan;
  if (node_of_rank.empty()) return plan;
  const int num_nodes = 1 + *std::max_element(node_of_rank.begin(), node_of_rank.end());
  std::vector<std::vector<int>> members(num_nodes);
  for (int r = 0; r < static_cast<int>(node_of_rank.size()); ++r) {
    if (node_of_rank[r] < 0) throw std::invalid_argument("node_of_rank has a negative node index");
    members[node_of_rank[r]].push_back(r);
  }

  // Intra-node pairs: the k-th pair of every node runs in round k (each in its own round when
  // the nodes share CPUs).
  for (int node = 0; node < num_nodes; ++node) {
    auto pairs = intra_node_pairs(members[node], max_intra_pairs_per_node);
    const size_t first_round = nodes_share_cpus ? plan.p2p_rounds.size() : 0;
    for (size_t k = 0; k < pairs.size(); ++k) {
      if (plan.p2p_rounds.size() <= first_round + k) plan.p2p_rounds.emplace_back();
      plan.p2p_rounds[first_round + k].push_back(plan.links.size());
      plan.links.push_back(
          {LinkKind::kP2p, LinkScope::kIntraNode, {pairs[k].first, pairs[k].second}, node, node});
    }
  }
  // Inter-node pairs between the first rank of each node, one pair per round.
  for (int a = 0; a < num_nodes; ++a) {
    for (int b = a + 1; b < num_nodes; ++b) {
      if (members[a].empty() || members[b].empty()) continue;
      plan.p2p_rounds.push_back({plan.links.size()});
      plan.links.push_back({LinkKind::kP2p, LinkScope::kInterNode, {members[a][0], members[b][0]}, a, b});
    }
  }
  for (int node = 0; node < num_nodes; ++node) {
    if (members[node].size() < 2) continue;
    plan.node_all_to_all.push_back(plan.links.size());
    plan.links.push_back({LinkKind::kAllToAll, LinkScope::kIntraNode, members[node], node, node});
  }
  if (num_nodes >= 2) {
    std::vector<int> all(node_of_rank.size());
    for (size_t r = 0; r < all.size(); ++r) all[r] = static_cast<int>(r);
    plan.world_all_to_all = plan.links.size();
    plan.links.push_back({LinkKind::kAllToAll, LinkScope::kInterNode, all, 0, num_nodes - 1});
  }
  return plan;
}

// ---- Measurement ------------------------------------------------------------------------------

namespace {

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : 0.5 * (values[mid - 1] + values[mid]);
}

// How the repetitions of one measurement are summed up. Latency: the median (the typical small
// message). Bandwidth: the fastest repetition, because noise only ever slows a transfer down: on
// cores shared with other work (nodes that share a machine, a busy node) a descheduled rank
// makes one repetition slow, and the median of a few can then be 10x under what the link does;
// a link that is slow by configuration (TCP instead of RDMA, no shared memory) is slow every time.
enum class Keep { kMedian, kFastest };

double summary(std::vector<double> times, Keep keep) {
  return keep == Keep::kMedian ? median(std::move(times)) : *std::min_element(times.begin(), times.end());
}

// Time of one simultaneous exchange of `bytes` with `peer`. The untimed first exchange
// faults the pages in and lines the two ranks up, so the timed ones measure the link, not the
// skew of arriving at it.
double time_exchange(Communicator& comm, int peer, int64_t bytes, int iters, Keep keep) {
  const auto bytes_on_device = at::TensorOptions().dtype(at::kByte).device(comm.device());
  auto send = at::zeros({bytes}, bytes_on_device);
  auto recv = at::zeros({bytes}, bytes_on_device);
  comm.send_recv_async(send, peer, recv, peer)->wait();
  core::synchronize(comm.device());
  std::vector<double> times;
  for (int i = 0; i < iters; ++i) {
    Stopwatch sw;
    comm.send_recv_async(send, peer, recv, peer)->wait();
    core::synchronize(comm.device());  // a GPU transfer completes on its stream, not in wait()
    times.push_back(sw.seconds());
  }
  return summary(std::move(times), keep);
}

// Per-destination chunk of an all-to-all in which every rank sends `bytes` in total.
int64_t all_to_all_chunk(int64_t bytes, int group_size) {
  return std::max<int64_t>(1, bytes / std::max(1, group_size));
}

double time_all_to_all(Communicator& comm, int64_t bytes, int iters, Keep keep) {
  const int64_t chunk = all_to_all_chunk(bytes, comm.size());
  const auto bytes_on_device = at::TensorOptions().dtype(at::kByte).device(comm.device());
  auto send = at::zeros({chunk * comm.size()}, bytes_on_device);
  auto recv = at::zeros({chunk * comm.size()}, bytes_on_device);
  std::vector<int64_t> counts(comm.size(), chunk);
  comm.all_to_all_v(send, counts, recv, counts);
  core::synchronize(comm.device());
  std::vector<double> times;
  for (int i = 0; i < iters; ++i) {
    Stopwatch sw;
    comm.all_to_all_v(send, counts, recv, counts);
    core::synchronize(comm.device());
    times.push_back(sw.seconds());
  }
  return summary(std::move(times), keep);
}

int peer_in(const PlannedLink& link, int me) {
  if (link.ranks[0] == me) return link.ranks[1];
  if (link.ranks[1] == me) return link.ranks[0];
  return -1;
}

bool contains(const std::vector<int>& ranks, int rank) {
  return std::find(ranks.begin(), ranks.end(), rank) != ranks.end();
}

}  // namespace

std::vector<LinkMeasurement> measure_links(Communicator& world, const NodeInfo& nodes,
                                           const LinkCheckOptions& options) {
  if (static_cast<int>(nodes.node_of_rank.size()) != world.size()) {
    throw std::invalid_argument("measure_links: node_of_rank has " +
                                std::to_string(nodes.node_of_rank.size()) + " entries for a world of " +
                                std::to_string(world.size()));
  }
  if (options.bandwidth_bytes < 1 || options.latency_bytes < 1 || options.iters < 1 ||
      options.latency_iters < 1) {
    throw std::invalid_argument("measure_links: message sizes and iteration counts must be >= 1");
  }
  const LinkPlan plan =
      plan_link_check(nodes.node_of_rank, options.max_intra_pairs_per_node, options.nodes_share_cpus);
  const int me = world.rank();
  // Row i: {latency seconds, bandwidth seconds} of link i as this rank saw it, 0 if not in it.
  // One max-reduction at the end gives every rank every link, timed by its slower end.
  auto seconds = at::zeros({static_cast<int64_t>(plan.links.size()), 2}, at::kDouble);
  double* t = seconds.data_ptr<double>();

  for (const auto& round : plan.p2p_rounds) {
    for (size_t index : round) {
      const int peer = peer_in(plan.links[index], me);
      if (peer < 0) continue;
      t[2 * index] = time_exchange(world, peer, options.latency_bytes, options.latency_iters, Keep::kMedian);
      t[2 * index + 1] = time_exchange(world, peer, options.bandwidth_bytes, options.iters, Keep::kFastest);
    }
    // Ranks outside this round's pairs wait here: nobody starts the next round early.
    world.barrier();
  }

  // Every node's all-to-all at once, each on its own sub-communicator (one node after the other
  // when the nodes share CPUs); split is collective.
  if (!plan.node_all_to_all.empty()) {
    auto node_comm = world.split(nodes.node_of_rank[me], me);
    for (size_t index : plan.node_all_to_all) {
      if (contains(plan.links[index].ranks, me)) {
        t[2 * index] =
            time_all_to_all(*node_comm, options.latency_bytes, options.latency_iters, Keep::kMedian);
        t[2 * index + 1] =
            time_all_to_all(*node_comm, options.bandwidth_bytes, options.iters, Keep::kFastest);
      }
      if (options.nodes_share_cpus) world.barrier();
    }
    world.barrier();
  }
  if (plan.world_all_to_all) {
    const size_t index = *plan.world_all_to_all;
    t[2 * index] = time_all_to_all(world, options.latency_bytes, options.latency_iters, Keep::kMedian);
    t[2 * index + 1] = time_all_to_all(world, options.bandwidth_bytes, options.iters, Keep::kFastest);
  }
  if (!plan.links.empty()) world.host_all_reduce_max(seconds);

  std::vector<LinkMeasurement> out;
  for (size_t i = 0; i < plan.links.size(); ++i) {
    const PlannedLink& link = plan.links[i];
    LinkMeasurement m;
    m.kind = link.kind;
    m.scope = link.scope;
    m.rank_a = *std::min_element(link.ranks.begin(), link.ranks.end());
    m.rank_b = *std::max_element(link.ranks.begin(), link.ranks.end());
    m.node_a = link.node_a;
    m.node_b = link.node_b;
    m.group_size = static_cast<int>(link.ranks.size());
    const double moved = link.kind == LinkKind::kP2p
                             ? static_cast<double>(options.bandwidth_bytes)
                             : static_cast<double>(all_to_all_chunk(options.bandwidth_bytes, m.group_size) *
                                                   (m.group_size - 1));
    m.latency_us = t[2 * i] * 1e6;
    m.bandwidth_gbps = t[2 * i + 1] > 0 ? moved / t[2 * i + 1] / 1e9 : 0;
    out.push_back(m);
  }
  return out;
}

// ---- Judgement of links -----------------------------------------------------------------------

namespace {

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.3g", value);
  return text;
}

std::string describe(const LinkMeasurement& m) {
  const std::string a = std::to_string(m.rank_a), b = std::to_string(m.rank_b);
  if (m.kind == LinkKind::kP2p && m.scope == LinkScope::kInterNode) {
    return "ranks " + a + " (node " + std::to_string(m.node_a) + ") <-> " + b + " (node " +
           std::to_string(m.node_b) + ")";
  }
  if (m.kind == LinkKind::kP2p) return "ranks " + a + " <-> " + b + " on node " + std::to_string(m.node_a);
  if (m.scope == LinkScope::kIntraNode) {
    return "all-to-all of the " + std::to_string(m.group_size) + " ranks on node " + std::to_string(m.node_a);
  }
  return "all-to-all of all " + std::to_string(m.group_size) + " ranks over nodes " +
         std::to_string(m.node_a) + "-" + std::to_string(m.node_b);
}

// The likely cause, by what kind of link it is: the fix a user can try next.
const char* hint(const LinkMeasurement& m) {
  if (m.scope == LinkScope::kInterNode) {
    return "RDMA may have fallen back to TCP: run with NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,NET and look "
           "for NET/IB, not NET/Socket; check NCCL_IB_HCA / ibv_devices on both nodes (under MPI: that an "
           "RDMA transport such as UCX carries the traffic, not the tcp BTL)";
  }
  if (m.kind == LinkKind::kP2p) {
    return "peer-to-peer between these ranks' devices may be disabled or go through host memory: check "
           "NCCL_P2P_DISABLE / NCCL_SHM_DISABLE and `nvidia-smi topo -m` for the pair (NVLink, or PCIe "
           "across sockets); under MPI, that the shared-memory BTL (vader/sm) is enabled";
  }
  return "this node is slower than its peers: check its environment (NCCL_P2P_DISABLE, NCCL_SHM_DISABLE, "
         "OMPI_MCA_btl), its GPU topology and clocks, and whether other jobs run on it";
}

}  // namespace

namespace {

// A node whose inter-node links are slow as a whole: its own links make up most of the pairs on a
// few nodes (on 3 nodes, 2 of the 3), so they drag the group median down to their own level and
// the median rule alone passes them. A node is slow when even its fastest inter-node p2p link is
// under `fraction` x the median of the links between the other nodes: one slow node cannot drag
// that reference down, and a healthy node always has a fast link. Only nodes with >= 2 such links
// are judged (one link cannot say which end is slow), so 2 nodes are never judged this way.
struct SlowNode {
  int node = 0;
  double fastest = 0;    // its fastest link
  double reference = 0;  // median of the links between other nodes
  size_t links = 0;
};

std::vector<SlowNode> find_slow_nodes(const std::vector<LinkMeasurement>& measurements, double fraction) {
  std::vector<const LinkMeasurement*> inter;
  std::map<int, std::vector<double>> of_node;
  for (const auto& m : measurements) {
    if (m.kind != LinkKind::kP2p || m.scope != LinkScope::kInterNode) continue;
    inter.push_back(&m);
    of_node[m.node_a].push_back(m.bandwidth_gbps);
    of_node[m.node_b].push_back(m.bandwidth_gbps);
  }
  std::vector<SlowNode> slow;
  for (const auto& [node, mine] : of_node) {
    if (mine.size() < 2) continue;
    std::vector<double> others;
    for (const auto* m : inter) {
      if (m->node_a != node && m->node_b != node) others.push_back(m->bandwidth_gbps);
    }
    if (others.empty()) continue;
    const double fastest = *std::max_element(mine.begin(), mine.end());
    const double reference = median(others);
    if (fastest < fraction * reference) slow.push_back({node, fastest, reference, mine.size()});
  }
  return slow;
}

}  // namespace

std::vector<LinkFlag> flag_slow_links(const std::vector<LinkMeasurement>& measurements,
                                      const SlowLinkOptions& options) {
  std::map<std::pair<LinkKind, LinkScope>, std::vector<double>> groups;
  for (const auto& m : measurements) groups[{m.kind, m.scope}].push_back(m.bandwidth_gbps);
  std::map<std::pair<LinkKind, LinkScope>, double> medians;
  for (const auto& [key, values] : groups) medians[key] = median(values);
  const auto slow_nodes = find_slow_nodes(measurements, options.relative_fraction);

  std::vector<LinkFlag> flags;
  for (size_t i = 0; i < measurements.size(); ++i) {
    const LinkMeasurement& m = measurements[i];
    const auto key = std::make_pair(m.kind, m.scope);
    std::vector<std::string> reasons;
    const size_t group = groups[key].size();
    if (group >= options.min_group_size && m.bandwidth_gbps < options.relative_fraction * medians[key]) {
      reasons.push_back("under " + number(options.relative_fraction) + "x the median " +
                        number(medians[key]) + " GB/s of the " + std::to_string(group) + " " +
                        link_scope_name(m.scope) + " " + link_kind_name(m.kind) + " links");
    }
    if (m.kind == LinkKind::kP2p && m.scope == LinkScope::kInterNode) {
      for (const auto& s : slow_nodes) {
        // A slow node's link to a healthy node is slow; one at its peers' speed is not blamed.
        if ((s.node != m.node_a && s.node != m.node_b) ||
            !(m.bandwidth_gbps < options.relative_fraction * s.reference)) {
          continue;
        }
        reasons.push_back("node " + std::to_string(s.node) + " is slow: its " + std::to_string(s.links) +
                          " inter-node links reach at most " + number(s.fastest) + " GB/s against " +
                          number(s.reference) + " GB/s between the other nodes");
        break;
      }
    }
    if (options.min_inter_node_gbps && m.kind == LinkKind::kP2p && m.scope == LinkScope::kInterNode &&
        m.bandwidth_gbps < *options.min_inter_node_gbps) {
      reasons.push_back("under the required " + number(*options.min_inter_node_gbps) +
                        " GB/s (--min-inter-node-gbps)");
    }
    if (reasons.empty()) continue;
    std::string message = describe(m) + ": " + number(m.bandwidth_gbps) + " GB/s, " + reasons[0];
    for (size_t r = 1; r < reasons.size(); ++r) message += " and " + reasons[r];
    flags.push_back({i, message + ". " + hint(m)});
  }
  return flags;
}

// ---- Judgement of the environment -------------------------------------------------------------

namespace {

// The settings known to slow a USP run down, with what they cost and how to undo them.
const std::vector<EnvRule> kEnvRules = {
    {"NCCL_P2P_DISABLE", EnvMatch::kNonZero, nullptr, 1, RuleDevices::kAny, "NCCL_P2P_DISABLE=1",
     "GPUs of a node stop using NVLink/PCIe peer-to-peer and copy through host memory (xDiT issue #526: "
     "~20% slower end to end)",
     "unset NCCL_P2P_DISABLE; if it was set to get past a hang, fix the cause instead (IOMMU/ACS on the "
     "PCIe switches) or lower NCCL_P2P_LEVEL"},
    {"NCCL_P2P_LEVEL", EnvMatch::kEqualsIgnoreCase, "LOC", 1, RuleDevices::kAny, "NCCL_P2P_LEVEL=LOC",
     "peer-to-peer is never used, as with NCCL_P2P_DISABLE=1",
     "unset NCCL_P2P_LEVEL: NCCL picks it from the topology"},
    {"NCCL_SHM_DISABLE", EnvMatch::kNonZero, nullptr, 1, RuleDevices::kAny, "NCCL_SHM_DISABLE=1",
     "GPUs of a node without peer-to-peer fall back to the network instead of shared memory",
     "unset NCCL_SHM_DISABLE; in a container give it shared memory instead (docker --ipc host or "
     "--shm-size)"},
    {"NCCL_IB_DISABLE", EnvMatch::kNonZero, nullptr, 2, RuleDevices::kAny, "NCCL_IB_DISABLE=1",
     "traffic between nodes goes over TCP sockets instead of InfiniBand/RoCE RDMA",
     "unset NCCL_IB_DISABLE; check that `ibv_devices` lists the HCAs on every node and name them in "
     "NCCL_IB_HCA"},
    {"NCCL_NET", EnvMatch::kEqualsIgnoreCase, "Socket", 2, RuleDevices::kAny, "NCCL_NET=Socket",
     "NCCL is forced onto TCP sockets between nodes even where RDMA is available",
     "unset NCCL_NET (or set NCCL_NET=IB) and check NCCL_IB_HCA / ibv_devices"},
    {"NCCL_SOCKET_IFNAME", EnvMatch::kUnset, nullptr, 2, RuleDevices::kNccl, "NCCL_SOCKET_IFNAME unset",
     "NCCL picks the interface for bootstrap and socket traffic itself and may choose a slow or unroutable "
     "one (docker0, a management NIC)",
     "set NCCL_SOCKET_IFNAME (and GLOO_SOCKET_IFNAME) to the node-to-node interface from `ip link`, and "
     "pass it to every rank (mpirun -x NCCL_SOCKET_IFNAME)"},
    {"OMPI_MCA_btl", EnvMatch::kBtlWithoutSharedMemory, nullptr, 1, RuleDevices::kCpu,
     "OMPI_MCA_btl without vader/sm",
     "Open MPI's shared-memory transport is left out, so ranks on the same node talk over TCP loopback",
     "include it: --mca btl self,vader,tcp (Open MPI 4) or self,sm,tcp (Open MPI 5), or drop ^vader / ^sm"},
};

bool equals_ignore_case(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

// Open MPI reads "a,b" as "only these components" and "^a,b" as "all but these".
bool btl_without_shared_memory(const std::string& value) {
  const bool exclude = !value.empty() && value[0] == '^';
  bool names_shm = false;
  size_t start = exclude ? 1 : 0;
  while (start <= value.size()) {
    size_t comma = value.find(',', start);
    if (comma == std::string::npos) comma = value.size();
    const std::string item = trim(value.substr(start, comma - start));
    if (item == "vader" || item == "sm") names_shm = true;
    start = comma + 1;
  }
  return exclude ? names_shm : !names_shm;
}

bool matches(const EnvRule& rule, const std::optional<std::string>& value) {
  const bool set = value && !trim(*value).empty();
  switch (rule.match) {
    // NCCL reads its switches with strtol: "1" and "2" disable, "0" and "true" do not.
    case EnvMatch::kNonZero:
      return set && std::strtoll(value->c_str(), nullptr, 0) != 0;
    case EnvMatch::kUnset:
      return !set;
    case EnvMatch::kEqualsIgnoreCase:
      return set && equals_ignore_case(trim(*value), rule.argument);
    case EnvMatch::kBtlWithoutSharedMemory:
      return set && btl_without_shared_memory(trim(*value));
  }
  return false;
}

bool concerns(RuleDevices devices, DeviceKind device, bool uses_nccl) {
  if (devices == RuleDevices::kAny) return true;
  if (devices == RuleDevices::kNccl) return uses_nccl;
  return (devices == RuleDevices::kCpu) == (device == DeviceKind::kCpu);
}

}  // namespace

const std::vector<EnvRule>& env_rules() {
  return kEnvRules;
}

std::string env_rule_message(const EnvRule& rule) {
  return std::string(rule.condition) + ": " + rule.problem + ". Fix: " + rule.fix;
}

std::vector<EnvWarning> check_environment(const EnvLookup& env, int num_nodes, DeviceKind device,
                                          bool uses_nccl) {
  std::vector<EnvWarning> warnings;
  for (size_t i = 0; i < kEnvRules.size(); ++i) {
    const EnvRule& rule = kEnvRules[i];
    if (num_nodes < rule.min_nodes || !concerns(rule.devices, device, uses_nccl)) continue;
    auto value = env(rule.variable);
    if (!matches(rule, value)) continue;
    warnings.push_back({i, rule.variable, value, env_rule_message(rule)});
  }
  return warnings;
}

std::vector<EnvFinding> gather_env_findings(Communicator& world, const std::vector<EnvWarning>& local) {
  const int64_t rules = static_cast<int64_t>(kEnvRules.size());
  auto mine = at::zeros({rules}, at::kByte);
  for (const auto& w : local) mine.data_ptr<uint8_t>()[w.rule] = 1;
  auto all = at::zeros({rules * world.size()}, at::kByte);
  std::vector<int64_t> counts(world.size(), rules);
  world.host_all_gather_v(mine, all, counts);
  const uint8_t* fired = all.data_ptr<uint8_t>();
  std::vector<EnvFinding> findings;
  for (int64_t rule = 0; rule < rules; ++rule) {
    EnvFinding finding{static_cast<size_t>(rule), {}};
    for (int r = 0; r < world.size(); ++r) {
      if (fired[r * rules + rule]) finding.ranks.push_back(r);
    }
    if (!finding.ranks.empty()) findings.push_back(std::move(finding));
  }
  return findings;
}

}  // namespace uspdit::parallel
