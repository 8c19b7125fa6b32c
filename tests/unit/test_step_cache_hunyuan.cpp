// Step caching on HunyuanVideo: TeaCache and First-Block Cache decide as the references do on the
// tiny fixture (tests/data/hv_t2v/diffusers) over 50 steps with true CFG — the golden patterns
// of tools/make_cache_golden.py (tests/data/cache/golden.json): TeaCache4HunyuanVideo's forward
// and diffusers' FirstBlockCache hook, both replayed inside stock HunyuanVideoPipeline. Both
// indicators read the image tokens, so a pattern follows the whole sampled trajectory.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>

#include "cache/cache_flags.h"
#include "device_under_test.h"
#include "hv_t2v_fixture.h"
#include "io/json.h"
#include "parallel/mesh.h"
#include "parallel/self_communicator.h"
#include "pipeline/hv_reference.h"
#include "pipeline/hv_t2v_family.h"
#include "pipeline/t2v_pipeline.h"

namespace uspdit::cache {
namespace {

constexpr int kSteps = 50;

const io::Json& golden_case(const std::string& kind, const std::string& name) {
  static const auto json =
      io::Json::parse_file(std::string(USPDIT_SOURCE_DIR) + "/tests/data/cache/golden.json");
  const auto* group = json.find(kind);
  const auto* c = group == nullptr ? nullptr : group->find(name);
  if (c == nullptr) throw std::runtime_error("golden.json has no " + kind + "/" + name);
  return *c;
}

// golden.json's request_hunyuan: the fixture's stock "cfg" case at 50 steps, as
// `generate --model-base <folder>` reads it (the folder's scheduler, the prompt unstripped).
pipeline::HvT2vRequest golden_request() {
  pipeline::HvT2vRequest r;
  r.prompt = "  A cat walks on the grass, realistic style.\n";
  r.negative_prompt = "low quality, blurry";
  r.height = 48;
  r.width = 32;
  r.frames = 17;
  r.steps = kSteps;
  r.seed = 2027;
  r.cfg_scale = 3.0;
  return r;
}

// One pipeline and one prompt encoding for every case; each denoise() starts a fresh cache.
class HunyuanCacheRun {
 public:
  HunyuanCacheRun() : fixture_(testing::open_hv_t2v_fixture("diffusers")), mesh_(self_, {1, 1, 1}) {
    hv_request_ = golden_request();
    pipeline::apply_hv_reference(hv_request_, fixture_.load, fixture_.files.layout);
    pipeline::validate(hv_request_);
    pipeline::T2vSettings settings;
    settings.show_progress = false;
    settings.device = settings.text_device = testing::device_under_test();
    pipe_ = std::make_unique<pipeline::T2vPipeline>(
        mesh_,
        std::make_unique<pipeline::HvFamily>(fixture_.files, settings,
                                             pipeline::hv_t2v_options(hv_request_, fixture_.load)),
        settings);
    const auto request = pipeline::to_t2v_request(hv_request_, fixture_.dit);
    text_ = pipe_->encode_prompts(request);
    noise_ = pipe_->initial_noise(request);
  }

  CacheRecord record(const CacheFlags& flags) {
    auto hv = hv_request_;
    hv.cache = hunyuan_cache_config(flags, hv.height, hv.steps);
    const auto request = pipeline::to_t2v_request(hv, fixture_.dit);
    pipe_->denoise(request, text_, noise_, request.steps, nullptr);
    return pipe_->last_cache_record();
  }

 private:
  testing::HvT2vFixture fixture_;
  parallel::SelfCommunicator self_;
  parallel::ProcessMesh mesh_;
  pipeline::HvT2vRequest hv_request_;
  std::unique_ptr<pipeline::T2vPipeline> pipe_;
  pipeline::PromptEmbeddings text_;
  at::Tensor noise_;
};

// Largest |ours − reference| / reference over the steps where the reference measured a distance;
// a step measured by one side only fails the test (and reads as infinite).
double distance_error(const std::vector<double>& ours, const io::Json& reference) {
  EXPECT_EQ(ours.size(), reference.size());
  double worst = 0.0;
  for (size_t i = 0; i < std::min(ours.size(), reference.size()); ++i) {
    const auto& r = reference.item(i);
    EXPECT_EQ(std::isnan(ours[i]), r.is_null()) << "step " << i;
    if (std::isnan(ours[i]) != r.is_null()) return std::numeric_limits<double>::infinity();
    if (!r.is_null()) worst = std::max(worst, std::abs(ours[i] - r.as_number()) / r.as_number());
  }
  return worst;
}

TEST(StepCacheGolden, TeaCacheAndFirstBlockCacheOnTheTinyHunyuanVideoEqualTheReplay) {
  HunyuanCacheRun run;
  struct Case {
    const char* kind;
    const char* name;
    CacheMethod method;
  };
  for (const auto& c : {Case{"teacache_hunyuan", "threshold_0.15", CacheMethod::teacache},
                        Case{"teacache_hunyuan", "threshold_0.4", CacheMethod::teacache},
                        Case{"fbcache_hunyuan", "threshold_0.05", CacheMethod::fbcache},
                        Case{"fbcache_hunyuan", "threshold_0.6", CacheMethod::fbcache}}) {
    SCOPED_TRACE(std::string(c.kind) + "/" + c.name);
    const auto& g = golden_case(c.kind, c.name);
    const auto expected = g.find("cond")->as_string() + "/" + g.find("uncond")->as_string();
    CacheFlags flags;
    flags.method = c.method;
    flags.threshold = g.find("threshold")->as_number();
    const auto record = run.record(flags);
    const auto pattern = record.pattern.at(0) + "/" + record.pattern.at(1);
    EXPECT_EQ(pattern, expected);
    // The distances the decisions read, next to the reference's: the patterns above hold while
    // these stay far inside the golden's min_margin (the nearest decision to its threshold).
    const double error = std::max(distance_error(record.distance.at(0), *g.find("cond_distance")),
                                  distance_error(record.distance.at(1), *g.find("uncond_distance")));
    EXPECT_LE(error, 1e-4);
    std::printf(
        "[cache] hunyuan %s %s, 50 steps: %s (%lld reused), distances within %.1e of the reference's\n",
        c.kind, c.name, pattern.c_str(), static_cast<long long>(record.reused()), error);
  }
}

// The reference defaults (the golden's first case of each method) are what the flags give.
TEST(StepCacheGolden, HunyuanVideoDefaultsAreTheGoldenThresholds) {
  CacheFlags flags;
  flags.method = CacheMethod::teacache;
  EXPECT_EQ(hunyuan_cache_config(flags, 48, kSteps).threshold,
            golden_case("teacache_hunyuan", "threshold_0.15").find("threshold")->as_number());
  flags.method = CacheMethod::fbcache;
  EXPECT_EQ(hunyuan_cache_config(flags, 48, kSteps).threshold,
            golden_case("fbcache_hunyuan", "threshold_0.05").find("threshold")->as_number());
}

}  // namespace
}  // namespace uspdit::cache
