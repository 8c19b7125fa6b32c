// The same seed gives the same video on every parallel configuration of this launch: Ulysses,
// Ring, USP and CFG-parallel, with the VAE decoded in parallel across all ranks — equal to the
// single-rank pipeline within 1e-4 (the tiny fixture of tests/data/wan_t2v, 2 UniPC steps); and a
// -Diffusers folder equals stock diffusers' video on every mesh.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdio>

#include "io/checkpoint.h"
#include "parallel/mesh.h"
#include "parallel/mpi_communicator.h"
#include "pipeline/wan_sampling_choice.h"
#include "pipeline/wan_t2v.h"

namespace uspdit::pipeline {
namespace {

const std::string kFixture = std::string(USPDIT_SOURCE_DIR) + "/tests/data/wan_t2v/original";

WanT2vRequest request() {
  WanT2vRequest r;
  r.task = "t2v-1.3B";
  r.prompt = "A cat walks on the grass, realistic style. 一只猫在草地上散步";
  r.width = 64;
  r.height = 48;
  r.frames = 5;
  r.steps = 2;
  r.seed = 42;
  return r;
}

TEST(WanT2vParallel, EveryMeshGivesTheSingleRankVideo) {
  parallel::MpiCommunicator world(MPI_COMM_WORLD, false);
  WanT2vSettings settings;
  settings.show_progress = false;
  auto self = world.split(world.rank(), 0);
  parallel::ProcessMesh single(*self, {1, 1, 1});
  settings.parallel_vae = false;
  const auto reference = WanT2vPipeline(single, locate_wan_t2v_files(kFixture), settings).generate(request());
  settings.parallel_vae = true;

  const int n = world.size();
  // The tiny DiT has 2 heads: Ulysses 1 or 2.
  for (const auto& degrees : parallel::valid_degrees(n, 2, true)) {
    if (n == 1) continue;
    SCOPED_TRACE(parallel::describe(degrees));
    parallel::ProcessMesh mesh(world, degrees);
    const auto video = WanT2vPipeline(mesh, locate_wan_t2v_files(kFixture), settings).generate(request());
    const double err = (video - reference).abs().max().item<double>();
    EXPECT_LE(err, 1e-4);
    if (world.rank() == 0)
      std::printf("[parallel] %s: max |video - 1 rank| = %.2e\n", parallel::describe(degrees).c_str(), err);
    if (degrees.cfg == 2) {
      // Every rank running the text encoder for its own branch gives the same video.
      auto every_rank = settings;
      every_rank.text_encoder_on_every_rank = true;
      const auto again = WanT2vPipeline(mesh, locate_wan_t2v_files(kFixture), every_rank).generate(request());
      EXPECT_LE((again - reference).abs().max().item<double>(), 1e-4);
    }
  }
}

// A -Diffusers folder (its scheduler_config.json: UniPC, flow_shift 3) with guidance and no
// negative prompt equals stock diffusers 0.42.1's video on one rank, Ulysses 2 and CFG-parallel.
TEST(WanT2vParallel, DiffusersFolderGivesStockDiffusersVideoOnEveryMesh) {
  const std::string folder = std::string(USPDIT_SOURCE_DIR) + "/tests/data/wan_t2v/diffusers";
  const auto files = locate_wan_t2v_files(folder);
  auto r = request();
  r.guide_scale = 5.0;
  r.text_len = 16;  // WanPipeline's max_sequence_length in the fixture (the diffusers config has none)
  WanSamplingFlags flags;
  flags.steps = 3;
  choose_wan_sampling(folder, files.layout, flags).apply(r);
  ASSERT_EQ(r.reference, sampling::ScheduleReference::diffusers);
  const auto ref =
      io::open_checkpoint(std::string(USPDIT_SOURCE_DIR) + "/tests/data/wan_t2v/reference.safetensors");
  const auto expected = ref->load("d3_noneg.video", at::kFloat)[0];

  parallel::MpiCommunicator world(MPI_COMM_WORLD, false);
  WanT2vSettings settings;
  settings.show_progress = false;
  auto self = world.split(world.rank(), 0);
  parallel::ProcessMesh single(*self, {1, 1, 1});
  const auto one = WanT2vPipeline(single, files, settings).generate(r);
  EXPECT_LE((one - expected).abs().max().item<double>(), 1e-3);
  for (const auto& degrees : parallel::valid_degrees(world.size(), 2, true)) {
    if (world.size() == 1) continue;
    SCOPED_TRACE(parallel::describe(degrees));
    parallel::ProcessMesh mesh(world, degrees);
    const auto video = WanT2vPipeline(mesh, files, settings).generate(r);
    const double err = (video - expected).abs().max().item<double>();
    EXPECT_LE(err, 1e-3);
    if (world.rank() == 0) {
      std::printf("[parallel] diffusers folder %s: max |video - stock diffusers| = %.2e (1 rank %.2e)\n",
                  parallel::describe(degrees).c_str(), err, (one - expected).abs().max().item<double>());
    }
  }
}

}  // namespace
}  // namespace uspdit::pipeline
