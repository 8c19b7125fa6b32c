// HunyuanVideo DiT: config.json of both layouts and from tensor shapes, locating checkpoints,
// the diffusers recipes (both layouts load to bit-identical engine tensors), ema, fp8 and the
// one-line errors for broken checkpoints.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "core/error.h"
#include "io/checkpoint.h"
#include "io/safetensors_writer.h"
#include "models/hunyuan_video/hv_config_json.h"
#include "models/hunyuan_video/hv_loader.h"
#include "models/hunyuan_video/hv_name_map.h"
#include "models/hunyuan_video/hv_tensors.h"

namespace uspdit::models::hunyuan_video {
namespace {
namespace fs = std::filesystem;

const fs::path kData = fs::path(USPDIT_SOURCE_DIR) / "tests/data/hunyuan";
const char* const kFixtures[] = {"tiny", "real_like"};

void expect_same(const HvConfig& a, const HvConfig& b, const std::string& what) {
  SCOPED_TRACE(what);
  EXPECT_EQ(a.hidden, b.hidden);
  EXPECT_EQ(a.heads, b.heads);
  EXPECT_EQ(a.mlp_ratio, b.mlp_ratio);
  EXPECT_EQ(a.mlp_hidden(), b.mlp_hidden());
  EXPECT_EQ(a.double_blocks, b.double_blocks);
  EXPECT_EQ(a.single_blocks, b.single_blocks);
  EXPECT_EQ(a.refiner_blocks, b.refiner_blocks);
  EXPECT_EQ(a.rope_axes, b.rope_axes);
  EXPECT_EQ(a.rope_theta, b.rope_theta);
  EXPECT_EQ(a.patch, b.patch);
  EXPECT_EQ(a.in_channels, b.in_channels);
  EXPECT_EQ(a.out_channels, b.out_channels);
  EXPECT_EQ(a.text_dim, b.text_dim);
  EXPECT_EQ(a.pooled_dim, b.pooled_dim);
  EXPECT_EQ(a.guidance_embed, b.guidance_embed);
  EXPECT_EQ(a.eps, b.eps);
}

HvConfig parse(const std::string& text) {
  return hv_config_from_json(io::Json::parse(text, "dir/config.json"), "dir/config.json");
}

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no UsageError)";
}

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << (haystack)

