// `uspdit plan`: the catalogue, the traffic split on meshes small enough to count by hand, the
// recommendation on the seed's examples, and the binary's JSON and error exits.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include "attention/usp_problem.h"
#include "core/error.h"
#include "parallel/mesh.h"
#include "parallel/plan.h"
#include "pipeline/family_registry.h"

namespace uspdit::parallel {
namespace {

PlanRequest for_model(const std::string& name, int gpus_per_node, int nodes, bool cfg = false) {
  const ModelSpec* spec = pipeline::find_plan_model(name);
  EXPECT_NE(spec, nullptr) << name;
  PlanRequest q;
  q.model = spec->name;
  q.heads = spec->heads;
  q.head_dim = spec->head_dim;
  q.layers = spec->layers;
  q.seq_len = spec->default_seq_len;
  q.gpus_per_node = gpus_per_node;
  q.nodes = nodes;
  q.cfg = cfg;
  q.output_bytes =
      4.0 * 64 * static_cast<double>(q.seq_len);  // Wan's and HunyuanVideo's 1x2x2 x 16 per token
  return q;
}

ParallelDegrees recommended(const std::string& model, int gpus_per_node, int nodes, bool cfg = false) {
  return make_plan(for_model(model, gpus_per_node, nodes, cfg)).best().degrees;
}

// One byte per element, head_dim 1: every count below is an integer that can be checked by hand.
PlanRequest tiny(int heads, int gpus_per_node, int nodes, int64_t seq_len) {
  PlanRequest q;
  q.heads = heads;
  q.head_dim = 1;
  q.seq_len = seq_len;
  q.dtype_bytes = 1;
  q.gpus_per_node = gpus_per_node;
  q.nodes = nodes;
  return q;
}

TEST(Plan, CatalogueAndAliases) {
  const ModelSpec* hunyuan = pipeline::find_plan_model("HunyuanVideo");
  ASSERT_NE(hunyuan, nullptr);
  EXPECT_EQ(hunyuan->heads, 24);
  EXPECT_EQ(hunyuan->head_dim, 128);
  EXPECT_EQ(hunyuan->layers, 60);
  EXPECT_EQ(hunyuan->default_seq_len, 118800);  // 33 latent frames × 45 × 80 patches
  EXPECT_EQ(pipeline::find_plan_model("hunyuan_video"), hunyuan);
  EXPECT_EQ(pipeline::find_plan_model("wan2.1-14b")->heads, 40);
  EXPECT_EQ(pipeline::find_plan_model("Wan-AI/Wan2.1-T2V-14B")->default_seq_len, 75600);
  EXPECT_EQ(pipeline::find_plan_model("wan-1.3b")->heads, 12);
  EXPECT_EQ(pipeline::find_plan_model("wan-1.3b")->default_seq_len, 32760);
  EXPECT_EQ(pipeline::find_plan_model("nope"), nullptr);
  EXPECT_EQ(pipeline::known_plan_model_names(), "hunyuanvideo, wan2.1-t2v-14b, wan2.1-t2v-1.3b");
  EXPECT_EQ(dtype_bytes("bf16"), 2);
  EXPECT_EQ(dtype_bytes("fp32"), 4);
  EXPECT_THROW(dtype_bytes("int3"), UsageError);
}

TEST(Plan, SeedExamples) {
  EXPECT_EQ(recommended("hunyuanvideo", 8, 3), (ParallelDegrees{24, 1, 1}));
  EXPECT_EQ(recommended("hunyuanvideo", 8, 2), (ParallelDegrees{8, 2, 1}));
  EXPECT_EQ(recommended("wan2.1-t2v-14b", 8, 5), (ParallelDegrees{40, 1, 1}));
  EXPECT_EQ(recommended("wan2.1-t2v-1.3b", 8, 1), (ParallelDegrees{4, 2, 1}));
  EXPECT_EQ(recommended("hunyuanvideo", 8, 1), (ParallelDegrees{8, 1, 1}));
  EXPECT_EQ(recommended("wan2.1-t2v-14b", 8, 4), (ParallelDegrees{8, 4, 1}));  // 40 ∤ 32: Ulysses in node
}

TEST(Plan, CfgParallelWhenTheHeadsFitTheHalves) {
  // 12 heads on 8 GPUs: with guidance, each branch gets 4 GPUs and pure Ulysses 4.
  EXPECT_EQ(recommended("wan2.1-t2v-1.3b", 8, 1, true), (ParallelDegrees{4, 1, 2}));
  // 24 heads on 2×8: each branch on its own node; only the predictions cross, once a step.
  auto plan = make_plan(for_model("hunyuanvideo", 8, 2, true));
  EXPECT_EQ(plan.best().degrees, (ParallelDegrees{8, 1, 2}));
  EXPECT_EQ(plan.best().per_call.inter_node, 0.0);
  EXPECT_DOUBLE_EQ(plan.best().per_step.inter_node, plan.best().cfg_exchange_bytes_per_step);
  // 24 heads on 3×8 with guidance: Ulysses 12 per branch sends as much attention traffic between
  // nodes as the seed's Ulysses 24 over both branches at batch 2, but its halves straddle node 1,
  // so the rank sending the most also swaps its prediction across nodes: Ulysses 24 wins.
  plan = make_plan(for_model("hunyuanvideo", 8, 3, true));
  EXPECT_EQ(plan.best().degrees, (ParallelDegrees{24, 1, 1}));
  const PlanEntry* u12 = nullptr;
  for (const auto& e : plan.configurations)
    if (e.degrees == ParallelDegrees{12, 1, 2}) u12 = &e;
  ASSERT_NE(u12, nullptr);
  EXPECT_DOUBLE_EQ(plan.best().per_call.inter_node, u12->per_call.inter_node);
  EXPECT_LT(plan.best().per_step.inter_node, u12->per_step.inter_node);
}

TEST(Plan, ListsExactlyTheValidConfigurations) {
  for (int heads : {7, 12, 24, 40}) {
    for (int gpn : {1, 2, 4, 6, 8}) {
      for (int nodes : {1, 2, 3, 5}) {
        for (bool cfg : {false, true}) {
          PlanRequest q = tiny(heads, gpn, nodes, 1 << 20);
          q.cfg = cfg;
          const Plan plan = make_plan(q);
          const auto expected = valid_degrees(q.world(), heads, cfg);
          ASSERT_EQ(plan.configurations.size(), expected.size());
          for (size_t i = 0; i < expected.size(); ++i) {
            const auto& d = plan.configurations[i].degrees;
            EXPECT_EQ(d, expected[i]);
            EXPECT_NO_THROW(validate_degrees(d, q.world(), heads, "test", cfg));
          }
          // The marked row is never beaten on inter-node bytes, nor on total bytes at equal inter.
          const PlanEntry& best = plan.best();
          for (const auto& e : plan.configurations) {
            EXPECT_LE(best.per_step.inter_node, e.per_step.inter_node * (1 + 1e-12));
            if (e.per_step.inter_node == best.per_step.inter_node) {
              EXPECT_LE(best.per_step.total(), e.per_step.total() * (1 + 1e-12));
            }
          }
        }
      }
    }
  }
}

TEST(Plan, IntraInterSplitByHand) {
  // 4 heads, 2 nodes × 2 GPUs, 8 tokens: each rank holds 2 tokens × 4 heads = 8 bytes.
  const Plan plan = make_plan(tiny(4, 2, 2, 8));
  ASSERT_EQ(plan.configurations.size(), 3u);
  // U4: sends 3/4 × 4 × 8 = 24 bytes, 8 to each peer; one peer is on its node, two are not.
  const PlanEntry& u4 = plan.configurations[0];
  EXPECT_EQ(u4.degrees, (ParallelDegrees{4, 1, 1}));
  EXPECT_DOUBLE_EQ(u4.per_call.intra_node, 8);
  EXPECT_DOUBLE_EQ(u4.per_call.inter_node, 16);
  // U2 × R2: the all-to-all (16) stays in the node; the ring (2 × 1 × 8 = 16) goes 0 → 2, across.
  const PlanEntry& u2 = plan.configurations[1];
  EXPECT_EQ(u2.degrees, (ParallelDegrees{2, 2, 1}));
  EXPECT_DOUBLE_EQ(u2.ulysses_bytes_per_call, 16);
  EXPECT_DOUBLE_EQ(u2.ring_bytes_per_call, 16);
  EXPECT_DOUBLE_EQ(u2.per_call.intra_node, 16);
  EXPECT_DOUBLE_EQ(u2.per_call.inter_node, 16);
  // R4: 2 × 3 × 8 = 48 bytes to the next rank; rank 1 → 2 crosses nodes.
  const PlanEntry& r4 = plan.configurations[2];
  EXPECT_DOUBLE_EQ(r4.per_call.intra_node, 0);
  EXPECT_DOUBLE_EQ(r4.per_call.inter_node, 48);
  // U4 and U2×R2 tie on inter-node bytes; U4 sends less in total.
  EXPECT_EQ(plan.best().degrees, (ParallelDegrees{4, 1, 1}));
}

TEST(Plan, UlyssesGroupStraddlingNodes) {
  // 6 heads, 3 nodes × 4 GPUs, U6 × R2: groups [0,6) and [6,12) straddle node boundaries.
  // Shard = 1 token × 6 heads = 6 bytes; all-to-all 4 × 5/6 × 6 = 20 (4 per peer), ring 12.
  // Rank 6 (node 1, with 7) has 1 peer on its node and 4 elsewhere, and its ring peer is rank 0.
  const Plan plan = make_plan(tiny(6, 4, 3, 12));
  const PlanEntry* u6 = nullptr;
  for (const auto& e : plan.configurations) {
    if (e.degrees == ParallelDegrees{6, 2, 1}) u6 = &e;
  }
  ASSERT_NE(u6, nullptr);
  EXPECT_DOUBLE_EQ(u6->per_call.inter_node, 16 + 12);
  EXPECT_DOUBLE_EQ(u6->per_call.intra_node, 4);
}

TEST(Plan, PerStepScalesByLayersAndCfgBatch) {
  PlanRequest q = tiny(4, 2, 2, 8);
  q.layers = 10;
  q.dtype_bytes = 2;
  const PlanEntry e = estimate_traffic(q, {2, 2, 1});
  EXPECT_DOUBLE_EQ(e.per_step.total(), 10 * e.per_call.total());
  EXPECT_DOUBLE_EQ(e.per_call.total(), 2 * (16 + 16));
  q.cfg = true;  // both branches through every rank: batch 2
  EXPECT_DOUBLE_EQ(estimate_traffic(q, {2, 2, 1}).per_call.total(), 2 * e.per_call.total());
  EXPECT_DOUBLE_EQ(estimate_traffic(q, {2, 1, 2}).ring_bytes_per_call, 0);
}

// The MPI bytes per rank per step measured on 3 simulated nodes (bench/cluster.md, section 2):
// the tiny Wan fixture, 24 video tokens, 2 heads x 12, fp32, 2 layers, guided; its prediction is
// 16 x 2 x 6 x 8 fp32 = 6144 B.
TEST(Plan, PerStepCountsThePredictionGatherAndTheCfgExchange) {
  PlanRequest q;
  q.heads = 2;
  q.head_dim = 12;
  q.layers = 2;
  q.seq_len = 24;
  q.dtype_bytes = 4;
  q.gpus_per_node = 2;
  q.nodes = 3;
  q.cfg = true;
  q.output_bytes = 6144;
  // Ring 3 x Ulysses 2, CFG in the batch: attention at batch 2 (9216 B) + both branches'
  // prediction all-gathered over the 6 ranks (2 x 6144 x 5/6 = 10240 B). Measured: 19456 B.
  const PlanEntry ring = estimate_traffic(q, {2, 3, 1});
  EXPECT_DOUBLE_EQ(ring.gather_bytes_per_step, 10240);
  EXPECT_DOUBLE_EQ(ring.cfg_exchange_bytes_per_step, 0);
  EXPECT_DOUBLE_EQ(ring.per_step.total(), 19456);
  // The gather reaches 4 of a rank's 5 peers on other nodes; the ring hop to the next node.
  EXPECT_DOUBLE_EQ(ring.per_step.inter_node, 2 * ring.ring_bytes_per_call + 10240 * 4 / 5);
  // CFG 2 x Ulysses 2 on 2 nodes: attention 4608 B + the gather inside the node (3072 B) + the
  // prediction to the other half (6144 B), the only bytes that leave the node. Measured: 13824 B.
  q.nodes = 2;
  const PlanEntry cfg = estimate_traffic(q, {2, 1, 2});
  EXPECT_DOUBLE_EQ(cfg.gather_bytes_per_step, 3072);
  EXPECT_DOUBLE_EQ(cfg.cfg_exchange_bytes_per_step, 6144);
  EXPECT_DOUBLE_EQ(cfg.per_step.total(), 13824);
  EXPECT_DOUBLE_EQ(cfg.per_step.inter_node, 6144);
  EXPECT_DOUBLE_EQ(cfg.per_call.inter_node, 0);
  // No prediction size given: attention only, as before.
  q.output_bytes = 0;
  EXPECT_DOUBLE_EQ(estimate_traffic(q, {2, 1, 2}).per_step.total(), 4608);
}

TEST(Plan, MatchesTheAttentionTrafficFormula) {
  const PlanRequest q = for_model("hunyuanvideo", 8, 2);
  for (const auto& d : valid_degrees(16, 24, false)) {
    const auto f = attention::traffic_formula(1, q.seq_len, q.heads, q.head_dim, d.ulysses, d.ring);
    const PlanEntry e = estimate_traffic(q, d);
    EXPECT_DOUBLE_EQ(e.ulysses_bytes_per_call, f.ulysses_elements * 2);
    EXPECT_DOUBLE_EQ(e.ring_bytes_per_call, f.ring_elements * 2);
  }
}

TEST(Plan, RejectsImpossibleRequests) {
  EXPECT_THROW(make_plan(tiny(24, 8, 2, 4)), UsageError);  // 4 tokens on 16 ranks
  EXPECT_THROW(make_plan(tiny(24, 0, 2, 1000)), UsageError);
  EXPECT_THROW(make_plan(tiny(0, 8, 1, 1000)), UsageError);
  try {
    make_plan(tiny(24, 8, 2, 4));
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("no valid configuration"), std::string::npos) << e.what();
  }
}

struct CliRun {
  int status = -1;
  std::string output;  // stdout and stderr
};

CliRun run_uspdit(const std::string& flags) {
  CliRun run;
  const std::string command = std::string(USPDIT_BINARY) + " plan " + flags + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return run;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) run.output.append(buffer.data(), n);
  const int raw = pclose(pipe);
  run.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return run;
}

