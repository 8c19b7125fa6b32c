// Step caching (src/cache/): the skip patterns equal the reference implementations' decision
// logic replayed by tools/make_cache_golden.py (tests/data/cache/golden.json) — MagCache on the
// published ratios for Wan and HunyuanVideo, TeaCache and First-Block Cache on the tiny Wan
// fixture over 50 steps with both CFG branches — plus the flags, the model defaults, and what a
// reused row receives when the branches of one batch decide differently. HunyuanVideo's TeaCache and
// First-Block Cache goldens: test_step_cache_hunyuan.cpp.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "cache/cache_flags.h"
#include "cache/step_cache.h"
#include "core/args.h"
#include "core/error.h"
#include "io/json.h"
#include "parallel/mesh.h"
#include "parallel/self_communicator.h"
#include "pipeline/wan_sampling_choice.h"
#include "pipeline/wan_t2v.h"

namespace uspdit::cache {
namespace {

const std::string kData = std::string(USPDIT_SOURCE_DIR) + "/tests/data";

const io::Json& golden() {
  static const auto json = io::Json::parse_file(kData + "/cache/golden.json");
  return json;
}

const io::Json& golden_case(const std::string& kind, const std::string& name) {
  const auto* group = golden().find(kind);
  EXPECT_NE(group, nullptr) << kind;
  const auto* c = group->find(name);
  if (c == nullptr) throw std::runtime_error("golden.json has no " + kind + "/" + name);
  return *c;
}

// A block stack that records what it runs: each block adds (block + 1) · (row's branch + 1) to
// every element, so a result tells which blocks ran on which row.
struct FakeStack {
  std::vector<int> branch_of_row;
  int blocks = 3;
  int64_t rows_run = 0;
  CachedStack stack() {
    CachedStack s;
    s.num_blocks = blocks;
    s.run = [this](const at::Tensor& x, const std::vector<int64_t>& rows, int first, int last) {
      auto y = x.clone();
      for (size_t i = 0; i < rows.size(); ++i) {
        for (int b = first; b < last; ++b)
          y[static_cast<int64_t>(i)] += (b + 1) * (branch_of_row[static_cast<size_t>(rows[i])] + 1);
      }
      rows_run += static_cast<int64_t>(rows.size());
      return y;
    };
    s.indicator = [] { return at::ones({1, 4}); };
    return s;
  }
};

// Drives a StepCache through `steps` steps with every branch in one batch; returns the record.
CacheRecord drive(const CacheConfig& config, int steps, int branches) {
  parallel::SelfCommunicator self;
  StepCache cache(config, steps, branches);
  FakeStack fake;
  for (int b = 0; b < branches; ++b) fake.branch_of_row.push_back(b);
  auto x = at::zeros({branches, 5, 4});
  for (int i = 0; i < steps; ++i) {
    cache.begin_forward(i, fake.branch_of_row);
    x = cache.run(x, fake.stack(), self);
  }
  return cache.record();
}

CacheFlags magcache_flags(double e, int k) {
  CacheFlags f;
  f.method = CacheMethod::magcache;
  f.threshold = e;
  f.max_skips = k;
  return f;
}

TEST(StepCacheGolden, MagCacheWanEqualsTheReferenceLoop) {
  struct Case {
    const char* name;
    const char* task;
    double e;
    int k;
    int steps;
  };
  for (const auto& c :
       {Case{"wan_1.3B_E0.12_K4", "t2v-1.3B", 0.12, 4, 50}, Case{"wan_14B_E0.24_K6", "t2v-14B", 0.24, 6, 50},
        Case{"wan_1.3B_E0.06_K3", "t2v-1.3B", 0.06, 3, 50}, Case{"wan_14B_E0.06_K3", "t2v-14B", 0.06, 3, 50},
        Case{"wan_1.3B_E0.12_K4_20steps", "t2v-1.3B", 0.12, 4, 20}}) {
    SCOPED_TRACE(c.name);
    const auto record = drive(wan_cache_config(magcache_flags(c.e, c.k), c.task, c.steps), c.steps, 2);
    const auto& g = golden_case("magcache", c.name);
    EXPECT_EQ(record.pattern[0], g.find("cond")->as_string());
    EXPECT_EQ(record.pattern[1], g.find("uncond")->as_string());
  }
  // The README defaults, counted independently (shared/reference/caching.md): 58 and 64 of 100.
  CacheFlags defaults;
  defaults.method = CacheMethod::magcache;
  EXPECT_EQ(drive(wan_cache_config(defaults, "t2v-1.3B", 50), 50, 2).reused(), 58);
  EXPECT_EQ(drive(wan_cache_config(defaults, "t2v-14B", 50), 50, 2).reused(), 64);
}

TEST(StepCacheGolden, MagCacheHunyuanVideoEqualsTheReferenceLoop) {
  struct Case {
    const char* name;
    int64_t height;
    double e;
    int k;
    int steps;
  };
  for (const auto& c :
       {Case{"hunyuan_720p_E0.24_K6", 720, 0.24, 6, 50}, Case{"hunyuan_720p_E0.12_K4", 720, 0.12, 4, 50},
        Case{"hunyuan_544p_E0.24_K6", 544, 0.24, 6, 50},
        Case{"hunyuan_720p_E0.24_K6_30steps", 720, 0.24, 6, 30}}) {
    SCOPED_TRACE(c.name);
    // Two branches (true CFG): each keeps its own state on the one published schedule.
    const auto record = drive(hunyuan_cache_config(magcache_flags(c.e, c.k), c.height, c.steps), c.steps, 2);
    EXPECT_EQ(record.pattern[0], golden_case("magcache", c.name).find("cond")->as_string());
    EXPECT_EQ(record.pattern[1], record.pattern[0]);
  }
  CacheFlags defaults;
  defaults.method = CacheMethod::magcache;
  EXPECT_EQ(drive(hunyuan_cache_config(defaults, 720, 50), 50, 1).reused(), 31);
  EXPECT_EQ(drive(hunyuan_cache_config(defaults, 544, 50), 50, 1).reused(), 32);
}

// A reused row gets its own branch's stored residual; computed rows run every block; the
// accounting counts passes per row.
TEST(StepCache, BranchesOfOneBatchDecideOnTheirOwn) {
  CacheConfig config;
  config.method = CacheMethod::magcache;
  config.threshold = 1.0;
  config.max_skips = 5;
  config.retention_ratio = 0.0;
  config.calls_per_step = 2;
  // Branch 0's ratio is far from 1 at step 1 (computes); branch 1's is 1 (reuses).
  config.mag_ratios = {1.0, 1.0, 3.0, 1.0, 1.0, 1.0};
  parallel::SelfCommunicator self;
  StepCache cache(config, 3, 2);
  FakeStack fake{{0, 1}};
  auto x = at::zeros({2, 5, 4});
  cache.begin_forward(0, {0, 1});
  x = cache.run(x, fake.stack(), self);        // nothing stored yet: both compute
  EXPECT_EQ(x[0].max().item<double>(), 6.0);   // 1 + 2 + 3
  EXPECT_EQ(x[1].max().item<double>(), 12.0);  // 2 · (1 + 2 + 3)
  cache.begin_forward(1, {0, 1});
  const auto before = x.clone();
  fake.rows_run = 0;
  x = cache.run(x, fake.stack(), self);
  EXPECT_EQ(fake.rows_run, 1);                               // only branch 0's row ran
  EXPECT_EQ(x[0].max().item<double>(), 12.0);                // computed
  EXPECT_EQ((x[1] - before[1]).max().item<double>(), 12.0);  // + branch 1's residual
  EXPECT_EQ(cache.record().pattern[0].substr(0, 2), "CC");
  EXPECT_EQ(cache.record().pattern[1].substr(0, 2), "CR");
  EXPECT_EQ(cache.record().block_passes_saved(), 3);
  EXPECT_EQ(cache.record().residual_bytes, 2 * 5 * 4 * 4);  // one [1, 5, 4] fp32 residual per branch
}

TEST(CacheFlags, PeersNamesTurnTheirMethodOnAndContradictionsAreRefused) {
  auto read = [](std::vector<std::string> tokens) {
    core::Args args("generate", tokens);
    return read_cache_flags(args);
  };
  EXPECT_EQ(read({}).method, CacheMethod::none);
  EXPECT_EQ(read({"--teacache_thresh", "0.1"}).method, CacheMethod::teacache);
  EXPECT_EQ(*read({"--teacache_thresh", "0.1"}).threshold, 0.1);
  EXPECT_TRUE(read({"--use_ret_steps"}).use_ret_steps);
  EXPECT_EQ(read({"--use_magcache"}).method, CacheMethod::magcache);
  EXPECT_EQ(*read({"--magcache_K", "3"}).max_skips, 3);
  EXPECT_EQ(read({"--cache", "fbcache", "--cache-threshold", "0.3"}).method, CacheMethod::fbcache);
  EXPECT_THROW(read({"--cache", "fbcache", "--teacache_thresh", "0.1"}), UsageError);
  EXPECT_THROW(read({"--cache", "deepcache"}), UsageError);
  EXPECT_THROW(read({"--cache-threshold", "0.1", "--magcache_thresh", "0.2"}), UsageError);
  EXPECT_THROW(read({"--retention_ratio", "2"}), UsageError);
}

TEST(CacheFlags, ModelDefaultsAreTheReferences) {
  CacheFlags f;
  f.method = CacheMethod::teacache;
  auto c = wan_cache_config(f, "t2v-1.3B", 50);
  EXPECT_EQ(c.threshold, 0.2);
  EXPECT_EQ(c.indicator, TeaIndicator::timestep_embedding);
  EXPECT_EQ(c.first_steps, 1);
  EXPECT_EQ(c.last_steps, 1);
  f.use_ret_steps = true;
  c = wan_cache_config(f, "t2v-14B", 50);
  EXPECT_EQ(c.indicator, TeaIndicator::timestep_projection);
  EXPECT_EQ(c.first_steps, 5);
  EXPECT_EQ(c.last_steps, 0);
  EXPECT_EQ(c.coefficients.front(), -3.03318725e+05);
  f.use_ret_steps = false;
  EXPECT_EQ(hunyuan_cache_config(f, 720, 50).threshold, 0.15);
  f.method = CacheMethod::fbcache;
  EXPECT_EQ(wan_cache_config(f, "t2v-1.3B", 50).threshold, 0.05);
  f.method = CacheMethod::magcache;
  EXPECT_EQ(wan_cache_config(f, "t2v-1.3B", 50).max_skips, 4);
  EXPECT_EQ(wan_cache_config(f, "t2v-14B", 50).threshold, 0.24);
  EXPECT_EQ(wan_cache_config(f, "t2v-1.3B", 20).mag_ratios.size(), 40u);
}

// ---- The tiny Wan fixture over 50 steps with both branches: TeaCache and First-Block Cache.

std::string pattern_of(const CacheConfig& config) {
  using namespace pipeline;
  parallel::SelfCommunicator self;
  parallel::ProcessMesh mesh(self, {1, 1, 1});
  WanT2vSettings settings;
  settings.show_progress = false;
  const auto folder = kData + "/wan_t2v/diffusers";
  const auto files = locate_wan_t2v_files(folder);
  WanT2vRequest r;
  r.task = "t2v-1.3B";
  r.prompt = "A cat walks on the grass, realistic style. 一只猫在草地上散步";
  r.width = 64;
  r.height = 48;
  r.frames = 5;
  r.seed = 42;
  r.guide_scale = 5.0;
  r.text_len = 16;
  WanSamplingFlags flags;
  flags.steps = 50;
  choose_wan_sampling(folder, files.layout, flags).apply(r);
  r.cache = config;
  WanT2vPipeline pipe(mesh, files, settings);
  const auto text = pipe.encode_prompts(r);
  pipe.denoise(r, text, pipe.initial_noise(r), r.steps, nullptr);
  const auto& record = pipe.last_cache_record();
  return record.pattern.at(0) + "/" + record.pattern.at(1);
}

TEST(StepCacheGolden, TeaCacheAndFirstBlockCacheOnTheTinyWanEqualTheReplay) {
  for (const char* name : {"ret_false_150", "ret_false_400", "ret_true_0.2"}) {
    SCOPED_TRACE(name);
    const auto& g = golden_case("teacache_wan", name);
    CacheFlags f;
    f.method = CacheMethod::teacache;
    f.threshold = g.find("threshold")->as_number();
    f.use_ret_steps = g.find("use_ret_steps")->as_bool();
    EXPECT_EQ(pattern_of(wan_cache_config(f, "t2v-1.3B", 50)),
              g.find("cond")->as_string() + "/" + g.find("uncond")->as_string());
  }
  // diffusers' own FirstBlockCache hook in stock WanPipeline decided these.
  const auto& g = golden_case("fbcache_wan", "threshold_0.2");
  CacheFlags f;
  f.method = CacheMethod::fbcache;
  f.threshold = 0.2;
  const auto pattern = pattern_of(wan_cache_config(f, "t2v-1.3B", 50));
  EXPECT_EQ(pattern, g.find("cond")->as_string() + "/" + g.find("uncond")->as_string());
  std::printf("[cache] fbcache 0.2 on the tiny Wan, 50 steps: %s\n", pattern.c_str());
}

}  // namespace
}  // namespace uspdit::cache