// A fresh directory per test, removed afterwards.
class HvTempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("uspdit_hv_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

// ---- config.json ------------------------------------------------------------------------------

TEST(HvConfigJson, BothLayoutsOfTheFixturesAgree) {
  for (const char* name : kFixtures) {
    const auto original = read_hv_config((kData / name / "original/config.json").string());
    const auto diffusers = read_hv_config((kData / name / "diffusers/config.json").string());
    expect_same(original, diffusers, name);
  }
  const auto tiny = read_hv_config((kData / "tiny/diffusers/config.json").string());
  EXPECT_EQ(tiny.hidden, 20);
  EXPECT_EQ(tiny.heads, 2);
  EXPECT_EQ(tiny.mlp_hidden(), 80);
  EXPECT_EQ(tiny.double_blocks, 1);
  EXPECT_EQ(tiny.single_blocks, 1);
  EXPECT_EQ(tiny.refiner_blocks, 1);
  EXPECT_EQ(tiny.patch, (std::array<int64_t, 3>{1, 1, 1}));
  EXPECT_EQ(tiny.rope_axes, (std::array<int64_t, 3>{2, 4, 4}));
  EXPECT_EQ(tiny.in_channels, 4);
  EXPECT_EQ(tiny.text_dim, 16);
  EXPECT_EQ(tiny.pooled_dim, 8);
  EXPECT_TRUE(tiny.guidance_embed);
  const auto real = read_hv_config((kData / "real_like/original/config.json").string());
  EXPECT_EQ(real.hidden, 128);
  EXPECT_EQ(real.heads, 1);
  EXPECT_EQ(real.mlp_ratio, 1.5);
  EXPECT_EQ(real.mlp_hidden(), 192);
  EXPECT_EQ(real.patch, (std::array<int64_t, 3>{1, 2, 2}));
  EXPECT_EQ(real.rope_axes, (std::array<int64_t, 3>{16, 56, 56}));
  EXPECT_EQ(real.in_channels, 16);
  EXPECT_EQ(real.out_channels, 16);
  EXPECT_EQ(real.text_dim, 32);
  EXPECT_EQ(real.rope_theta, 256.0);
}

TEST(HvConfigJson, RealModelAndMissingFieldsArePreset) {
  const auto preset = hv_preset("hunyuanvideo");
  // hunyuanvideo-community/HunyuanVideo transformer/config.json.
  expect_same(parse(R"({"_class_name": "HunyuanVideoTransformer3DModel", "_diffusers_version": "0.32.0.dev0",
    "attention_head_dim": 128, "guidance_embeds": true, "in_channels": 16, "mlp_ratio": 4.0,
    "num_attention_heads": 24, "num_layers": 20, "num_refiner_layers": 2, "num_single_layers": 40,
    "out_channels": 16, "patch_size": 2, "patch_size_t": 1, "pooled_projection_dim": 768, "qk_norm": "rms_norm",
    "rope_axes_dim": [16, 56, 56], "rope_theta": 256.0, "text_embed_dim": 4096})"),
              preset, "real diffusers config");
  expect_same(parse(R"({"_class_name": "HunyuanVideoTransformer3DModel"})"), preset, "empty diffusers");
  expect_same(parse(R"({"_class_name": "HYVideoDiffusionTransformer"})"), preset, "empty original");
  // Recognised without _class_name; an int patch_size applies to all three axes.
  const auto c =
      parse(R"({"hidden_size": 256, "heads_num": 2, "patch_size": 1, "rope_dim_list": [32, 48, 48]})");
  EXPECT_EQ(c.heads, 2);
  EXPECT_EQ(c.patch, (std::array<int64_t, 3>{1, 1, 1}));
  EXPECT_EQ(c.double_blocks, preset.double_blocks);
}

TEST(HvConfigJson, BadConfigsNameTheFileAndField) {
  const auto i2v = error_of([] {
    parse(R"({"_class_name": "HunyuanVideoTransformer3DModel", "image_condition_type": "latent_concat"})");
  });
  EXPECT_CONTAINS(i2v, "dir/config.json");
  EXPECT_CONTAINS(i2v, "image_condition_type");
  EXPECT_CONTAINS(i2v, "image-to-video");
  EXPECT_CONTAINS(
      error_of([] { parse(R"({"_class_name": "HYVideoDiffusionTransformer", "hidden_size": "big"})"); }),
      "dir/config.json: \"hidden_size\" must be an integer, got a string");
  EXPECT_CONTAINS(error_of([] { parse(R"({"_class_name": "WanModel"})"); }), "not a HunyuanVideo DiT config");
  EXPECT_CONTAINS(
      error_of([] { parse(R"({"hidden_size": 3072, "heads_num": 24, "rope_dim_list": [16, 56, 64]})"); }),
      "rope_dim_list sums to 136");
  EXPECT_CONTAINS(error_of([] { parse(R"({"hidden_size": 3072, "heads_num": 5})"); }),
                  "not divisible by heads_num");
  EXPECT_CONTAINS(error_of([] { parse(R"({"hidden_size": 3072, "mlp_act_type": "gelu"})"); }),
                  "\"mlp_act_type\"");
  EXPECT_CONTAINS(error_of([] { parse(R"({"num_attention_heads": 24, "qk_norm": "layer_norm"})"); }),
                  "\"qk_norm\"");
  EXPECT_CONTAINS(error_of([] { parse(R"({"num_attention_heads": 24, "rope_axes_dim": [16, 56]})"); }),
                  "\"rope_axes_dim\" must be a list of 3 integers");
  EXPECT_CONTAINS(error_of([] { read_hv_config("/nonexistent/config.json"); }), "/nonexistent/config.json");
}

// ---- config from shapes -----------------------------------------------------------------------

TEST(HvConfigFromShapes, EqualsConfigJsonForHeadDim128) {
  const auto source =
      io::open_checkpoint((kData / "real_like/original/mp_rank_00_model_states.pt").string(), "module");
  expect_same(config_from_shapes(*source),
              read_hv_config((kData / "real_like/original/config.json").string()), "real_like");
}

