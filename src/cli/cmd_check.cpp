// `uspdit check`: measure point-to-point latency/bandwidth between every pair of nodes and inside
// every node, plus all-to-all bandwidth per node and over the world; flag links much slower than
// their peers and environment settings known to slow a run down (parallel/link_check.h).
//
//   mpirun -np 16 build/uspdit check [--bytes 16777216] [--iters 5] [--min-inter-node-gbps 10] [--json]
//                                    [--slow-fraction 0.5] [--nodes-share-cpus]
//
// Exit codes, the same on every rank, so a job script can gate a run on it:
//   0  nothing flagged
//   3  a link was flagged slow or an environment setting was warned about (details on stdout)
//   2  bad flags
//   1  the measurement itself failed
#include <ATen/ATen.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/error.h"
#include "parallel/link_check.h"
#include "parallel/runtime.h"

namespace uspdit::cli {
namespace {

constexpr int kFlaggedExitCode = 3;

// Host name of every node (its first rank's), so a flagged "node 1" is a machine one can log into.
std::vector<std::string> node_hostnames(parallel::Communicator& world, const parallel::NodeInfo& nodes) {
  constexpr int64_t kLen = 64;
  auto mine = at::zeros({kLen}, at::kByte);
  std::copy_n(nodes.hostname.begin(), std::min<size_t>(nodes.hostname.size(), kLen - 1),
              reinterpret_cast<char*>(mine.data_ptr<uint8_t>()));
  auto all = at::zeros({kLen * world.size()}, at::kByte);
  std::vector<int64_t> counts(world.size(), kLen);
  world.host_all_gather_v(mine, all, counts);
  std::vector<std::string> names(nodes.num_nodes);
  for (int r = world.size() - 1; r >= 0; --r) {
    names[nodes.node_of_rank[r]] = reinterpret_cast<const char*>(all.data_ptr<uint8_t>() + r * kLen);
  }
  return names;
}

// Pretend every `per_node` consecutive ranks are a node: the only way to run the inter-node
// schedule (pairs, world all-to-all, sub-communicators) on a single machine.
parallel::NodeInfo simulated_nodes(const parallel::NodeInfo& real, int rank, int world_size,
                                   int64_t per_node) {
  parallel::NodeInfo nodes = real;
  nodes.node_of_rank.resize(world_size);
  for (int r = 0; r < world_size; ++r) nodes.node_of_rank[r] = static_cast<int>(r / per_node);
  nodes.num_nodes = nodes.node_of_rank.back() + 1;
  nodes.node_rank = nodes.node_of_rank[rank];
  return nodes;
}

std::string ranks_cell(const parallel::LinkMeasurement& m) {
  if (m.kind == parallel::LinkKind::kP2p) return std::to_string(m.rank_a) + "<->" + std::to_string(m.rank_b);
  return "all(" + std::to_string(m.group_size) + ")";
}

std::string nodes_cell(const parallel::LinkMeasurement& m) {
  if (m.node_a == m.node_b) return std::to_string(m.node_a);
  return std::to_string(m.node_a) + (m.kind == parallel::LinkKind::kP2p ? "<->" : "-") +
         std::to_string(m.node_b);
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof(esc), "\\u%04x", c);
      out += esc;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

struct Report {
  int world_size = 1;
  std::string backend;
  parallel::LinkCheckOptions options;
  std::vector<std::string> hostnames;
  std::vector<parallel::LinkMeasurement> links;
  std::vector<parallel::LinkFlag> flags;
  std::vector<parallel::EnvFinding> env;
  std::optional<double> min_inter_node_gbps;
};

void print_table(const Report& r) {
  std::printf(
      "uspdit check: %d rank(s) on %zu node(s) over %s; bandwidth: %lld bytes x %d (fastest), "
      "latency: %lld bytes x %d\n",
      r.world_size, r.hostnames.size(), r.backend.c_str(), (long long)r.options.bandwidth_bytes,
      r.options.iters, (long long)r.options.latency_bytes, r.options.latency_iters);
  for (size_t n = 0; n < r.hostnames.size(); ++n) std::printf("node %zu: %s\n", n, r.hostnames[n].c_str());
  if (r.links.empty()) std::printf("nothing to measure: one rank has no links (launch with mpirun -np N)\n");
  // Inter-node links are shown apart: they are expected to be slower, and compared only with
  // each other.
  for (const auto scope : {parallel::LinkScope::kIntraNode, parallel::LinkScope::kInterNode}) {
    bool header = false;
    for (size_t i = 0; i < r.links.size(); ++i) {
      const auto& m = r.links[i];
      if (m.scope != scope) continue;
      if (!header) {
        std::printf("\n%s links:\n%-11s %-11s %-10s %-7s %11s %10s  %s\n",
                    scope == parallel::LinkScope::kIntraNode ? "intra-node" : "inter-node", "kind", "scope",
                    "ranks", "nodes", "latency_us", "GB/s", "flag");
        header = true;
      }
      const bool slow =
          std::any_of(r.flags.begin(), r.flags.end(), [&](const auto& f) { return f.measurement == i; });
      std::printf("%-11s %-11s %-10s %-7s %11.1f %10.3f%s\n", parallel::link_kind_name(m.kind),
                  parallel::link_scope_name(m.scope), ranks_cell(m).c_str(), nodes_cell(m).c_str(),
                  m.latency_us, m.bandwidth_gbps, slow ? "  SLOW" : "");
    }
  }
  if (r.hostnames.size() == 2 && !r.min_inter_node_gbps) {
    std::printf(
        "\nnote: with 2 nodes the one inter-node link has no peer to be compared with; pass "
        "--min-inter-node-gbps G (the rate the fabric should give) to judge it\n");
  }
  std::printf("\n%s\n", r.flags.empty() ? "links: nothing flagged" : "slow links:");
  for (const auto& f : r.flags) std::printf("  - %s\n", f.message.c_str());
  std::printf("%s\n", r.env.empty() ? "environment: nothing to warn about" : "environment warnings:");
  for (const auto& e : r.env) {
    const auto& rule = parallel::env_rules()[e.rule];
    std::printf("  - [ranks %s] %s\n", parallel::format_ranks(e.ranks).c_str(),
                parallel::env_rule_message(rule).c_str());
  }
  const size_t problems = r.flags.size() + r.env.size();
  if (problems == 0) {
    std::printf("result: OK (exit 0)\n");
  } else {
    std::printf("result: %zu problem(s) (exit %d)\n", problems, kFlaggedExitCode);
  }
}

void print_json(const Report& r, int status) {
  std::printf(
      "{\"world_size\": %d, \"backend\": %s, \"bandwidth_bytes\": %lld, \"iters\": %d, "
      "\"latency_bytes\": %lld, \"latency_iters\": %d,\n \"nodes\": [",
      r.world_size, json_string(r.backend).c_str(), (long long)r.options.bandwidth_bytes, r.options.iters,
      (long long)r.options.latency_bytes, r.options.latency_iters);
  for (size_t n = 0; n < r.hostnames.size(); ++n) {
    std::printf("%s%s", n ? ", " : "", json_string(r.hostnames[n]).c_str());
  }
  std::printf("],\n \"links\": [");
  for (size_t i = 0; i < r.links.size(); ++i) {
    const auto& m = r.links[i];
    const bool slow =
        std::any_of(r.flags.begin(), r.flags.end(), [&](const auto& f) { return f.measurement == i; });
    std::printf(
        "%s\n  {\"kind\": \"%s\", \"scope\": \"%s\", \"rank_a\": %d, \"rank_b\": %d, \"node_a\": %d, "
        "\"node_b\": %d, \"group_size\": %d, \"latency_us\": %.3f, \"bandwidth_gbps\": %.6f, "
        "\"flagged\": %s}",
        i ? "," : "", parallel::link_kind_name(m.kind), parallel::link_scope_name(m.scope), m.rank_a,
        m.rank_b, m.node_a, m.node_b, m.group_size, m.latency_us, m.bandwidth_gbps, slow ? "true" : "false");
  }
  std::printf("],\n \"flags\": [");
  for (size_t i = 0; i < r.flags.size(); ++i) {
    std::printf("%s\n  {\"link\": %zu, \"message\": %s}", i ? "," : "", r.flags[i].measurement,
                json_string(r.flags[i].message).c_str());
  }
  std::printf("],\n \"environment\": [");
  for (size_t i = 0; i < r.env.size(); ++i) {
    const auto& rule = parallel::env_rules()[r.env[i].rule];
    std::printf("%s\n  {\"variable\": %s, \"condition\": %s, \"ranks\": [", i ? "," : "",
                json_string(rule.variable).c_str(), json_string(rule.condition).c_str());
    for (size_t k = 0; k < r.env[i].ranks.size(); ++k) std::printf("%s%d", k ? ", " : "", r.env[i].ranks[k]);
    std::printf("], \"message\": %s}", json_string(parallel::env_rule_message(rule)).c_str());
  }
  std::printf("],\n \"status\": %d}\n", status);
}

}  // namespace

int run_check(Args& args) {
  Report report;
  report.options.bandwidth_bytes = args.get_int("bytes", report.options.bandwidth_bytes);
  const int64_t iters = args.get_int("iters", report.options.iters);
  const bool json = args.flag("json");
  parallel::SlowLinkOptions slow;
  if (args.has("min-inter-node-gbps")) slow.min_inter_node_gbps = args.get_double("min-inter-node-gbps", 0);
  slow.relative_fraction = args.get_double("slow-fraction", slow.relative_fraction);
  const int64_t simulate_per_node = args.get_int("simulate-ranks-per-node", 0);
  report.options.nodes_share_cpus = args.flag("nodes-share-cpus");
  const auto request = device_request(args);
  const auto comm = comm_backend(args);
  read_collective_timeout(args);
  args.finish();
  // MPI counts are ints; the all-to-all and the exchange buffers hold `bytes` each.
  require(report.options.bandwidth_bytes >= 1 && report.options.bandwidth_bytes <= INT_MAX,
          "--bytes must be between 1 and " + std::to_string(INT_MAX));
  require(iters >= 1 && iters <= 10000, "--iters must be between 1 and 10000");
  require(!slow.min_inter_node_gbps || *slow.min_inter_node_gbps > 0, "--min-inter-node-gbps must be > 0");
  require(slow.relative_fraction > 0 && slow.relative_fraction < 1,
          "--slow-fraction must be between 0 and 1 (exclusive), e.g. 0.5");
  require(simulate_per_node >= 0, "--simulate-ranks-per-node must be >= 1");
  report.options.iters = static_cast<int>(iters);

  // The links of the run's device: MPI between host buffers, NCCL between GPUs (--device).
  auto rt = parallel::Runtime::start(request, comm);
  const auto device = parallel::device_kind(rt->device());
  parallel::Communicator& world = rt->world();
  const parallel::NodeInfo nodes =
      simulate_per_node ? simulated_nodes(rt->nodes(), world.rank(), world.size(), simulate_per_node)
                        : rt->nodes();
  report.world_size = world.size();
  report.backend = world.backend();
  report.hostnames = node_hostnames(world, nodes);
  report.links = parallel::measure_links(world, nodes, report.options);
  report.flags = parallel::flag_slow_links(report.links, slow);
  report.min_inter_node_gbps = slow.min_inter_node_gbps;
  const auto local = parallel::check_environment(parallel::process_env(), nodes.num_nodes, device,
                                                 world.backend() == "nccl");
  report.env = parallel::gather_env_findings(world, local);

  // Every rank holds the same links and findings, hence returns the same code.
  const int status = report.flags.empty() && report.env.empty() ? 0 : kFlaggedExitCode;
  if (rt->rank() == 0) {
    if (json) {
      print_json(report, status);
    } else {
      print_table(report);
    }
    std::fflush(stdout);
  }
  return status;
}

}  // namespace uspdit::cli