// The integer after `"key": ` at or after `from`; -1 when absent.
long json_int(const std::string& text, const std::string& key, size_t from = 0) {
  const std::string needle = "\"" + key + "\": ";
  const size_t at = text.find(needle, from);
  if (at == std::string::npos) return -1;
  return std::stol(text.substr(at + needle.size()));
}

TEST(PlanBinary, JsonRecommendsUlysses24OnThreeNodes) {
  const CliRun run = run_uspdit("--model hunyuanvideo --gpus-per-node 8 --nodes 3 --json");
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_EQ(run.output.front(), '{');
  const size_t rec = run.output.find("\"recommended\": {");
  ASSERT_NE(rec, std::string::npos) << run.output;
  EXPECT_EQ(json_int(run.output, "ulysses_degree", rec), 24);
  EXPECT_EQ(json_int(run.output, "ring_degree", rec), 1);
  EXPECT_EQ(json_int(run.output, "cfg_degree", rec), 1);
  const size_t configs = run.output.find("\"configurations\": [");
  ASSERT_NE(configs, std::string::npos);
  size_t rows = 0;
  for (size_t at = configs; (at = run.output.find("\"ulysses_degree\"", at + 1)) != std::string::npos;)
    ++rows;
  EXPECT_EQ(rows, valid_degrees(24, 24, false).size());
  EXPECT_EQ(json_int(run.output, "world_size"), 24);
  EXPECT_EQ(json_int(run.output, "seq_len"), 118800);
}