TEST(HvConfigFromShapes, OtherHeadDimNeedsAConfigJson) {
  const auto source =
      io::open_checkpoint((kData / "tiny/original/mp_rank_00_model_states.pt").string(), "module");
  const auto message = error_of([&] { config_from_shapes(*source); });
  EXPECT_CONTAINS(message, "head_dim is 10");
  EXPECT_CONTAINS(message, "rope_dim_list");
  EXPECT_CONTAINS(message, "config.json");
  EXPECT_CONTAINS(message, "mp_rank_00_model_states.pt");
}

TEST(HvConfigFromShapes, DiffusersNamesAreRefused) {
  const auto source = io::open_checkpoint((kData / "tiny/diffusers").string());
  EXPECT_CONTAINS(error_of([&] { config_from_shapes(*source); }), "diffusers");
}

// ---- locating ---------------------------------------------------------------------------------

TEST(HvLocate, OriginalDirectoryAndFile) {
  for (const fs::path& path : {kData / "tiny/original", kData / "tiny/original/mp_rank_00_model_states.pt"}) {
    const auto ckpt = locate_hv_checkpoint(path.string());
    EXPECT_EQ(fs::path(ckpt.weights).filename(), "mp_rank_00_model_states.pt");
    EXPECT_TRUE(ckpt.torch_file);
    EXPECT_TRUE(ckpt.fp8_map.empty());
    EXPECT_EQ(fs::path(ckpt.config_file), kData / "tiny/original/config.json");
    EXPECT_EQ(ckpt.layout, HvLayout::kOriginal);
    EXPECT_EQ(ckpt.config.hidden, 20);
  }
}

TEST(HvLocate, Fp8FileFindsItsScaleFile) {
  const auto ckpt = locate_hv_checkpoint((kData / "tiny/original/mp_rank_00_model_states_fp8.pt").string());
  EXPECT_EQ(fs::path(ckpt.fp8_map), kData / "tiny/original/mp_rank_00_model_states_fp8_map.pt");
  EXPECT_EQ(ckpt.layout, HvLayout::kOriginal);
  EXPECT_CONTAINS(
      error_of([] {
        locate_hv_checkpoint((kData / "tiny/original/mp_rank_00_model_states_fp8_map.pt").string());
      }),
      "is the fp8 scale file");
}

TEST(HvLocate, DiffusersTransformerFolder) {
  const auto ckpt = locate_hv_checkpoint((kData / "tiny/diffusers").string());
  EXPECT_EQ(ckpt.layout, HvLayout::kDiffusers);
  EXPECT_FALSE(ckpt.torch_file);
  EXPECT_EQ(fs::path(ckpt.config_file), kData / "tiny/diffusers/config.json");
  EXPECT_EQ(ckpt.config.heads, 2);
}

class HvLocateTemp : public HvTempDir {};

TEST_F(HvLocateTemp, DiffusersPipelineRoot) {
  fs::create_directory_symlink(kData / "real_like/diffusers", dir_ / "transformer");
  const auto ckpt = locate_hv_checkpoint(dir_.string());
  EXPECT_EQ(ckpt.layout, HvLayout::kDiffusers);
  EXPECT_EQ(fs::path(ckpt.weights), dir_ / "transformer");
  EXPECT_EQ(ckpt.config.hidden, 128);
}

