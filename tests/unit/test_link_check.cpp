// `uspdit check`: the plan of what to measure, the slow-link judgement on synthetic measurements,
// the environment rules, and one end-to-end run of the binary under mpirun.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "parallel/link_check.h"

namespace uspdit::parallel {
namespace {

LinkMeasurement p2p(LinkScope scope, int a, int b, int node_a, int node_b, double gbps) {
  LinkMeasurement m;
  m.kind = LinkKind::kP2p;
  m.scope = scope;
  m.rank_a = a;
  m.rank_b = b;
  m.node_a = node_a;
  m.node_b = node_b;
  m.latency_us = 5;
  m.bandwidth_gbps = gbps;
  return m;
}

LinkMeasurement node_all_to_all(int node, int first_rank, int ranks, double gbps) {
  LinkMeasurement m;
  m.kind = LinkKind::kAllToAll;
  m.scope = LinkScope::kIntraNode;
  m.rank_a = first_rank;
  m.rank_b = first_rank + ranks - 1;
  m.node_a = m.node_b = node;
  m.group_size = ranks;
  m.bandwidth_gbps = gbps;
  return m;
}

// 3 nodes x 2 ranks (node n holds ranks 2n, 2n+1): fast intra-node links, slower inter-node ones
// (as they should be), every group uniform up to noise.
std::vector<LinkMeasurement> healthy_three_nodes() {
  return {
      p2p(LinkScope::kIntraNode, 0, 1, 0, 0, 80.0),
      p2p(LinkScope::kIntraNode, 2, 3, 1, 1, 78.0),
      p2p(LinkScope::kIntraNode, 4, 5, 2, 2, 82.0),
      p2p(LinkScope::kInterNode, 0, 2, 0, 1, 20.0),
      p2p(LinkScope::kInterNode, 0, 4, 0, 2, 19.0),
      p2p(LinkScope::kInterNode, 2, 4, 1, 2, 21.0),
      node_all_to_all(0, 0, 2, 60.0),
      node_all_to_all(1, 2, 2, 61.0),
      node_all_to_all(2, 4, 2, 59.0),
  };
}

TEST(LinkFlag, HealthyThreeNodeSetIsClean) {
  EXPECT_TRUE(flag_slow_links(healthy_three_nodes()).empty());
}

TEST(LinkFlag, InterNodeSlowerThanIntraNodeIsNotAFlag) {
  // Inter-node at 1/8 of intra-node: expected, as long as the inter-node links agree.
  auto links = healthy_three_nodes();
  for (auto& m : links) {
    if (m.scope == LinkScope::kInterNode) m.bandwidth_gbps = 10.0;
  }
  EXPECT_TRUE(flag_slow_links(links).empty());
}

TEST(LinkFlag, InterNodePairAtATenthIsFlaggedNamedAndBlamesTcp) {
  auto links = healthy_three_nodes();
  links[4].bandwidth_gbps = 2.0;  // ranks 0 (node 0) <-> 4 (node 2), RoCE fallen back to TCP
  auto flags = flag_slow_links(links);
  ASSERT_EQ(flags.size(), 1u);
  EXPECT_EQ(flags[0].measurement, 4u);
  const std::string& msg = flags[0].message;
  EXPECT_NE(msg.find("ranks 0 (node 0) <-> 4 (node 2)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("TCP"), std::string::npos) << msg;
  EXPECT_NE(msg.find("NET/IB"), std::string::npos) << msg;
  EXPECT_NE(msg.find("NCCL_IB_HCA"), std::string::npos) << msg;
  EXPECT_NE(msg.find("median 20"), std::string::npos) << msg;
}

TEST(LinkFlag, IntraNodeOutlierIsFlaggedWithP2pHint) {
  // One 8-rank node: 7 neighbour pairs at ~50 GB/s, the pair 3<->4 at 10 (crosses sockets, say).
  std::vector<LinkMeasurement> links;
  for (int r = 0; r < 7; ++r) links.push_back(p2p(LinkScope::kIntraNode, r, r + 1, 0, 0, 50.0 + r));
  links[3].bandwidth_gbps = 10.0;
  auto flags = flag_slow_links(links);
  ASSERT_EQ(flags.size(), 1u);
  EXPECT_EQ(flags[0].measurement, 3u);
  EXPECT_NE(flags[0].message.find("ranks 3 <-> 4 on node 0"), std::string::npos) << flags[0].message;
  EXPECT_NE(flags[0].message.find("NCCL_P2P_DISABLE"), std::string::npos) << flags[0].message;
  EXPECT_EQ(flags[0].message.find("NET/IB"), std::string::npos) << "an intra-node link is not RDMA";
}

TEST(LinkFlag, JustAboveHalfTheMedianIsNotFlagged) {
  std::vector<LinkMeasurement> links = {p2p(LinkScope::kIntraNode, 0, 1, 0, 0, 40.0),
                                        p2p(LinkScope::kIntraNode, 1, 2, 0, 0, 40.0),
                                        p2p(LinkScope::kIntraNode, 2, 3, 0, 0, 20.5)};
  EXPECT_TRUE(flag_slow_links(links).empty());
  links[2].bandwidth_gbps = 19.5;
  EXPECT_EQ(flag_slow_links(links).size(), 1u);
}

TEST(LinkFlag, ALowerFractionToleratesMoreSpread) {
  // Healthy links 2.5x apart (CPU-bound links on busy shared cores) pass at 0.25, not at 0.5.
  std::vector<LinkMeasurement> links = {p2p(LinkScope::kIntraNode, 0, 1, 0, 0, 5.0),
                                        p2p(LinkScope::kIntraNode, 2, 3, 1, 1, 11.0),
                                        p2p(LinkScope::kIntraNode, 4, 5, 2, 2, 12.0)};
  EXPECT_EQ(flag_slow_links(links).size(), 1u);
  SlowLinkOptions tolerant;
  tolerant.relative_fraction = 0.25;
  EXPECT_TRUE(flag_slow_links(links, tolerant).empty());
  links[0].bandwidth_gbps = 1.0;
  EXPECT_EQ(flag_slow_links(links, tolerant).size(), 1u);
}

TEST(LinkFlag, GroupsTooSmallAreNotJudgedRelatively) {
  // Two nodes give one inter-node pair; two pairs cannot say which one is the outlier.
  std::vector<LinkMeasurement> links = {
      p2p(LinkScope::kInterNode, 0, 8, 0, 1, 20.0), p2p(LinkScope::kInterNode, 0, 16, 0, 2, 1.0),
      p2p(LinkScope::kIntraNode, 0, 1, 0, 0, 80.0), p2p(LinkScope::kIntraNode, 2, 3, 0, 0, 3.0)};
  EXPECT_TRUE(flag_slow_links(links).empty());
  SlowLinkOptions strict;
  strict.min_group_size = 2;
  EXPECT_EQ(flag_slow_links(links, strict).size(), 2u);
}

TEST(LinkFlag, AbsoluteFloorCatchesInterNodeLinksThatAreAllSlow) {
  // Every inter-node link on TCP: peers agree, so only the floor can tell.
  std::vector<LinkMeasurement> links = {
      p2p(LinkScope::kInterNode, 0, 2, 0, 1, 1.1), p2p(LinkScope::kInterNode, 0, 4, 0, 2, 1.0),
      p2p(LinkScope::kInterNode, 2, 4, 1, 2, 1.2), p2p(LinkScope::kIntraNode, 0, 1, 0, 0, 2.0)};
  EXPECT_TRUE(flag_slow_links(links).empty());
  SlowLinkOptions floor;
  floor.min_inter_node_gbps = 10.0;
  auto flags = flag_slow_links(links, floor);
  ASSERT_EQ(flags.size(), 3u) << "the floor applies to inter-node links only";
  for (size_t i = 0; i < flags.size(); ++i) {
    EXPECT_EQ(flags[i].measurement, i);
    EXPECT_NE(flags[i].message.find("--min-inter-node-gbps"), std::string::npos) << flags[i].message;
  }
  floor.min_inter_node_gbps = 1.05;
  flags = flag_slow_links(links, floor);
  ASSERT_EQ(flags.size(), 1u);
  EXPECT_EQ(flags[0].measurement, 1u);
}

// The case: 3 nodes, node 2's link limited to 400 Mbit/s. Its two links are 2 of the 3
// inter-node pairs, so the group median is their slow value; the node rule still names them.
TEST(LinkFlag, OneSlowNodeOfThreeIsNamedThoughItOwnsTheMedian) {
  auto links = healthy_three_nodes();
  links[3].bandwidth_gbps = 0.5;    // 0 <-> 2: node 0 - node 1
  links[4].bandwidth_gbps = 0.02;   // node 0 - node 2
  links[5].bandwidth_gbps = 0.021;  // node 1 - node 2
  auto flags = flag_slow_links(links);
  ASSERT_EQ(flags.size(), 2u);
  EXPECT_EQ(flags[0].measurement, 4u);
  EXPECT_EQ(flags[1].measurement, 5u);
  for (const auto& f : flags) {
    EXPECT_NE(f.message.find("node 2 is slow"), std::string::npos) << f.message;
    EXPECT_NE(f.message.find("against 0.5 GB/s between the other nodes"), std::string::npos) << f.message;
    EXPECT_NE(f.message.find("NET/IB"), std::string::npos) << f.message;
  }
  EXPECT_NE(flags[0].message.find("0.02 GB/s"), std::string::npos) << flags[0].message;
}

// 4 and 5 nodes: a slow node owns 3 of 6 (4 of 10) pairs; only its links are flagged, whichever
// node it is.
TEST(LinkFlag, OneSlowNodeOfFourOrFiveIsNamedWhereverItSits) {
  for (int nodes : {4, 5}) {
    for (int slow = 0; slow < nodes; ++slow) {
      std::vector<LinkMeasurement> links;
      for (int a = 0; a < nodes; ++a) {
        for (int b = a + 1; b < nodes; ++b) {
          const bool touches = a == slow || b == slow;
          links.push_back(p2p(LinkScope::kInterNode, 2 * a, 2 * b, a, b, touches ? 0.05 : 0.5 + 0.01 * a));
        }
      }
      auto flags = flag_slow_links(links);
      ASSERT_EQ(flags.size(), static_cast<size_t>(nodes - 1)) << nodes << " nodes, slow " << slow;
      for (const auto& f : flags) {
        const auto& m = links[f.measurement];
        EXPECT_TRUE(m.node_a == slow || m.node_b == slow) << f.message;
      }
    }
  }
}

// Noise as measured on 2 shared cores (one link at 0.36x the fastest) is no slow node; a single
// slow cable between two healthy nodes of four is one flag, not a node.
TEST(LinkFlag, NoisyLinksAreNoSlowNodeAndASlowCableIsOneFlag) {
  std::vector<LinkMeasurement> noisy = {p2p(LinkScope::kInterNode, 0, 2, 0, 1, 0.368),
                                        p2p(LinkScope::kInterNode, 0, 4, 0, 2, 0.238),
                                        p2p(LinkScope::kInterNode, 2, 4, 1, 2, 0.655)};
  EXPECT_TRUE(flag_slow_links(noisy).empty());
  std::vector<LinkMeasurement> four;
  for (int a = 0; a < 4; ++a) {
    for (int b = a + 1; b < 4; ++b)
      four.push_back(p2p(LinkScope::kInterNode, a, b, a, b, a == 0 && b == 1 ? 0.05 : 0.5));
  }
  auto flags = flag_slow_links(four);
  ASSERT_EQ(flags.size(), 1u);
  EXPECT_EQ(flags[0].measurement, 0u);
  EXPECT_EQ(flags[0].message.find("is slow"), std::string::npos)
      << "a cable, not a node: " << flags[0].message;
}

TEST(LinkFlag, SlowNodeAllToAllIsFlagged) {
  auto links = healthy_three_nodes();
  links[7].bandwidth_gbps = 6.0;  // node 1's all-to-all
  auto flags = flag_slow_links(links);
  ASSERT_EQ(flags.size(), 1u);
  EXPECT_EQ(flags[0].measurement, 7u);
  EXPECT_NE(flags[0].message.find("on node 1"), std::string::npos) << flags[0].message;
}

TEST(LinkPlan, NodesSharingCpusMeasureOneIntraNodePairPerRound) {
  auto plan = plan_link_check({0, 0, 1, 1, 2, 2}, 64, true);
  // (0,1), (2,3), (4,5) one after the other, then the 3 inter-node pairs.
  ASSERT_EQ(plan.p2p_rounds.size(), 6u);
  for (const auto& round : plan.p2p_rounds) EXPECT_EQ(round.size(), 1u);
  EXPECT_EQ(plan_link_check({0, 0, 1, 1, 2, 2}, 64).p2p_rounds.size(), 4u)
      << "by default pairs of nodes share";
}

TEST(LinkPlan, TwoNodesOfTwoRanks) {
  auto plan = plan_link_check({0, 0, 1, 1}, 64);
  // Intra pairs (0,1) and (2,3) share round 0; the one inter-node pair (0,2) has its own round.
  ASSERT_EQ(plan.p2p_rounds.size(), 2u);
  ASSERT_EQ(plan.p2p_rounds[0].size(), 2u);
  ASSERT_EQ(plan.p2p_rounds[1].size(), 1u);
  const auto& inter = plan.links[plan.p2p_rounds[1][0]];
  EXPECT_EQ(inter.scope, LinkScope::kInterNode);
  EXPECT_EQ(inter.ranks, (std::vector<int>{0, 2}));
  EXPECT_EQ(inter.node_a, 0);
  EXPECT_EQ(inter.node_b, 1);
  for (size_t index : plan.p2p_rounds[0]) EXPECT_EQ(plan.links[index].scope, LinkScope::kIntraNode);
  ASSERT_EQ(plan.node_all_to_all.size(), 2u);
  EXPECT_EQ(plan.links[plan.node_all_to_all[1]].ranks, (std::vector<int>{2, 3}));
  ASSERT_TRUE(plan.world_all_to_all.has_value());
  EXPECT_EQ(plan.links[*plan.world_all_to_all].ranks.size(), 4u);
}

TEST(LinkPlan, RoundsAreDisjointAndCoverAllPairsOfAnInterleavedLayout) {
  // Ranks placed round-robin over 3 nodes (mpirun --map-by node), 4 ranks each.
  std::vector<int> node_of_rank;
  for (int r = 0; r < 12; ++r) node_of_rank.push_back(r % 3);
  auto plan = plan_link_check(node_of_rank, 64);
  std::set<std::pair<int, int>> intra, inter;
  for (const auto& round : plan.p2p_rounds) {
    std::set<int> busy;
    for (size_t index : round) {
      const auto& link = plan.links[index];
      ASSERT_EQ(link.ranks.size(), 2u);
      EXPECT_TRUE(busy.insert(link.ranks[0]).second) << "rank in two pairs of one round";
      EXPECT_TRUE(busy.insert(link.ranks[1]).second) << "rank in two pairs of one round";
      const bool same_node = node_of_rank[link.ranks[0]] == node_of_rank[link.ranks[1]];
      EXPECT_EQ(same_node, link.scope == LinkScope::kIntraNode);
      (same_node ? intra : inter).insert({link.ranks[0], link.ranks[1]});
    }
  }
  // All C(4,2) pairs inside each node; between nodes, their first ranks 0, 1, 2.
  EXPECT_EQ(intra.size(), 3u * 6u);
  EXPECT_EQ(inter, (std::set<std::pair<int, int>>{{0, 1}, {0, 2}, {1, 2}}));
  ASSERT_TRUE(plan.world_all_to_all.has_value());
  EXPECT_EQ(plan.links[*plan.world_all_to_all].scope, LinkScope::kInterNode);
  EXPECT_EQ(plan.node_all_to_all.size(), 3u);
  EXPECT_EQ(plan.links[plan.node_all_to_all[1]].ranks, (std::vector<int>{1, 4, 7, 10}));
}

TEST(LinkPlan, BoundedSampleStillTouchesEveryRank) {
  auto plan = plan_link_check(std::vector<int>(16, 0), 20);
  std::set<std::pair<int, int>> pairs;
  std::set<int> ranks;
  for (const auto& link : plan.links) {
    if (link.kind != LinkKind::kP2p) continue;
    pairs.insert({link.ranks[0], link.ranks[1]});
    ranks.insert(link.ranks.begin(), link.ranks.end());
  }
  EXPECT_EQ(pairs.size(), 20u) << "no pair measured twice, and the bound is kept";
  EXPECT_EQ(ranks.size(), 16u);
  EXPECT_FALSE(plan.world_all_to_all.has_value()) << "one node: the node all-to-all is the world's";
}

TEST(LinkPlan, SingleRankHasNothingToMeasure) {
  auto plan = plan_link_check({0}, 64);
  EXPECT_TRUE(plan.links.empty());
  EXPECT_TRUE(plan.p2p_rounds.empty());
}

TEST(LinkFormat, RanksAsRanges) {
  EXPECT_EQ(format_ranks({0, 1, 2, 3, 6}), "0-3,6");
  EXPECT_EQ(format_ranks({5}), "5");
  EXPECT_EQ(format_ranks({4, 2, 3, 9, 10}), "2-4,9-10");
}

// ---- Environment ------------------------------------------------------------------------------

EnvLookup fake_env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::set<std::string> warned(const std::map<std::string, std::string>& vars, int nodes,
                             DeviceKind device = DeviceKind::kCuda) {
  std::set<std::string> out;
  // A CUDA run's tensors go over NCCL here; a CPU run's over MPI.
  for (const auto& w : check_environment(fake_env(vars), nodes, device, device == DeviceKind::kCuda)) {
    out.insert(w.variable);
  }
  return out;
}

const std::map<std::string, std::string> kGoodMultiNode = {{"NCCL_SOCKET_IFNAME", "ens51f1np1"}};

TEST(EnvCheck, CleanEnvironmentsWarnNothing) {
  EXPECT_TRUE(warned({}, 1).empty());
  EXPECT_TRUE(warned({}, 1, DeviceKind::kCpu).empty());
  EXPECT_TRUE(warned(kGoodMultiNode, 4).empty()) << "NCCL_DEBUG unset is fine";
  EXPECT_TRUE(
      warned({{"NCCL_SOCKET_IFNAME", "eth0"}, {"NCCL_DEBUG", "INFO"}, {"NCCL_P2P_DISABLE", "0"}}, 2).empty());
}

TEST(EnvCheck, P2pDisableIsWarnedWithTheCostAndFix) {
  auto warnings = check_environment(fake_env({{"NCCL_P2P_DISABLE", "1"}}), 1, DeviceKind::kCuda, true);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].variable, "NCCL_P2P_DISABLE");
  EXPECT_EQ(warnings[0].value, std::optional<std::string>("1"));
  EXPECT_NE(warnings[0].message.find("#526"), std::string::npos) << warnings[0].message;
  EXPECT_NE(warnings[0].message.find("unset NCCL_P2P_DISABLE"), std::string::npos) << warnings[0].message;
  // A CPU check is the pre-flight of the GPU job with the same environment: warned there too.
  EXPECT_EQ(warned({{"NCCL_P2P_DISABLE", "1"}}, 1, DeviceKind::kCpu),
            std::set<std::string>{"NCCL_P2P_DISABLE"});
}

TEST(EnvCheck, DisableSwitchesReadAsNcclReadsThem) {
  EXPECT_TRUE(warned({{"NCCL_P2P_DISABLE", "0"}}, 1).empty());
  EXPECT_TRUE(warned({{"NCCL_P2P_DISABLE", ""}}, 1).empty());
  EXPECT_TRUE(warned({{"NCCL_P2P_DISABLE", "true"}}, 1).empty()) << "NCCL's strtol reads 'true' as 0";
  EXPECT_EQ(warned({{"NCCL_SHM_DISABLE", "1"}}, 1), std::set<std::string>{"NCCL_SHM_DISABLE"});
  EXPECT_EQ(warned({{"NCCL_P2P_LEVEL", "loc"}}, 1), std::set<std::string>{"NCCL_P2P_LEVEL"});
  EXPECT_TRUE(warned({{"NCCL_P2P_LEVEL", "NVL"}}, 1).empty());
}

TEST(EnvCheck, SocketIfnameMissingMattersOnlyAcrossNodes) {
  EXPECT_EQ(warned({}, 2), std::set<std::string>{"NCCL_SOCKET_IFNAME"});
  EXPECT_TRUE(warned({}, 1).empty());
  EXPECT_TRUE(warned({{"NCCL_SOCKET_IFNAME", "ens51f1np1"}}, 2).empty());
}

TEST(EnvCheck, SocketIfnameMissingIsNoConcernOfJobsWithoutNccl) {
  // A CPU job over MPI across nodes, and a GPU job staged through host memory over MPI, use no NCCL.
  EXPECT_TRUE(warned({}, 3, DeviceKind::kCpu).empty());
  EXPECT_TRUE(check_environment(fake_env({}), 3, DeviceKind::kCuda, false).empty());
  EXPECT_EQ(check_environment(fake_env({}), 3, DeviceKind::kCuda, true).size(), 1u);
}

TEST(EnvCheck, TransportsForcedOntoTcpAcrossNodes) {
  auto vars = kGoodMultiNode;
  vars["NCCL_IB_DISABLE"] = "1";
  vars["NCCL_NET"] = "socket";
  EXPECT_EQ(warned(vars, 2), (std::set<std::string>{"NCCL_IB_DISABLE", "NCCL_NET"}));
  EXPECT_TRUE(warned(vars, 1).empty()) << "one node sends nothing over the network";
  vars["NCCL_NET"] = "IB";
  EXPECT_EQ(warned(vars, 3), std::set<std::string>{"NCCL_IB_DISABLE"});
}

TEST(EnvCheck, OpenMpiWithoutSharedMemoryOnCpuRuns) {
  for (const char* btl : {"^vader", "^sm", "self,tcp", "tcp", "^openib,vader"}) {
    EXPECT_EQ(warned({{"OMPI_MCA_btl", btl}}, 1, DeviceKind::kCpu), std::set<std::string>{"OMPI_MCA_btl"})
        << btl;
    EXPECT_TRUE(warned({{"OMPI_MCA_btl", btl}}, 1, DeviceKind::kCuda).empty())
        << "NCCL does not use MPI's BTLs";
  }
  for (const char* btl : {"self,vader,tcp", "self, sm ,tcp", "^openib", "^tcp"}) {
    EXPECT_TRUE(warned({{"OMPI_MCA_btl", btl}}, 1, DeviceKind::kCpu).empty()) << btl;
  }
  auto msg =
      check_environment(fake_env({{"OMPI_MCA_btl", "^vader"}}), 1, DeviceKind::kCpu, false).at(0).message;
  EXPECT_NE(msg.find("self,vader,tcp"), std::string::npos) << msg;
}

TEST(EnvCheck, EveryRuleIsComplete) {
  ASSERT_GE(env_rules().size(), 6u);
  for (const auto& rule : env_rules()) {
    EXPECT_TRUE(rule.variable && *rule.variable) << "rule without a variable";
    EXPECT_TRUE(rule.condition && *rule.condition) << rule.variable;
    EXPECT_TRUE(rule.problem && *rule.problem) << rule.variable;
    EXPECT_TRUE(rule.fix && *rule.fix) << rule.variable;
    EXPECT_TRUE(rule.match != EnvMatch::kEqualsIgnoreCase || rule.argument) << rule.variable;
    EXPECT_TRUE(rule.min_nodes == 1 || rule.min_nodes == 2) << rule.variable;
  }
}

// ---- End to end -------------------------------------------------------------------------------

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

CommandResult run_command(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return result;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.output.append(buffer, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

const std::string kMpirun =
    "timeout 120 env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 "
    "mpirun --oversubscribe --allow-run-as-root --bind-to none -np 2 ";

TEST(LinkCheckEndToEnd, TwoRanksUnderMpirunMeasureAnIntraNodeLink) {
  if (run_command("command -v mpirun").exit_code != 0) GTEST_SKIP() << "no mpirun";
  auto result = run_command(kMpirun + USPDIT_BINARY + " check --bytes 1048576 --iters 2");
  ASSERT_TRUE(result.exit_code == 0 || result.exit_code == 3) << "exit " << result.exit_code << "\n"
                                                              << result.output;
  bool found = false;
  std::istringstream lines(result.output);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream row(line);
    std::string kind, scope, ranks, nodes;
    double latency_us = -1, gbps = -1;
    if (!(row >> kind >> scope >> ranks >> nodes >> latency_us >> gbps)) continue;
    if (kind != "p2p" || scope != "intra-node") continue;
    found = true;
    EXPECT_EQ(ranks, "0<->1") << line;
    EXPECT_GT(latency_us, 0) << line;
    EXPECT_GT(gbps, 0) << line;
  }
  EXPECT_TRUE(found) << "no p2p intra-node row in:\n" << result.output;
  EXPECT_NE(result.output.find("all_to_all"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find(result.exit_code == 0 ? "result: OK" : "problem(s)"), std::string::npos)
      << result.output;
}

TEST(LinkCheckEndToEnd, JsonReportAndDisabledSharedMemoryWarning) {
  if (run_command("command -v mpirun").exit_code != 0) GTEST_SKIP() << "no mpirun";
  // --mca btl self,tcp reaches the ranks as OMPI_MCA_btl: the check must say shared memory is off.
  auto result =
      run_command(kMpirun + "--mca btl self,tcp " + USPDIT_BINARY + " check --bytes 65536 --iters 1 --json");
  ASSERT_EQ(result.exit_code, 3) << result.output;
  EXPECT_NE(result.output.find("\"variable\": \"OMPI_MCA_btl\""), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("\"ranks\": [0, 1]"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("\"kind\": \"p2p\", \"scope\": \"intra-node\", \"rank_a\": 0, \"rank_b\": 1"),
            std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("\"status\": 3}"), std::string::npos) << result.output;
}

TEST(LinkCheckEndToEnd, SimulatedNodesRunTheInterNodeSchedule) {
  if (run_command("command -v mpirun").exit_code != 0) GTEST_SKIP() << "no mpirun";
  // 4 ranks as 2 nodes of 2: node all-to-alls on sub-communicators, the inter-node pair of the
  // nodes' first ranks, the world all-to-all. A deadlock here would hit the timeout.
  const std::string mpirun4 = std::string(kMpirun).replace(kMpirun.find("-np 2"), 5, "-np 4");
  auto result =
      run_command(mpirun4 + USPDIT_BINARY + " check --bytes 65536 --iters 1 --simulate-ranks-per-node 2");
  ASSERT_TRUE(result.exit_code == 0 || result.exit_code == 3) << "exit " << result.exit_code << "\n"
                                                              << result.output;
  std::multiset<std::string> rows;
  std::istringstream lines(result.output);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream row(line);
    std::string kind, scope, ranks, nodes;
    double latency_us = -1, gbps = -1;
    if (!(row >> kind >> scope >> ranks >> nodes >> latency_us >> gbps)) continue;
    EXPECT_GT(gbps, 0) << line;
    rows.insert(kind + " " + scope + " " + ranks + " " + nodes);
  }
  EXPECT_EQ(rows, (std::multiset<std::string>{"p2p intra-node 0<->1 0", "p2p intra-node 2<->3 1",
                                              "p2p inter-node 0<->2 0<->1", "all_to_all intra-node all(2) 0",
                                              "all_to_all intra-node all(2) 1",
                                              "all_to_all inter-node all(4) 0-1"}))
      << result.output;
}

TEST(LinkCheckEndToEnd, BadFlagsExitWithUsageCode) {
  auto result = run_command(std::string("timeout 60 ") + USPDIT_BINARY + " check --bytes 0");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("--bytes"), std::string::npos) << result.output;
  result = run_command(std::string("timeout 60 ") + USPDIT_BINARY + " check --slow-fraction 1.5");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("--slow-fraction"), std::string::npos) << result.output;
  result = run_command(std::string("timeout 60 ") + USPDIT_BINARY + " check --bandwidth 5");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("unknown flag"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace uspdit::parallel
