// Loading the HunyuanVideo VAE: both config.json layouts read to the same decoder config, both
// weight layouts (the release's vae.-prefixed torch pickle, plain or under "state_dict", and
// diffusers' safetensors) load to the same tensors, and broken folders are refused with one line
// naming the file.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/checkpoint.h"
#include "io/json.h"
#include "io/safetensors_writer.h"
#include "models/hv_vae/hv_vae_config.h"
#include "models/hv_vae/hv_vae_loader.h"
#include "models/hv_vae/hv_vae_tiling.h"

namespace uspdit::models::hv_vae {
namespace {
namespace fs = std::filesystem;

const fs::path kTiny = fs::path(USPDIT_SOURCE_DIR) / "tests/data/hv_vae/tiny";

std::string refusal(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(HvVaeLoader, BothConfigLayouts) {
  HvVaeFamily original_family, diffusers_family;
  const auto original = read_hv_vae_config((kTiny / "original/config.json").string(), &original_family);
  const auto diffusers = read_hv_vae_config((kTiny / "diffusers/config.json").string(), &diffusers_family);
  EXPECT_EQ(original_family, HvVaeFamily::kOriginal);
  EXPECT_EQ(diffusers_family, HvVaeFamily::kDiffusers);
  for (const auto* c : {&original, &diffusers}) {
    EXPECT_EQ(c->latent_channels, 4);
    EXPECT_EQ(c->block_out_channels, (std::vector<int64_t>{8, 8, 8, 8}));
    EXPECT_EQ(c->layers_per_block, 1);
    EXPECT_EQ(c->norm_num_groups, 4);
    EXPECT_EQ(c->time_compression_ratio, 4);
    EXPECT_EQ(c->spatial_compression_ratio, 8);
    EXPECT_DOUBLE_EQ(c->scaling_factor, 0.476986);
    EXPECT_TRUE(c->mid_block_add_attention);
  }
  // Only the release's config sets the tiles; diffusers' gets the release's 256 / 64.
  EXPECT_EQ(original.sample_size, 32);
  EXPECT_EQ(original.sample_tsize, 16);
  EXPECT_EQ(diffusers.sample_size, 256);
  EXPECT_EQ(diffusers.sample_tsize, 64);
  // The up-block rule: (1,2,2), (2,2,2), (2,2,2), none.
  const auto blocks = decoder_up_blocks(original);
  ASSERT_EQ(blocks.size(), 4u);
  EXPECT_TRUE(blocks[0].upsample_space && !blocks[0].upsample_time);
  EXPECT_TRUE(blocks[1].upsample_space && blocks[1].upsample_time);
  EXPECT_TRUE(blocks[2].upsample_space && blocks[2].upsample_time);
  EXPECT_FALSE(blocks[3].upsample_space || blocks[3].upsample_time);
  // Without _class_name the keys tell.
  EXPECT_EQ(detect_family(io::Json::parse(R"({"time_compression_ratio": 4})", "x"), "x"),
            HvVaeFamily::kOriginal);
  EXPECT_EQ(detect_family(io::Json::parse(R"({"temporal_compression_ratio": 4})", "x"), "x"),
            HvVaeFamily::kDiffusers);
}

TEST(HvVaeLoader, ReleaseDecoderHas140Tensors) {
  // post_quant_conv 2, conv_in 2, mid resnets 2·8, attention 10, up blocks 4·3 resnets of 8 plus
  // 2 shortcuts (512->256, 256->128) and 3 upsamplers of 2, conv_norm_out 2, conv_out 2: as many
  // as diffusers' AutoencoderKLHunyuanVideo() has under decoder.* and post_quant_conv.*.
  HvVaeConfig release;
  const auto specs = hv_vae_decoder_specs(release);
  EXPECT_EQ(specs.size(), 140u);
}

TEST(HvVaeLoader, AllLayoutsLoadTheSameTensors) {
  const auto reference = load_hv_vae((kTiny / "diffusers").string(), at::kCPU);
  EXPECT_EQ(reference.family, HvVaeFamily::kDiffusers);
  EXPECT_EQ(reference.weights.size(), hv_vae_decoder_specs(reference.config).size());
  for (const fs::path& path :
       {kTiny / "original", kTiny / "original/pytorch_model.pt", kTiny / "original_wrapped"}) {
    const auto other = load_hv_vae(path.string(), at::kCPU);
    EXPECT_EQ(other.family, HvVaeFamily::kOriginal) << path;
    ASSERT_EQ(other.weights.size(), reference.weights.size()) << path;
    for (const auto& [name, t] : reference.weights)
      EXPECT_TRUE(t.equal(other.weights.at(name))) << path << " " << name;
  }
  // fp16 as the release runs it.
  const auto half = load_hv_vae((kTiny / "original").string(), at::kCPU, at::kHalf);
  EXPECT_EQ(half.weights.at("decoder.conv_out.conv.weight").scalar_type(), at::kHalf);
}

// A scratch copy of a fixture folder, changed by each test.
class HvVaeBadFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("uspdit_hv_vae_bad_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void copy(const std::string& from, const std::string& name) {
    fs::copy_file(kTiny / from / name, dir_ / name);
  }
  void write_diffusers(const std::function<void(std::vector<std::pair<std::string, at::Tensor>>&)>& edit) {
    copy("diffusers", "config.json");
    auto source = io::open_checkpoint((kTiny / "diffusers").string());
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    for (const auto& name : source->names()) tensors.emplace_back(name, source->load(name));
    edit(tensors);
    io::write_safetensors((dir_ / "diffusion_pytorch_model.safetensors").string(), tensors);
  }
  void expect_refused(const std::string& needle) {
    const std::string message = refusal([&] { load_hv_vae(dir_.string(), at::kCPU); });
    EXPECT_NE(message.find(needle), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }

  fs::path dir_;
};

TEST_F(HvVaeBadFolder, TruncatedTorchFile) {
  copy("original", "config.json");
  const auto full = fs::file_size(kTiny / "original/pytorch_model.pt");
  std::ifstream in(kTiny / "original/pytorch_model.pt", std::ios::binary);
  std::string bytes(full / 2, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  std::ofstream((dir_ / "pytorch_model.pt").string(), std::ios::binary) << bytes;
  expect_refused((dir_ / "pytorch_model.pt").string());
}

TEST_F(HvVaeBadFolder, TruncatedSafetensors) {
  write_diffusers([](auto&) {});
  const auto file = dir_ / "diffusion_pytorch_model.safetensors";
  fs::resize_file(file, fs::file_size(file) - 100);
  expect_refused(file.string());
}

TEST_F(HvVaeBadFolder, MissingTensor) {
  write_diffusers([](auto& t) {
    std::erase_if(t, [](const auto& p) { return p.first == "decoder.mid_block.attentions.0.to_k.bias"; });
  });
  expect_refused("missing tensor 'decoder.mid_block.attentions.0.to_k.bias'");
}

TEST_F(HvVaeBadFolder, WrongShape) {
  write_diffusers([](auto& t) {
    for (auto& [name, tensor] : t) {
      if (name == "decoder.conv_in.conv.weight") tensor = at::zeros({8, 4, 1, 3, 3});
    }
  });
  expect_refused("'decoder.conv_in.conv.weight' has shape [8, 4, 1, 3, 3], expected [8, 4, 3, 3, 3]");
}

TEST_F(HvVaeBadFolder, EncoderTensorsAreNotNeeded) {
  write_diffusers([](auto& t) { std::erase_if(t, [](const auto& p) { return !is_decoder_key(p.first); }); });
  EXPECT_EQ(refusal([&] { load_hv_vae(dir_.string(), at::kCPU); }), "(accepted)");
}

TEST_F(HvVaeBadFolder, WeightFileOfTheOtherLayout) {
  // The release's config beside diffusers' weights only.
  copy("original", "config.json");
  fs::copy_file(kTiny / "diffusers/diffusion_pytorch_model.safetensors",
                dir_ / "diffusion_pytorch_model.safetensors");
  expect_refused("no pytorch_model.pt");
}

TEST_F(HvVaeBadFolder, ConfigOfAnotherModel) {
  std::ofstream((dir_ / "config.json").string()) << R"({"_class_name": "AutoencoderKLWan", "z_dim": 16})";
  expect_refused("expected AutoencoderKLCausal3D");
  std::ofstream((dir_ / "config.json").string())
      << R"({"_class_name": "AutoencoderKLCausal3D", "act_fn": "gelu"})";
  expect_refused("act_fn is 'gelu'");
  std::ofstream((dir_ / "config.json").string())
      << R"({"_class_name": "AutoencoderKLHunyuanVideo", "temporal_compression_ratio": 8})";
  expect_refused("time_compression_ratio must be 4");
}

TEST(HvVaeLoaderErrors, MissingPaths) {
  EXPECT_NE(refusal([] { load_hv_vae("/nonexistent/vae", at::kCPU); }).find("does not exist"),
            std::string::npos);
  EXPECT_NE(refusal([] {
              load_hv_vae(std::string(USPDIT_SOURCE_DIR) + "/tests", at::kCPU);
            }).find("no config.json"),
            std::string::npos);
}

}  // namespace
}  // namespace uspdit::models::hv_vae