TEST_F(HvLocateTemp, ReleaseTreeWithoutConfigDerivesIt) {
  const fs::path transformers = dir_ / "hunyuan-video-t2v-720p/transformers";
  fs::create_directories(transformers);
  fs::create_symlink(kData / "real_like/original/mp_rank_00_model_states.pt",
                     transformers / "mp_rank_00_model_states.pt");
  for (const fs::path& path : {dir_, dir_ / "hunyuan-video-t2v-720p", transformers}) {
    const auto ckpt = locate_hv_checkpoint(path.string());
    EXPECT_EQ(fs::path(ckpt.weights), transformers / "mp_rank_00_model_states.pt");
    EXPECT_TRUE(ckpt.config_file.empty());
    expect_same(ckpt.config, read_hv_config((kData / "real_like/original/config.json").string()),
                path.string());
  }
  // A config.json beside the .pt overrides the shapes (here: a different rope split).
  std::ofstream(transformers / "config.json")
      << R"({"_class_name": "HYVideoDiffusionTransformer", "hidden_size": 128, "heads_num": 1, "mlp_width_ratio": 1.5,
            "mm_double_blocks_depth": 1, "mm_single_blocks_depth": 1, "token_refiner_depth": 1, "text_states_dim": 32,
            "text_states_dim_2": 8, "rope_dim_list": [32, 48, 48]})";
  const auto ckpt = locate_hv_checkpoint(dir_.string());
  EXPECT_EQ(fs::path(ckpt.config_file), transformers / "config.json");
  EXPECT_EQ(ckpt.config.rope_axes, (std::array<int64_t, 3>{32, 48, 48}));
}

TEST_F(HvLocateTemp, NothingThere) {
  EXPECT_CONTAINS(error_of([&] { locate_hv_checkpoint(dir_.string()); }),
                  "neither the original HunyuanVideo release");
  EXPECT_CONTAINS(error_of([&] { locate_hv_checkpoint((dir_ / "nope").string()); }), "does not exist");
  // An fp8 .pt without its scale file.
  fs::create_symlink(kData / "tiny/original/mp_rank_00_model_states_fp8.pt",
                     dir_ / "mp_rank_00_model_states_fp8.pt");
  EXPECT_CONTAINS(error_of([&] { locate_hv_checkpoint(dir_.string()); }),
                  "mp_rank_00_model_states_fp8_map.pt is missing");
}

TEST(HvLocate, PickleThatIsNotAStateDict) {
  const auto message = error_of(
      [] { locate_hv_checkpoint((fs::path(USPDIT_SOURCE_DIR) / "tests/data/io/list_top.pt").string()); });
  EXPECT_CONTAINS(message, "list_top.pt");
  EXPECT_CONTAINS(message, "not a state dict");
}

// ---- recipes ----------------------------------------------------------------------------------

TEST(HvNameMap, RecipesCoverEverySpecAndEveryDiffusersTensor) {
  for (const char* name : kFixtures) {
    const auto config = read_hv_config((kData / name / "diffusers/config.json").string());
    const auto specs = hv_tensor_specs(config);
    const auto recipes = hv_diffusers_recipes(config);
    ASSERT_EQ(recipes.size(), specs.size());
    std::set<std::string> parts;
    for (size_t i = 0; i < specs.size(); ++i) {
      EXPECT_EQ(recipes[i].engine, specs[i].name);
      int64_t rows = 0;
      for (const auto& p : recipes[i].parts) {
        EXPECT_TRUE(parts.insert(p.name).second) << p.name << " used twice";
        rows += p.shape[0];
      }
      if (recipes[i].op == HvOp::kConcat) {
        EXPECT_EQ(rows, specs[i].shape[0]) << specs[i].name;
      }
    }
    const auto source = io::open_checkpoint((kData / name / "diffusers").string());
    EXPECT_EQ(parts, std::set<std::string>(source->names().begin(), source->names().end())) << name;
    EXPECT_EQ(detect_hv_layout(source->names()), HvLayout::kDiffusers);
  }
  const auto config = read_hv_config((kData / "real_like/diffusers/config.json").string());
  for (const auto& r : hv_diffusers_recipes(config)) {
    if (r.engine == "single_blocks.0.linear1.weight") {
      ASSERT_EQ(r.parts.size(), 4u);
      EXPECT_EQ(r.parts[3].name, "single_transformer_blocks.0.proj_mlp.weight");
      EXPECT_EQ(r.parts[3].shape, (std::vector<int64_t>{192, 128}));
    }
    if (r.engine == "final_layer.adaLN_modulation.1.bias") {
      EXPECT_EQ(r.op, HvOp::kSwapHalves);
    }
  }
}

// ---- loading ----------------------------------------------------------------------------------