TEST(PlanBinary, HumanTableEndsWithTheFlags) {
  // Underscore spellings are the same flags.
  const CliRun run = run_uspdit("--model hunyuanvideo --gpus_per_node 8 --nodes 2");
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("\nrecommended: --ulysses-degree 8 --ring-degree 2  # "), std::string::npos)
      << run.output;
  const CliRun cfg = run_uspdit("--model wan-1.3b --cfg");
  EXPECT_NE(cfg.output.find("recommended: --ulysses-degree 4 --ring-degree 1 --use_cfg_parallel"),
            std::string::npos)
      << cfg.output;
}

TEST(PlanBinary, BadInputExitsWithUsageError) {
  struct Case {
    const char* flags;
    const char* message;
  };
  const Case cases[] = {
      {"--model nope", "unknown --model 'nope': known models are hunyuanvideo"},
      {"--nodes 2", "give --model NAME"},
      {"--model hunyuanvideo --gpus-per-node 0", "--gpus-per-node must be"},
      {"--model hunyuanvideo --heads 8", "--heads and --head-dim are fixed by --model"},
      {"--heads 24", "--heads needs --seq-len"},
      {"--heads 24 --seq-len 4 --nodes 2", "no valid configuration"},
      {"--model hunyuanvideo --dtype int3", "unknown --dtype"},
      {"--model hunyuanvideo --nodse 2", "unknown flag --nodse"},
  };
  for (const auto& c : cases) {
    const CliRun run = run_uspdit(c.flags);
    EXPECT_EQ(run.status, kUsageExitCode) << c.flags << "\n" << run.output;
    EXPECT_NE(run.output.find(c.message), std::string::npos) << c.flags << "\n" << run.output;
  }
}

TEST(PlanBinary, HelpStatesTheDefaults) {
  const CliRun run = run_uspdit("--help");
  EXPECT_EQ(run.status, 0);
  EXPECT_NE(run.output.find("--seq-len 118800 (1280x720, 129 frames)"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("--seq-len 32760 (832x480, 81 frames)"), std::string::npos) << run.output;
}

}  // namespace
}  // namespace uspdit::parallel
