// The HunyuanVideo VAE decoder against the committed fixture (tools/make_hv_vae_fixtures.py):
// untiled decodes against diffusers' AutoencoderKLHunyuanVideo decoder, tiled decodes against the
// original repository's tiling algorithm (which the fixture script checked against diffusers'
// tiled path and, optionally, the original module), the block-causal attention against the
// reference's loop-built mask, and the tile plan of the release's 720p decode.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "device_under_test.h"
#include "io/checkpoint.h"
#include "models/hv_vae/hv_vae_attention.h"
#include "models/hv_vae/hv_vae_decoder.h"
#include "models/hv_vae/hv_vae_loader.h"
#include "models/hv_vae/hv_vae_tiling.h"

namespace uspdit::models::hv_vae {
namespace {
namespace fs = std::filesystem;

const fs::path kTiny = fs::path(USPDIT_SOURCE_DIR) / "tests/data/hv_vae/tiny";

at::Tensor input(const std::string& name) {
  return io::open_checkpoint((kTiny / "inputs.safetensors").string())->load(name, at::kFloat);
}
at::Tensor expected(const std::string& name) {
  return io::open_checkpoint((kTiny / "outputs.safetensors").string())->load(name, at::kFloat);
}

double max_error(const at::Tensor& out, const at::Tensor& ref) {
  EXPECT_EQ(out.sizes(), ref.sizes());
  if (out.sizes() != ref.sizes()) return 1e9;
  return (out.cpu().to(at::kFloat) - ref).abs().max().item<double>();
}

TEST(HvVae, UntiledMatchesDiffusersInBothLayouts) {
  for (const fs::path& path :
       {kTiny / "original", kTiny / "original_wrapped/pytorch_model.pt", kTiny / "diffusers"}) {
    const auto vae = HvVaeDecoder::load(path.string(), testing::device_under_test());
    for (const char* sfx : {"", "_t1", "_b2"}) {
      const auto out = vae.decode(testing::on_device(input(std::string("z") + sfx)), HvVaeTiling::off());
      const double err = max_error(out, expected(std::string("sample") + sfx));
      EXPECT_LE(err, 1e-4) << path << " z" << sfx;
      std::printf("hv vae %s z%s untiled: max abs error vs diffusers %.3g\n", path.c_str(), sfx, err);
    }
  }
}

TEST(HvVae, TiledMatchesTheOriginalAlgorithm) {
  // original/config.json: sample_size 32, sample_tsize 16 -> 4-latent tiles at stride 3 in space
  // (8 px blend, 24 kept) and 4+1-latent tiles at stride 3 in time (4-frame blend, 13/12 kept).
  const auto vae = HvVaeDecoder::load((kTiny / "original").string(), testing::device_under_test());
  const auto tiling = vae.tiling();
  EXPECT_EQ(tiling.tile_latent_min_size, 4);
  EXPECT_EQ(tiling.tile_latent_min_tsize, 4);
  // 8 latents: temporal tiles at 0, 3, 6, each 3×3 spatial tiles. 7 latents: the tile at 6 is one
  // latent whose only frame is dropped, so 2 temporal tiles of 2×2.
  for (const auto& [sfx, tiles] : {std::pair<std::string, int>{"_tiled", 27}, {"_tiled_empty", 8}}) {
    const auto z = testing::on_device(input("z" + sfx));
    int calls = 0;
    const auto out = vae.decode(z, tiling, nullptr, [&] { ++calls; });
    EXPECT_EQ(calls, tiles) << sfx;
    const double err = max_error(out, expected("sample" + sfx));
    EXPECT_LE(err, 1e-4) << sfx;
    std::printf("hv vae z%s tiled (%d tiles): max abs error vs the original's tiling %.3g\n", sfx.c_str(),
                calls, err);
    // Tiling is approximate (tiles do not see past their edges, GroupNorm statistics per tile):
    // the tiled result must differ from the untiled one, or this would not test the tiling.
    EXPECT_GT((out - vae.decode(z, HvVaeTiling::off())).abs().max().item<double>(), 1e-2) << sfx;
  }
}

TEST(HvVae, SpatialOnlyAndTemporalOnlyTilingAreTheReferenceBranches) {
  const auto vae = HvVaeDecoder::load((kTiny / "diffusers").string(), at::kCPU);
  auto tiling = HvVaeTiling::from_config(load_hv_vae((kTiny / "original").string(), at::kCPU).config);
  const auto z = input("z_tiled");
  // Below both thresholds the tiled decode is the untiled one, bit for bit.
  const auto small = z.narrow(2, 0, 4).narrow(3, 0, 4).narrow(4, 0, 4);
  EXPECT_TRUE(vae.decode(small, tiling).equal(vae.decode(small, HvVaeTiling::off())));
  // Spatial tiling off: temporal tiles only (3 decoder calls).
  tiling.spatial = false;
  int calls = 0;
  vae.decode(z, tiling, nullptr, [&] { ++calls; });
  EXPECT_EQ(calls, 3);
}

TEST(HvVae, BlockCausalAttentionEqualsTheLoopMask) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(11);
  const int64_t frames = 3, hw = 6;
  const auto q = at::randn({2, 1, frames * hw, 8}, gen), k = at::randn({2, 1, frames * hw, 8}, gen),
             v = at::randn({2, 1, frames * hw, 8}, gen);
  const auto mask = causal_frame_mask(frames, hw, at::kFloat);
  // The reference's mask: row i sees exactly the tokens of frames <= i / hw.
  EXPECT_EQ(mask[0][hw - 1].item<float>(), 0.0f);
  EXPECT_TRUE(std::isinf(mask[0][hw].item<float>()));
  EXPECT_EQ(mask[2 * hw][3 * hw - 1].item<float>(), 0.0f);
  const auto masked = at::scaled_dot_product_attention(q, k, v, mask);
  const auto looped = block_causal_attention(q, k, v, frames);
  const double err = (masked - looped).abs().max().item<double>();
  EXPECT_LE(err, 1e-6);
  // And it is causal, not full attention.
  EXPECT_GT((at::scaled_dot_product_attention(q, k, v) - looped).abs().max().item<double>(), 1e-3);
}

TEST(HvVae, ReleaseTilePlan) {
  // The 720p release decode: 33×90×160 latents, temporal tiles at 0/12/24, each 4×7 spatial
  // tiles: 84 decoder calls; output 129×720×1280.
  HvVaeConfig release;
  release.sample_size = 256;
  release.sample_tsize = 64;
  const auto tiling = HvVaeTiling::from_config(release);
  EXPECT_EQ(tiling.tile_latent_min_size, 32);
  EXPECT_EQ(tiling.latent_stride(), 24);
  EXPECT_EQ(tiling.blend_pixels(), 64);
  EXPECT_EQ(tiling.row_limit(), 192);
  EXPECT_EQ(tiling.tile_latent_min_tsize, 16);
  EXPECT_EQ(tiling.latent_tstride(), 12);
  EXPECT_EQ(tiling.blend_frames(), 16);
  EXPECT_EQ(tiling.t_limit(), 48);
  const auto plan = plan_tiles(33, 90, 160, tiling);
  ASSERT_EQ(plan.temporal.size(), 3u);
  EXPECT_EQ(plan.tiles.size(), 84u);
  EXPECT_EQ(plan.temporal[1].grid_rows, 4);
  EXPECT_EQ(plan.temporal[1].grid_cols, 7);
  EXPECT_EQ(plan.tiles[28].t0, 12);
  EXPECT_EQ(plan.tiles[28].frames, 17);
  EXPECT_EQ(plan.tiles[56].frames, 9);
  EXPECT_EQ(plan.tiles[27].rows, 18);  // last row of the first grid: latents 72..90
  EXPECT_EQ(plan.tiles[27].cols, 16);  // last column: latents 144..160
  // Dealt to 8 ranks: every rank gets work, and the loads (latent volume) differ by less than
  // the largest tile.
  const auto owner = deal_tiles(plan, 8);
  std::vector<int64_t> load(8, 0);
  int64_t largest = 0;
  for (size_t k = 0; k < owner.size(); ++k) {
    const auto& t = plan.tiles[k];
    load[static_cast<size_t>(owner[k])] += t.frames * t.rows * t.cols;
    largest = std::max(largest, t.frames * t.rows * t.cols);
  }
  const auto [lo, hi] = std::minmax_element(load.begin(), load.end());
  EXPECT_GT(*lo, 0);
  EXPECT_LT(*hi - *lo, largest);
}

TEST(HvVae, HalfPrecisionFollowsTheFp32Path) {
  // The release's fp16 autocast path (fp16 convolutions, fp32 GroupNorm) stays close to fp32.
  const auto dev = testing::device_under_test();
  const auto vae16 = HvVaeDecoder::load((kTiny / "original").string(), dev, at::kHalf);
  EXPECT_EQ(vae16.dtype(), at::kHalf);
  const auto z = testing::on_device(input("z"));
  const auto out = vae16.decode(z, HvVaeTiling::off());
  EXPECT_EQ(out.scalar_type(), at::kHalf);
  const double err = max_error(out, expected("sample"));
  EXPECT_LE(err, 5e-2);
  EXPECT_GT(err, 0.0);
  std::printf("hv vae fp16 untiled: max abs error vs fp32 diffusers %.3g\n", err);
}

TEST(HvVae, BadLatentsAreRefused) {
  const auto vae = HvVaeDecoder::load((kTiny / "diffusers").string(), at::kCPU);
  EXPECT_THROW(vae.decode(at::zeros({1, 16, 2, 3, 3}), HvVaeTiling::off()), UsageError);
  EXPECT_THROW(vae.decode(at::zeros({4, 2, 3, 3}), HvVaeTiling::off()), UsageError);
  auto tiling = vae.tiling();
  tiling.tile_latent_min_size = 1;  // stride int(0.75) = 0
  EXPECT_THROW(vae.decode(at::zeros({1, 4, 1, 3, 3}), tiling), UsageError);
}

}  // namespace
}  // namespace uspdit::models::hv_vae