std::map<std::string, at::Tensor> load(const fs::path& path, at::ScalarType dtype,
                                       const std::string& key = "module") {
  const auto ckpt = locate_hv_checkpoint(path.string());
  return load_hv_tensors(ckpt, ckpt.config, dtype, at::kCPU, key);
}

TEST(HvLoader, BothLayoutsGiveBitIdenticalEngineTensors) {
  for (const char* name : kFixtures) {
    const auto config = read_hv_config((kData / name / "original/config.json").string());
    const auto specs = hv_tensor_specs(config);
    for (const auto dtype : {at::kFloat, at::kBFloat16}) {
      SCOPED_TRACE(std::string(name) + " " + io::dtype_name(dtype));
      const auto original = load(kData / name / "original", dtype);
      const auto diffusers = load(kData / name / "diffusers", dtype);
      ASSERT_EQ(original.size(), specs.size());
      ASSERT_EQ(diffusers.size(), specs.size());
      for (const auto& spec : specs) {
        const at::Tensor& a = original.at(spec.name);
        const at::Tensor& b = diffusers.at(spec.name);
        EXPECT_EQ(a.scalar_type(), holding_dtype(spec, dtype)) << spec.name;
        EXPECT_EQ(b.scalar_type(), holding_dtype(spec, dtype)) << spec.name;
        EXPECT_EQ(a.sizes().vec(), spec.shape) << spec.name;
        EXPECT_TRUE(a.is_contiguous() && b.is_contiguous()) << spec.name;
        EXPECT_TRUE(at::equal(a, b)) << spec.name;
      }
    }
  }
}

TEST(HvLoader, RecipesPutTheDiffusersRowsWhereTheReleaseHasThem) {
  const auto source = io::open_checkpoint((kData / "real_like/diffusers").string());
  const auto engine = load(kData / "real_like/original", at::kFloat);
  const int64_t h = 128, mlp = 192;
  auto d = [&](const std::string& n) { return source->load(n, at::kFloat); };
  const auto& qkv = engine.at("double_blocks.0.txt_attn_qkv.weight");
  EXPECT_TRUE(at::equal(qkv.narrow(0, h, h), d("transformer_blocks.0.attn.add_k_proj.weight")));
  const auto& linear1 = engine.at("single_blocks.0.linear1.bias");
  EXPECT_TRUE(at::equal(linear1.narrow(0, 2 * h, h), d("single_transformer_blocks.0.attn.to_v.bias")));
  EXPECT_TRUE(at::equal(linear1.narrow(0, 3 * h, mlp), d("single_transformer_blocks.0.proj_mlp.bias")));
  // The release's final modulation is (shift, scale); diffusers' (scale, shift).
  const auto& final_mod = engine.at("final_layer.adaLN_modulation.1.weight");
  const auto norm_out = d("norm_out.linear.weight");
  EXPECT_TRUE(at::equal(final_mod.narrow(0, 0, h), norm_out.narrow(0, h, h)));
  EXPECT_TRUE(at::equal(final_mod.narrow(0, h, h), norm_out.narrow(0, 0, h)));
  EXPECT_FALSE(at::equal(final_mod, norm_out));
  // The refiner's (gate_msa, gate_mlp) are in the same order in both.
  EXPECT_TRUE(at::equal(engine.at("txt_in.individual_token_refiner.blocks.0.adaLN_modulation.1.weight"),
                        d("context_embedder.token_refiner.refiner_blocks.0.norm_out.linear.weight")));
}

TEST(HvLoader, EmaIsAnotherSetOfWeights) {
  const auto module = load(kData / "tiny/original", at::kFloat);
  const auto ema = load(kData / "tiny/original/ema_module.pt", at::kFloat, "ema");
  const auto module_too = load(kData / "tiny/original/ema_module.pt", at::kFloat, "module");
  ASSERT_EQ(ema.size(), module.size());
  for (const auto& [name, t] : module) {
    EXPECT_FALSE(at::equal(t, ema.at(name))) << name;
    EXPECT_TRUE(at::equal(t, module_too.at(name))) << name;
  }
}

