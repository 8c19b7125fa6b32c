// The Wan-VAE decoder against diffusers' AutoencoderKLWan on the committed fixture
// (tools/make_wan_vae_fixtures.py): both checkpoint layouts, batch 2, a single latent frame; the
// config read from shapes and from config.json; the name map; broken checkpoints refused with
// one line naming the tensor.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "core/error.h"
#include "parallel/self_communicator.h"
#include "io/checkpoint.h"
#include "io/safetensors_writer.h"
#include "models/wan_vae/wan_vae_decoder.h"
#include "models/wan_vae/wan_vae_loader.h"
#include "models/wan_vae/wan_vae_name_map.h"
#include "device_under_test.h"

namespace uspdit::models::wan_vae {
namespace {
namespace fs = std::filesystem;

const fs::path kTiny = fs::path(USPDIT_SOURCE_DIR) / "tests/data/wan_vae/tiny";

double max_error(const WanVaeDecoder& vae, const std::string& suffix) {
  auto z = io::open_checkpoint((kTiny / "inputs.safetensors").string())->load("z" + suffix, at::kFloat);
  auto expected =
      io::open_checkpoint((kTiny / "outputs.safetensors").string())->load("sample" + suffix, at::kFloat);
  auto out = vae.decode(testing::on_device(z)).cpu();
  EXPECT_EQ(out.sizes(), expected.sizes()) << suffix;
  if (out.sizes() != expected.sizes()) return 1e9;
  return (out - expected).abs().max().item<double>();
}

TEST(WanVae, MatchesDiffusersInBothLayouts) {
  // The release file, the release directory (beside a DiT config.json it must not take), and
  // diffusers' folder.
  for (const fs::path& path : {kTiny / "original/Wan2.1_VAE.pth", kTiny / "original", kTiny / "diffusers"}) {
    const auto vae = WanVaeDecoder::load(path.string(), testing::device_under_test());
    for (const char* suffix : {"", "_b2", "_t1"}) {
      const double err = max_error(vae, suffix);
      EXPECT_LE(err, 1e-4) << path << " z" << suffix;
      std::printf("wan vae %s z%s: max abs error vs diffusers %.3g\n", path.filename().c_str(), suffix, err);
    }
  }
}

TEST(WanVae, TiledDecodeMatchesDiffusersTiling) {
  // diffusers' enable_tiling(32, 32, 24, 24) on a 72×88 frame: 3×4 overlapping tiles, partial
  // edge tiles, blended in diffusers' order.
  const auto vae = WanVaeDecoder::load((kTiny / "diffusers").string(), testing::device_under_test());
  const auto z =
      testing::on_device(io::open_checkpoint((kTiny / "inputs.safetensors").string())->load("z_tiled", at::kFloat));
  const auto expected = io::open_checkpoint((kTiny / "outputs.safetensors").string())->load("sample_tiled", at::kFloat);
  int tiles = 0;
  const auto out = vae.decode_tiled(z, VaeTiling{32, 24}, nullptr, [&] { ++tiles; }).cpu();
  EXPECT_EQ(tiles, 12);
  ASSERT_EQ(out.sizes(), expected.sizes());
  const double err = (out - expected).abs().max().item<double>();
  EXPECT_LE(err, 1e-4);
  std::printf("wan vae tiled: max abs error vs diffusers tiled_decode %.3g\n", err);
  // Tiling is not exact (tiles do not see past their edges): it must differ from the full decode,
  // or the test would not be testing the tiling.
  EXPECT_GT((out - vae.decode(z).cpu()).abs().max().item<double>(), 1e-3);
  EXPECT_THROW(vae.decode_tiled(z, VaeTiling{30, 24}), UsageError);
}

TEST(WanVae, ConfigFromShapesEqualsConfigJson) {
  const auto from_shapes = load_wan_vae((kTiny / "original/Wan2.1_VAE.pth").string(), at::kCPU);
  const auto from_json = load_wan_vae((kTiny / "diffusers").string(), at::kCPU);
  EXPECT_EQ(from_shapes.layout, WanVaeLayout::kOriginal);
  EXPECT_EQ(from_json.layout, WanVaeLayout::kDiffusers);
  for (const auto* c : {&from_shapes.config, &from_json.config}) {
    EXPECT_EQ(c->base_dim, 8);
    EXPECT_EQ(c->z_dim, 16);
    EXPECT_EQ(c->dim_mult, (std::vector<int64_t>{1, 1, 1, 1}));
    EXPECT_EQ(c->num_res_blocks, 1);
    EXPECT_EQ(c->temporal_downsample, (std::vector<bool>{false, true, true}));
    EXPECT_DOUBLE_EQ(c->latents_mean.at(7), 1.5508);
    EXPECT_DOUBLE_EQ(c->latents_std.at(8), 3.2687);
  }
  // Same tensors, bit for bit, whichever layout they came from.
  ASSERT_EQ(from_shapes.weights.size(), from_json.weights.size());
  for (const auto& [name, t] : from_shapes.weights) EXPECT_TRUE(t.equal(from_json.weights.at(name))) << name;
}

TEST(WanVae, PipelineRootAndSelfCommunicator) {
  const fs::path root = fs::temp_directory_path() / ("uspdit_vae_root_" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root);
  fs::create_directory_symlink(kTiny / "diffusers", root / "vae");
  const auto vae = WanVaeDecoder::load(root.string(), at::kCPU);
  fs::remove_all(root);
  auto z = io::open_checkpoint((kTiny / "inputs.safetensors").string())->load("z", at::kFloat);
  parallel::SelfCommunicator self;
  EXPECT_TRUE(vae.decode(z, &self).equal(vae.decode(z)));
}

TEST(WanVae, NameMapOfTheRelease) {
  // Rows of diffusers' scripts/convert_wan_to_diffusers.py for the real VAE (num_res_blocks 2).
  const std::pair<const char*, const char*> rows[] = {
      {"post_quant_conv.weight", "conv2.weight"},
      {"decoder.conv_in.bias", "decoder.conv1.bias"},
      {"decoder.mid_block.resnets.0.norm1.gamma", "decoder.middle.0.residual.0.gamma"},
      {"decoder.mid_block.resnets.1.conv2.weight", "decoder.middle.2.residual.6.weight"},
      {"decoder.mid_block.attentions.0.to_qkv.weight", "decoder.middle.1.to_qkv.weight"},
      {"decoder.up_blocks.0.resnets.2.norm2.gamma", "decoder.upsamples.2.residual.3.gamma"},
      {"decoder.up_blocks.0.upsamplers.0.time_conv.weight", "decoder.upsamples.3.time_conv.weight"},
      {"decoder.up_blocks.1.resnets.0.conv_shortcut.bias", "decoder.upsamples.4.shortcut.bias"},
      {"decoder.up_blocks.1.resnets.0.conv1.weight", "decoder.upsamples.4.residual.2.weight"},
      {"decoder.up_blocks.2.upsamplers.0.resample.1.weight", "decoder.upsamples.11.resample.1.weight"},
      {"decoder.up_blocks.3.resnets.2.conv2.bias", "decoder.upsamples.14.residual.6.bias"},
      {"decoder.norm_out.gamma", "decoder.head.0.gamma"},
      {"decoder.conv_out.weight", "decoder.head.2.weight"},
  };
  for (const auto& [d, o] : rows) EXPECT_EQ(diffusers_to_engine_name(d, 2), o);
  EXPECT_EQ(diffusers_to_engine_name("decoder.up_blocks.1.upsamplers.0.resample.1.bias", 1),
            "decoder.upsamples.5.resample.1.bias");
  EXPECT_TRUE(is_encoder_key("quant_conv.weight", WanVaeLayout::kDiffusers));
  EXPECT_TRUE(is_encoder_key("conv1.weight", WanVaeLayout::kOriginal));
  EXPECT_FALSE(is_encoder_key("conv2.weight", WanVaeLayout::kOriginal));
  // Wan2.1_VAE.pth holds 194 tensors; 108 of them are conv2 and the decoder's.
  EXPECT_EQ(wan_vae_decoder_specs(WanVaeConfig{}).size(), 108u);
}

// Broken copies of the diffusers fixture: each is refused with one line naming the tensor.
class WanVaeBadCheckpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("uspdit_vae_bad_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    fs::copy_file(kTiny / "diffusers/config.json", dir_ / "config.json");
    auto source = io::open_checkpoint((kTiny / "diffusers").string());
    for (const auto& name : source->names()) tensors_.emplace_back(name, source->load(name));
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string refusal() {
    io::write_safetensors((dir_ / "diffusion_pytorch_model.safetensors").string(), tensors_);
    try {
      WanVaeDecoder::load(dir_.string(), at::kCPU);
    } catch (const UsageError& e) {
      return e.what();
    }
    return "(accepted)";
  }
  void expect_refused(const std::string& needle) {
    const std::string message = refusal();
    EXPECT_NE(message.find(needle), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }

  fs::path dir_;
  std::vector<std::pair<std::string, at::Tensor>> tensors_;
};

TEST_F(WanVaeBadCheckpoint, MissingTensor) {
  std::erase_if(tensors_, [](const auto& p) {
    return p.first == "decoder.up_blocks.1.resnets.0.conv_shortcut.weight";
  });
  expect_refused("missing tensor 'decoder.upsamples.3.shortcut.weight'");
}

TEST_F(WanVaeBadCheckpoint, WrongShape) {
  for (auto& [name, t] : tensors_) {
    if (name == "decoder.mid_block.attentions.0.proj.weight") t = at::zeros({8, 8, 3, 3});
  }
  expect_refused(
      "'decoder.mid_block.attentions.0.proj.weight' has shape [8, 8, 3, 3], expected [8, 8, 1, 1]");
}

TEST_F(WanVaeBadCheckpoint, EncoderKeysAreNotNeeded) {
  std::erase_if(tensors_, [](const auto& p) {
    return p.first.rfind("encoder.", 0) == 0 || p.first.rfind("quant_conv.", 0) == 0;
  });
  EXPECT_EQ(refusal(), "(accepted)");
}

TEST_F(WanVaeBadCheckpoint, UnexpectedDecoderTensor) {
  tensors_.emplace_back("decoder.up_blocks.3.upsamplers.0.resample.1.weight", at::zeros({4, 8, 3, 3}));
  expect_refused("unexpected tensor 'decoder.up_blocks.3.upsamplers.0.resample.1.weight'");
}

TEST(WanVaeErrors, BadPathsAndLatents) {
  auto message = [](auto&& fn) -> std::string {
    try {
      fn();
    } catch (const UsageError& e) {
      return e.what();
    }
    return "(accepted)";
  };
  EXPECT_NE(message([] { WanVaeDecoder::load("/nonexistent/vae", at::kCPU); }).find("does not exist"),
            std::string::npos);
  // A Wan DiT folder is not a VAE.
  const std::string dit = std::string(USPDIT_SOURCE_DIR) + "/tests/data/wan/tiny/diffusers";
  EXPECT_NE(message([&] { WanVaeDecoder::load(dit, at::kCPU); }).find("expected AutoencoderKLWan"), std::string::npos);
  const auto vae = WanVaeDecoder::load((kTiny / "diffusers").string(), at::kCPU);
  EXPECT_NE(message([&] {
              vae.decode(at::zeros({1, 4, 2, 3, 3}));
            }).find("latents must be [B, 16, T, h, w]"),
            std::string::npos);
}

}  // namespace
}  // namespace uspdit::models::wan_vae
