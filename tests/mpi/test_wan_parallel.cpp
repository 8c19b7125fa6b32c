// The Wan DiT gives the single-rank output on every (ulysses, ring) mesh of this launch, with a
// token count (105) that no world size > 1 here divides evenly except 3, 5 and 7.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <mpi.h>

#include "parallel/mesh.h"
#include "parallel/mpi_communicator.h"
#include "models/wan/wan_model.h"
#include "models/wan/wan_tensors.h"

namespace uspdit {
namespace {

using models::wan::WanConfig;

WanConfig small_config() {
  WanConfig c;
  c.dim = 24 * 12;  // 24 heads: Ulysses 1, 2, 3, 4, 6, 8 all allowed
  c.num_heads = 24;
  c.ffn_dim = 64;
  c.num_layers = 2;
  c.in_dim = 4;
  c.out_dim = 4;
  c.text_dim = 16;
  c.freq_dim = 32;
  return c;
}

models::wan::WanInputs small_inputs() {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
  models::wan::WanInputs in;
  in.hidden_states = at::randn({2, 4, 3, 10, 14}, gen);  // 3 × 5 × 7 = 105 tokens
  in.timestep = at::tensor({999.0f, 3.0f});
  in.encoder_hidden_states = at::randn({2, 11, 16}, gen);
  return in;
}

TEST(WanParallel, EveryMeshEqualsOneRank) {
  parallel::MpiCommunicator world(MPI_COMM_WORLD, false);
  const auto config = small_config();
  const models::wan::WanModel model(config, models::wan::random_wan_weights(config, at::kFloat, 11, at::kCPU));
  const auto inputs = small_inputs();

  auto self = world.split(world.rank(), 0);
  parallel::ProcessMesh single(*self, {1, 1, 1});
  const auto reference = model.forward(single, inputs);
  ASSERT_EQ(reference.sizes(), inputs.hidden_states.sizes());
  ASSERT_GT(reference.abs().max().item<double>(), 1e-2);  // not a degenerate all-zero output

  for (const auto& d : parallel::valid_degrees(world.size(), static_cast<int>(config.num_heads), false)) {
    parallel::ProcessMesh mesh(world, d);
    auto out = model.forward(mesh, inputs);
    double err = (out - reference).abs().max().item<double>();
    MPI_Allreduce(MPI_IN_PLACE, &err, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    EXPECT_LE(err, 1e-5) << parallel::describe(d);
  }
}

}  // namespace
}  // namespace uspdit