TEST(HvLoader, MissingKeyListsTheKeysFound) {
  const auto message = error_of([] { load(kData / "tiny/original", at::kFloat, "ema"); });
  EXPECT_CONTAINS(message, "mp_rank_00_model_states.pt");
  EXPECT_CONTAINS(message, "no key 'ema'");
  EXPECT_CONTAINS(message, "'module'");
  EXPECT_CONTAINS(error_of([] { load(kData / "tiny/diffusers", at::kFloat, "ema"); }), "safetensors");
}

TEST(HvLoader, Fp8WeightsAreDequantisedWithTheirScale) {
  const auto fp32 = load(kData / "tiny/original", at::kFloat);
  const auto ckpt = locate_hv_checkpoint((kData / "tiny/original/mp_rank_00_model_states_fp8.pt").string());
  const auto fp8 = load_hv_tensors(ckpt, ckpt.config, at::kFloat, at::kCPU);
  const auto stored = open_hv_source(ckpt);
  const auto scales = io::open_checkpoint(ckpt.fp8_map);
  int quantised = 0;
  for (const auto& [name, w] : fp32) {
    const at::Tensor& q = fp8.at(name);
    ASSERT_EQ(q.scalar_type(), at::kFloat) << name;
    if (stored->info(name).dtype != at::kFloat8_e4m3fn) {
      EXPECT_TRUE(at::equal(q, w)) << name;
      continue;
    }
    ++quantised;
    EXPECT_NE(name.find("_blocks."), std::string::npos) << name;
    const at::Tensor scale = scales->load(name.substr(0, name.size() - 7), at::kFloat);
    // The same grid the fixture was quantised on: round(w / scale) in e4m3fn, times scale.
    const at::Tensor requantised = (w / scale).to(at::kFloat8_e4m3fn).to(at::kFloat) * scale;
    EXPECT_TRUE(at::equal(q, requantised)) << name;
    EXPECT_FALSE(at::equal(q, w)) << name;
    // e4m3fn: 3 mantissa bits (relative step 2^-3, error <= half of it), subnormal step 2^-9.
    const double bound_rel = 1.0 / 16, bound_abs = scale.item<float>() / 1024.0;
    EXPECT_TRUE(((q - w).abs() <= w.abs() * bound_rel + bound_abs * 1.0001).all().item<bool>()) << name;
  }
  EXPECT_EQ(quantised, 13);
  // Converted to the run dtype after the dequantisation.
  const auto bf16 = load_hv_tensors(ckpt, ckpt.config, at::kBFloat16, at::kCPU);
  EXPECT_TRUE(at::equal(bf16.at("double_blocks.0.img_attn_qkv.weight"),
                        fp8.at("double_blocks.0.img_attn_qkv.weight").to(at::kBFloat16)));
}

// ---- broken checkpoints -----------------------------------------------------------------------

// A copy of a fixture's diffusers folder to break.
class HvBadCheckpoint : public HvTempDir {
 protected:
  void SetUp() override {
    HvTempDir::SetUp();
    fs::copy_file(kData / "tiny/diffusers/config.json", dir_ / "config.json");
    const auto source = io::open_checkpoint((kData / "tiny/diffusers").string());
    for (const auto& name : source->names()) tensors_.emplace_back(name, source->load(name));
  }
  void write() { io::write_safetensors((dir_ / "diffusion_pytorch_model.safetensors").string(), tensors_); }
  at::Tensor& tensor(const std::string& name) {
    for (auto& [n, t] : tensors_)
      if (n == name) return t;
    throw std::logic_error(name);
  }
  std::string load_error() {
    return error_of([&] {
      const auto ckpt = locate_hv_checkpoint(dir_.string());
      load_hv_weights(ckpt, ckpt.config, at::kFloat, at::kCPU);
    });
  }

  std::vector<std::pair<std::string, at::Tensor>> tensors_;
};

TEST_F(HvBadCheckpoint, IntactCopyLoads) {
  write();
  EXPECT_EQ(load_error(), "(no UsageError)");
}

TEST_F(HvBadCheckpoint, MissingTensor) {
  std::erase_if(tensors_, [](const auto& p) { return p.first == "transformer_blocks.0.attn.to_k.weight"; });
  write();
  const auto message = load_error();
  EXPECT_CONTAINS(message, "diffusion_pytorch_model.safetensors");
  EXPECT_CONTAINS(message, "missing tensor 'transformer_blocks.0.attn.to_k.weight'");
  EXPECT_EQ(message.find('\n'), std::string::npos);
}

