// Step caching keeps the same video on every mesh: with TeaCache, MagCache or First-Block Cache
// on, every parallel configuration of this launch — Ulysses, Ring, USP, CFG-parallel — takes the
// single rank's decisions on every step and branch and gives its frames (≤ 1e-4). The tiny Wan
// fixture at 48×80×9 frames has 45 video tokens, so 2 and 4 ranks hold uneven shards: First-
// Block Cache's indicator (block 0's residual, sharded) must be summed over each group exactly.
// HunyuanVideo (true CFG) likewise, where TeaCache's indicator — the modulated image tokens — is
// sharded too.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdio>
#include <map>
#include <vector>

#include "cache/cache_flags.h"
#include "models/hunyuan_video/hv_loader.h"
#include "parallel/mesh.h"
#include "parallel/mpi_communicator.h"
#include "pipeline/hv_t2v_family.h"
#include "pipeline/wan_t2v.h"

namespace uspdit::pipeline {
namespace {

const std::string kFixture = std::string(USPDIT_SOURCE_DIR) + "/tests/data/wan_t2v/original";
constexpr int kSteps = 6;
// Thresholds at which the tiny random HunyuanVideo mixes computed and reused steps in 6 steps.
constexpr double kHvTeaCacheThreshold = 0.15;
constexpr double kHvFbCacheThreshold = 0.9;
constexpr double kHvMagCacheThreshold = 0.24;

WanT2vRequest request(cache::CacheMethod method) {
  WanT2vRequest r;
  r.task = "t2v-1.3B";
  r.prompt = "A cat walks on the grass, realistic style. 一只猫在草地上散步";
  r.width = 48;
  r.height = 80;
  r.frames = 9;
  r.steps = kSteps;
  r.seed = 42;
  cache::CacheFlags flags;
  flags.method = method;
  // Thresholds at which the tiny random model mixes computed and reused steps in 6 steps (its
  // embeddings and residuals move much more per step than a trained model's).
  if (method == cache::CacheMethod::teacache) flags.threshold = 400.0;
  if (method == cache::CacheMethod::fbcache) flags.threshold = 0.3;
  r.cache = cache::wan_cache_config(flags, r.task, r.steps);
  return r;
}

struct CachedRun {
  at::Tensor video;
  std::vector<std::string> pattern;
  std::vector<std::vector<double>> distance;
};

CachedRun run(WanT2vPipeline& pipe, cache::CacheMethod method) {
  CachedRun out;
  out.video = pipe.generate(request(method));
  out.pattern = pipe.record().cache.pattern;
  return out;
}

TEST(CacheParallel, EveryMeshTakesTheSingleRanksDecisionsAndGivesItsVideo) {
  parallel::MpiCommunicator world(MPI_COMM_WORLD, false);
  // 2 and 4 ranks hold every kind of mesh — Ulysses, Ring, USP 2×2, CFG-parallel with each — and
  // uneven shards (45 tokens: 23/22 on 2, 12/11/11/11 on 4); 3 ranks add only Ring 3 on even shards
  // and more ranks repeat the same paths, at a cost CI's two cores cannot pay in every launch.
  if (world.size() == 3 || world.size() > 4) return;
  WanT2vSettings settings;
  settings.show_progress = false;
  const cache::CacheMethod methods[] = {cache::CacheMethod::teacache, cache::CacheMethod::magcache,
                                        cache::CacheMethod::fbcache};
  auto self = world.split(world.rank(), 0);
  parallel::ProcessMesh single(*self, {1, 1, 1});
  std::map<cache::CacheMethod, CachedRun> reference;
  {
    settings.parallel_vae = false;
    WanT2vPipeline pipe(single, locate_wan_t2v_files(kFixture), settings);
    settings.parallel_vae = true;
    const auto uncached = pipe.generate(request(cache::CacheMethod::none));
    for (auto m : methods) {
      reference[m] = run(pipe, m);
      const auto& p = reference[m].pattern;
      ASSERT_EQ(p.size(), 2u);
      // Both kinds of step, or the test would prove nothing about reuse.
      EXPECT_NE(p[0].find('R'), std::string::npos) << cache::cache_method_name(m) << " " << p[0];
      EXPECT_NE(p[0].find('C'), std::string::npos) << cache::cache_method_name(m) << " " << p[0];
      EXPECT_GT((reference[m].video - uncached).abs().max().item<double>(), 1e-6)
          << "reuse changes the video";
      if (world.rank() == 0) {
        std::printf("[cache] %s, 1 rank: cond %s uncond %s\n",
                    std::string(cache::cache_method_name(m)).c_str(), p[0].c_str(), p[1].c_str());
      }
    }
  }
  if (world.size() == 1) return;
  // The tiny DiT has 2 heads: Ulysses 1 or 2.
  for (const auto& degrees : parallel::valid_degrees(world.size(), 2, true)) {
    SCOPED_TRACE(parallel::describe(degrees));
    parallel::ProcessMesh mesh(world, degrees);
    WanT2vPipeline pipe(mesh, locate_wan_t2v_files(kFixture), settings);
    for (auto m : methods) {
      SCOPED_TRACE(std::string(cache::cache_method_name(m)));
      const auto got = run(pipe, m);
      EXPECT_EQ(got.pattern, reference[m].pattern);
      const double err = (got.video - reference[m].video).abs().max().item<double>();
      EXPECT_LE(err, 1e-4);
      if (world.rank() == 0) {
        std::printf("[cache] %s %s: same decisions %s, max |video - 1 rank| = %.2e\n",
                    parallel::describe(degrees).c_str(), std::string(cache::cache_method_name(m)).c_str(),
                    got.pattern == reference[m].pattern ? "yes" : "NO", err);
      }
    }
  }
}

// ---- HunyuanVideo: the tiny fixture of tests/data/hv_t2v, true CFG.

const std::string kHvFixture = std::string(USPDIT_SOURCE_DIR) + "/tests/data/hv_t2v/original";

HvT2vRequest hv_request(cache::CacheMethod method) {
  HvT2vRequest r;
  r.prompt = "A cat walks on the grass, realistic style.";
  r.negative_prompt = "low quality, blurry";
  r.height = r.width = 40;
  r.frames = 17;
  r.steps = kSteps;
  r.seed = 7;
  r.cfg_scale = 3.0;
  cache::CacheFlags flags;
  flags.method = method;
  if (method == cache::CacheMethod::teacache) flags.threshold = kHvTeaCacheThreshold;
  if (method == cache::CacheMethod::fbcache) flags.threshold = kHvFbCacheThreshold;
  if (method == cache::CacheMethod::magcache) flags.threshold = kHvMagCacheThreshold;
  r.cache = cache::hunyuan_cache_config(flags, r.height, r.steps);
  return r;
}

// One pipeline per mesh, the prompts encoded once, then a denoising run per method: the latents
// (what the VAE decodes; its parallel decode is tested on its own) and the decisions.
std::map<cache::CacheMethod, CachedRun> hv_runs(parallel::ProcessMesh& mesh, const T2vSettings& settings,
                                                const std::vector<cache::CacheMethod>& methods) {
  HvT2vLoadSettings load;
  load.model_base = kHvFixture;
  load.vae_precision = "fp32";
  const auto files = locate_hv_t2v_files(load);
  const auto dit = models::hunyuan_video::locate_hv_checkpoint(files.dit).config;
  const auto first = hv_request(methods.front());
  T2vPipeline pipe(mesh, std::make_unique<HvFamily>(files, settings, hv_t2v_options(first, load, "auto")),
                   settings);
  const auto text = pipe.encode_prompts(to_t2v_request(first, dit));
  std::map<cache::CacheMethod, CachedRun> out;
  for (auto m : methods) {
    const auto r = to_t2v_request(hv_request(m), dit);
    out[m].video = pipe.denoise(r, text, pipe.initial_noise(r), r.steps, nullptr);
    out[m].pattern = pipe.last_cache_record().pattern;
    out[m].distance = pipe.last_cache_record().distance;
  }
  return out;
}

TEST(CacheParallel, HunyuanVideoTakesTheSameDecisionsOnEveryMesh) {
  parallel::MpiCommunicator world(MPI_COMM_WORLD, false);
  // 2 and 4 ranks hold every kind of mesh; 3 and more repeat the same paths (as test_hv_t2v_parallel).
  if (world.size() == 3 || world.size() > 4) return;
  T2vSettings settings;
  settings.show_progress = false;
  const std::vector<cache::CacheMethod> methods = {cache::CacheMethod::teacache, cache::CacheMethod::magcache,
                                                   cache::CacheMethod::fbcache};
  auto self = world.split(world.rank(), 0);
  parallel::ProcessMesh single(*self, {1, 1, 1});
  const auto reference = hv_runs(single, settings, methods);
  for (auto m : methods) {
    const auto& p = reference.at(m).pattern;
    ASSERT_EQ(p.size(), 2u);
    EXPECT_NE(p[0].find('R'), std::string::npos) << cache::cache_method_name(m) << " " << p[0]
                                                 << ", distances " << at::tensor(reference.at(m).distance[0]);
    EXPECT_NE(p[0].find('C'), std::string::npos) << cache::cache_method_name(m) << " " << p[0];
    if (world.rank() == 0) {
      std::printf("[cache] hv %s, 1 rank: cond %s uncond %s\n",
                  std::string(cache::cache_method_name(m)).c_str(), p[0].c_str(), p[1].c_str());
    }
  }
  if (world.size() == 1) return;
  for (const auto& degrees : parallel::valid_degrees(world.size(), 2, true)) {
    SCOPED_TRACE(parallel::describe(degrees));
    parallel::ProcessMesh mesh(world, degrees);
    const auto runs = hv_runs(mesh, settings, methods);
    for (auto m : methods) {
      SCOPED_TRACE(std::string(cache::cache_method_name(m)));
      const auto& got = runs.at(m);
      EXPECT_EQ(got.pattern, reference.at(m).pattern);
      const double err = (got.video - reference.at(m).video).abs().max().item<double>();
      EXPECT_LE(err, 1e-4);
      if (world.rank() == 0) {
        std::printf("[cache] hv %s %s: same decisions %s, max |latents - 1 rank| = %.2e\n",
                    parallel::describe(degrees).c_str(), std::string(cache::cache_method_name(m)).c_str(),
                    got.pattern == reference.at(m).pattern ? "yes" : "NO", err);
      }
    }
  }
}

}  // namespace
}  // namespace uspdit::pipeline
