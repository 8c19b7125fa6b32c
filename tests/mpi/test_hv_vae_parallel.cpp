// The HunyuanVideo VAE's tiled decode with the tiles dealt to the ranks equals the serial tiled
// decode exactly (the blending runs after the gather, in the same order), on every rank: temporal
// and spatial tiles with partial edge tiles, batch 2, a spatial-only decode, and an untiled decode
// (one tile, decoded whole on every rank).
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <mpi.h>

#include "models/hv_vae/hv_vae_decoder.h"
#include "models/hv_vae/hv_vae_loader.h"
#include "parallel/mpi_communicator.h"

namespace uspdit::models::hv_vae {
namespace {

HvVaeConfig tiny_config() {
  HvVaeConfig c;
  c.latent_channels = 4;
  c.block_out_channels = {8, 16, 8, 8};  // widths change, so shortcut convs are on the path
  c.layers_per_block = 1;
  c.norm_num_groups = 4;
  c.sample_size = 32;   // 4-latent spatial tiles at stride 3
  c.sample_tsize = 16;  // 4+1-latent temporal tiles at stride 3
  return c;
}

bool equal_on_all_ranks(const at::Tensor& a, const at::Tensor& b) {
  int same = a.sizes() == b.sizes() && a.equal(b) ? 1 : 0;
  MPI_Allreduce(MPI_IN_PLACE, &same, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return same == 1;
}

TEST(HvVaeParallel, DealtTilesEqualSerialTiledDecode) {
  parallel::MpiCommunicator world(MPI_COMM_WORLD, false);
  const auto config = tiny_config();
  const HvVaeDecoder vae(config, random_hv_vae_weights(config, 3, at::kCPU));
  const auto tiling = vae.tiling();
  struct Case {
    std::vector<int64_t> shape;
    HvVaeTiling tiling;
    int tiles;
  };
  auto spatial_only = tiling;
  spatial_only.temporal = false;
  const Case cases[] = {
      {{1, 4, 8, 5, 7}, tiling, 3 * 2 * 3},    // temporal tiles 0/3/6, 2×3 spatial tiles each
      {{2, 4, 6, 4, 5}, tiling, 2 * 2 * 2},    // batch 2; 2×2 spatial tiles (one of 1×2 latents)
      {{1, 4, 2, 7, 4}, spatial_only, 3 * 2},  // 3×2 spatial tiles, no temporal tiles
      {{1, 4, 3, 4, 4}, tiling, 1},            // below both thresholds: one tile on every rank
  };
  auto gen = at::make_generator<at::CPUGeneratorImpl>(21);
  for (const auto& c : cases) {
    const auto z = at::randn(c.shape, gen);
    const auto serial = vae.decode(z, c.tiling);
    ASSERT_GT(serial.abs().max().item<double>(), 0.1);
    world.reset_stats();
    int calls = 0;
    const auto dealt = vae.decode(z, c.tiling, &world, [&] { ++calls; });
    EXPECT_EQ(calls, c.tiles);
    EXPECT_TRUE(equal_on_all_ranks(dealt, serial))
        << at::IntArrayRef(c.shape) << " on " << world.size() << " ranks";
    // Tiles went over the wire (summed over the ranks: with more ranks than tiles some send none).
    long long sent = static_cast<long long>(world.stats().bytes_sent);
    MPI_Allreduce(MPI_IN_PLACE, &sent, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
    if (world.size() > 1 && c.tiles > 1) {
      EXPECT_GT(sent, 0);
    }
    if (c.tiles == 1) {
      EXPECT_EQ(world.stats().bytes_sent, 0);
    }
  }
}

}  // namespace
}  // namespace uspdit::models::hv_vae
