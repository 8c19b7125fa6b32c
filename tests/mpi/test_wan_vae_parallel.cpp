// The Wan-VAE decoder with the frame's rows split across the ranks equals the serial decode, for
// row counts that do not divide the world size (P + 1 and 2P + 1 latent rows), with batch 2 and
// two latent frames (the skipped and the running time conv).
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <mpi.h>

#include "core/error.h"
#include "parallel/mpi_communicator.h"
#include "models/wan_vae/wan_vae_decoder.h"
#include "models/wan_vae/wan_vae_loader.h"

namespace uspdit::models::wan_vae {
namespace {

WanVaeConfig small_config() {
  WanVaeConfig c;
  c.base_dim = 8;
  c.dim_mult = {1, 2, 1, 1};  // one stage widens, so a shortcut conv is on the path
  c.num_res_blocks = 1;
  return c;
}

TEST(WanVaeParallel, RowSplitEqualsSerial) {
  parallel::MpiCommunicator world(MPI_COMM_WORLD, false);
  const auto config = small_config();
  const WanVaeDecoder vae(config, random_wan_vae_weights(config, 5, at::kCPU));
  const int P = world.size();
  for (int64_t rows : {static_cast<int64_t>(P) + 1, 2 * static_cast<int64_t>(P) + 1}) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(100 + rows);
    const auto z = at::randn({2, 16, 2, rows, 3}, gen);
    const auto serial = vae.decode(z);
    ASSERT_EQ(serial.sizes(), (std::vector<int64_t>{2, 3, 5, 8 * rows, 24}));
    ASSERT_GT(serial.abs().max().item<double>(), 0.1);
    world.reset_stats();
    const auto parallel = vae.decode(z, &world);
    double err = (parallel - serial).abs().max().item<double>();
    MPI_Allreduce(MPI_IN_PLACE, &err, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    EXPECT_LE(err, 1e-5) << rows << " rows on " << P << " ranks";
    if (P > 1) {
      EXPECT_GT(world.stats().bytes_sent, 0);
    }
  }
}

TEST(WanVaeParallel, TilesDealtToRanksEqualSerialTiling) {
  parallel::MpiCommunicator world(MPI_COMM_WORLD, false);
  const auto config = small_config();
  const WanVaeDecoder vae(config, random_wan_vae_weights(config, 5, at::kCPU));
  auto gen = at::make_generator<at::CPUGeneratorImpl>(77);
  const auto z = at::randn({1, 16, 2, 7, 5}, gen);  // 56×40 pixels: 3×2 tiles of 32 at stride 24
  const auto serial = vae.decode_tiled(z, VaeTiling{32, 24});
  const auto dealt = vae.decode_tiled(z, VaeTiling{32, 24}, &world);
  EXPECT_EQ((dealt - serial).abs().max().item<double>(), 0.0);
}

TEST(WanVaeParallel, FewerRowsThanRanksIsRefused) {
  parallel::MpiCommunicator world(MPI_COMM_WORLD, false);
  const auto config = small_config();
  const WanVaeDecoder vae(config, random_wan_vae_weights(config, 5, at::kCPU));
  // P - 1 rows: one rank would hold none (on one rank: an empty frame, refused as a shape).
  EXPECT_THROW(vae.decode(at::zeros({1, 16, 1, world.size() - 1, 3}), &world), UsageError);
}

}  // namespace
}  // namespace uspdit::models::wan_vae