TEST_F(HvBadCheckpoint, UnexpectedTensor) {
  tensors_.emplace_back("transformer_blocks.1.attn.to_q.weight", at::zeros({20, 20}));
  write();
  const auto message = load_error();
  EXPECT_CONTAINS(message, "diffusion_pytorch_model.safetensors");
  EXPECT_CONTAINS(message, "unexpected tensor 'transformer_blocks.1.attn.to_q.weight'");
}

TEST_F(HvBadCheckpoint, WrongShape) {
  tensor("single_transformer_blocks.0.proj_mlp.weight") = at::zeros({79, 20});
  write();
  EXPECT_CONTAINS(
      load_error(),
      "tensor 'single_transformer_blocks.0.proj_mlp.weight' has shape [79, 20], expected [80, 20]");
}

TEST_F(HvBadCheckpoint, WrongDtype) {
  tensor("norm_out.linear.bias") = at::zeros({40}, at::kLong);
  write();
  EXPECT_CONTAINS(load_error(), "tensor 'norm_out.linear.bias' is int64, expected a floating-point dtype");
}

TEST_F(HvBadCheckpoint, Fp8WithoutScale) {
  tensor("transformer_blocks.0.attn.to_q.weight") =
      tensor("transformer_blocks.0.attn.to_q.weight").to(at::kFloat8_e4m3fn);
  write();
  const auto message = load_error();
  EXPECT_CONTAINS(message, "tensor 'transformer_blocks.0.attn.to_q.weight' is float8_e4m3fn");
  EXPECT_CONTAINS(message, "no scale");
}

// A broken scale file (written as safetensors under the .pt name: the loader goes by content).
class HvBadScales : public HvTempDir {
 protected:
  void SetUp() override {
    HvTempDir::SetUp();
    fs::copy_file(kData / "tiny/original/config.json", dir_ / "config.json");
    fs::create_symlink(kData / "tiny/original/mp_rank_00_model_states_fp8.pt", dir_ / "x_fp8.pt");
    const auto map =
        io::open_checkpoint((kData / "tiny/original/mp_rank_00_model_states_fp8_map.pt").string());
    for (const auto& name : map->names()) scales_.emplace_back(name, map->load(name));
  }
  std::string load_error() {
    io::write_safetensors((dir_ / "x_fp8_map.pt").string(), scales_);
    return error_of([&] {
      const auto ckpt = locate_hv_checkpoint((dir_ / "x_fp8.pt").string());
      load_hv_weights(ckpt, ckpt.config, at::kFloat, at::kCPU);
    });
  }
  std::vector<std::pair<std::string, at::Tensor>> scales_;
};

TEST_F(HvBadScales, IntactCopyLoads) {
  EXPECT_EQ(load_error(), "(no UsageError)");
}

TEST_F(HvBadScales, MissingScale) {
  std::erase_if(scales_, [](const auto& p) { return p.first == "single_blocks.0.linear2"; });
  const auto message = load_error();
  EXPECT_CONTAINS(message, "tensor 'single_blocks.0.linear2.weight' is float8_e4m3fn");
  EXPECT_CONTAINS(message, "has no scale 'single_blocks.0.linear2'");
}

TEST_F(HvBadScales, ScaleOfAnotherModel) {
  scales_.emplace_back("double_blocks.7.img_attn_qkv", at::ones({}));
  EXPECT_CONTAINS(load_error(), "scale 'double_blocks.7.img_attn_qkv' names no tensor of the model");
}

TEST_F(HvBadScales, ScaleIsNotOneNumber) {
  for (auto& [name, t] : scales_)
    if (name == "double_blocks.0.img_mlp.fc1") t = at::ones({2});
  EXPECT_CONTAINS(load_error(),
                  "scale 'double_blocks.0.img_mlp.fc1' is float32 [2], expected one floating-point number");
}

}  // namespace
}  // namespace uspdit::models::hunyuan_video
