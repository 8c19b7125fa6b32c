// The HunyuanVideo DiT gives the single-rank output on every (ulysses, ring) mesh of this
// launch, with text lengths that do and do not divide the degree, padded text rows that differ
// across the batch, and every joint strategy.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <mpi.h>

#include "parallel/mesh.h"
#include "parallel/mpi_communicator.h"
#include "models/hunyuan_video/hv_model.h"
#include "models/hunyuan_video/hv_tensors.h"

namespace uspdit {
namespace {

using models::hunyuan_video::HvConfig;

HvConfig small_config() {
  HvConfig c;
  c.hidden = 24 * 10;  // 24 heads × 10: Ulysses 1, 2, 3, 4, 6, 8 all allowed
  c.heads = 24;
  c.mlp_ratio = 1.0;
  c.double_blocks = 1;
  c.single_blocks = 1;
  c.refiner_blocks = 1;
  c.rope_axes = {2, 4, 4};
  c.patch = {1, 2, 2};
  c.in_channels = 4;
  c.out_channels = 4;
  c.text_dim = 16;
  c.pooled_dim = 8;
  return c;
}

models::hunyuan_video::HvInputs inputs_with_text(int64_t text_len) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  models::hunyuan_video::HvInputs in;
  in.hidden_states = at::randn({2, 4, 3, 10, 14}, gen);  // 3 × 5 × 7 = 105 video tokens
  in.timestep = at::tensor({731.0f, 20.0f});
  in.encoder_hidden_states = at::randn({2, text_len, 16}, gen);
  in.encoder_attention_mask = at::ones({2, text_len});
  in.encoder_attention_mask[0].narrow(0, text_len - 3, 3).fill_(0);  // row 0: 3 padded tokens
  in.pooled_projections = at::randn({2, 8}, gen);
  in.guidance = at::tensor({6000.0f, 3500.0f});
  return in;
}

TEST(HvParallel, EveryMeshAndJointStrategyEqualsOneRank) {
  parallel::MpiCommunicator world(MPI_COMM_WORLD, false);
  const auto config = small_config();
  const models::hunyuan_video::HvModel model(config, models::hunyuan_video::random_hv_weights(config, at::kFloat, 5, at::kCPU));
  auto self = world.split(world.rank(), 0);
  parallel::ProcessMesh single(*self, {1, 1, 1});

  // 24 divides every world size here except 5 and 7; 13 divides none but 1 and 13; 4 is shorter
  // than 5..8 ranks, so some ranks hold no text rows (refiner, split text).
  for (int64_t text_len : {int64_t(24), int64_t(13), int64_t(4)}) {
    const auto in = inputs_with_text(text_len);
    const auto reference = model.forward(single, in);
    ASSERT_GT(reference.abs().max().item<double>(), 1e-2);
    for (const auto& d : parallel::valid_degrees(world.size(), static_cast<int>(config.heads), false)) {
      parallel::ProcessMesh mesh(world, d);
      for (const char* strategy : {"auto", "split", "front", "rear"}) {
        auto out = model.forward(mesh, in, strategy);
        double err = (out - reference).abs().max().item<double>();
        MPI_Allreduce(MPI_IN_PLACE, &err, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        EXPECT_LE(err, 1e-5) << parallel::describe(d) << ", text " << text_len << ", " << strategy;
      }
    }
  }
}

}  // namespace
}  // namespace uspdit
