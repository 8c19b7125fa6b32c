// The Llama text encoder (HunyuanVideo's text_encoder) against transformers' LlamaModel on the
// committed fixtures (tools/make_hv_text_encoder_fixtures.py): hidden_states[-(skip+1)] for every
// skip, fp32 and fp16, both checkpoint layouts, only the needed tensors read, padding, and broken
// folders refused with one-line errors naming the file.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "device_under_test.h"
#include "hv_text_encoder_fixture.h"
#include "io/checkpoint.h"
#include "io/safetensors_writer.h"
#include "models/llama/llama_encoder.h"

namespace uspdit::models::llama {
namespace {
namespace fs = std::filesystem;
using testing::hv_text_reference;
using testing::kHvTextData;
using testing::max_abs_diff;
using testing::usage_error_of;

constexpr int64_t kLayers = 4;

// transformers' hidden_states tuple (num_layers + 1 entries) as stored; entry [-(skip+1)].
at::Tensor expected_hidden(const std::string& name, int64_t skip) {
  return hv_text_reference(name)[kLayers - skip];
}

at::Tensor ids() {
  return hv_text_reference("llama_ids");
}
at::Tensor mask() {
  return hv_text_reference("llama_mask");
}

TEST(LlamaConfig, BothConfigSpellings) {
  // 4.46.3's rope_theta/rope_scaling (HunyuanVideo's file) and 5.x's rope_parameters.
  for (const char* dir : {"llama", "llama_bare"}) {
    const auto c = read_llama_config_json(kHvTextData + dir + "/config.json");
    EXPECT_EQ(c.hidden_size, 32) << dir;
    EXPECT_EQ(c.num_layers, 4) << dir;
    EXPECT_EQ(c.num_heads, 4) << dir;
    EXPECT_EQ(c.num_kv_heads, 2) << dir;
    EXPECT_EQ(c.head_dim, 8) << dir;
    EXPECT_EQ(c.intermediate_size, 48) << dir;
    EXPECT_EQ(c.vocab_size, 300) << dir;
    EXPECT_DOUBLE_EQ(c.rope_theta, 500000.0) << dir;
    EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-5) << dir;
    EXPECT_EQ(c.act, nn::Activation::kSilu) << dir;
  }
  const auto real = llava_llama3_8b_config();
  EXPECT_EQ(real.vocab_size, 128320);
  EXPECT_EQ(real.q_dim(), 4096);
  EXPECT_EQ(real.kv_dim(), 1024);
  EXPECT_EQ(layers_for_skip(real, 2), 30);  // hidden_states[-3] = output of layer 30 of 32
}

TEST(LlamaConfig, DefaultsAndRefusals) {
  testing::ScratchCopy scratch("llama");
  const auto path = scratch.dir() / "config.json";
  // The diffusers test's tiny config: gelu, and transformers' defaults for what it leaves out.
  testing::write_text(path, R"({"model_type": "llama", "hidden_size": 16, "intermediate_size": 37,
      "num_attention_heads": 4, "num_hidden_layers": 2, "vocab_size": 1000, "hidden_act": "gelu"})");
  const auto c = read_llama_config_json(path.string());
  EXPECT_EQ(c.num_kv_heads, 4);
  EXPECT_EQ(c.head_dim, 4);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_DOUBLE_EQ(c.rope_theta, 10000.0);
  EXPECT_EQ(c.act, nn::Activation::kGelu);

  const auto original = testing::read_text(kHvTextData + "llama/config.json");
  auto refused = [&](const std::string& text, const std::string& expected) {
    testing::write_text(path, text);
    const auto msg = usage_error_of([&] { read_llama_config_json(path.string()); });
    EXPECT_NE(msg.find(expected), std::string::npos) << msg;
    EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
  };
  refused(testing::replaced(original, R"("rope_scaling": null)",
                            R"("rope_scaling": {"rope_type": "llama3", "factor": 8.0})"),
          "rope_scaling");
  refused(testing::replaced(original, R"("hidden_act": "silu")", R"("hidden_act": "relu2")"),
          "hidden_act 'relu2'");
  refused(testing::replaced(original, R"("attention_bias": false)", R"("attention_bias": true)"),
          "attention_bias");
  refused(testing::replaced(original, R"("num_key_value_heads": 2)", R"("num_key_value_heads": 3)"),
          "not a multiple of num_key_value_heads 3");
  refused(R"({"model_type": "llava", "text_config": {"model_type": "llama"}})", "language model folder");
}

TEST(LlamaRope, RealModelTablesAsTransformers) {
  // The real Llama-3-8B's tables (head_dim 128, theta 500000) at positions up to HunyuanVideo's
  // 351 tokens, in fp16, against transformers' LlamaRotaryEmbedding with inv_freq fp32 and after
  // .to(fp16): the rounding HunyuanVideo gets moves cos by ~0.04, so it has to be reproduced.
  const auto config = llava_llama3_8b_config();
  const auto positions = hv_text_reference("rope_positions");
  const auto device = testing::device_under_test();
  for (const auto precision : {InvFreq::kRoundedToRunDtype, InvFreq::kFloat32}) {
    const std::string suffix = precision == InvFreq::kRoundedToRunDtype ? "_to" : "";
    auto [cos, sin] = rope_tables(config, 351, at::kHalf, device, precision);
    cos = cos.cpu().index_select(0, positions);
    sin = sin.cpu().index_select(0, positions);
    EXPECT_EQ(cos.scalar_type(), at::kHalf);
    const double err_cos = max_abs_diff(cos, hv_text_reference("rope_cos_fp16" + suffix));
    const double err_sin = max_abs_diff(sin, hv_text_reference("rope_sin_fp16" + suffix));
    // fp16 rounding of a correctly computed angle: at most one ulp (0.001 below 1)
    EXPECT_LE(err_cos, 1e-3) << suffix;
    EXPECT_LE(err_sin, 1e-3) << suffix;
    std::printf("llama RoPE (real config, fp16, inv_freq %s) max abs error: cos %.3g, sin %.3g\n",
                suffix.empty() ? "fp32" : "rounded", err_cos, err_sin);
  }
  const auto change = max_abs_diff(hv_text_reference("rope_cos_fp16_to"), hv_text_reference("rope_cos_fp16"));
  EXPECT_GE(change, 0.01);
}

TEST(LlamaTextEncoder, MatchesTransformersFp32EverySkip) {
  const auto enc = LlamaTextEncoder::load(kHvTextData + "llama", at::kFloat, testing::device_under_test(), 0);
  for (int64_t skip = 0; skip <= kLayers; ++skip) {
    const auto out = enc.forward(testing::on_device(ids()), testing::on_device(mask()), skip);
    EXPECT_EQ(out.scalar_type(), at::kFloat);
    const double err = max_abs_diff(out, expected_hidden("llama_hidden_fp32", skip));
    EXPECT_LE(err, 1e-4) << "skip " << skip;
    std::printf("llama fp32 hidden_states[-%lld] max abs error vs transformers: %.3g\n",
                static_cast<long long>(skip + 1), err);
  }
}

TEST(LlamaTextEncoder, HunyuanSkipReadsOnlyTheNeededTensors) {
  const auto enc = LlamaTextEncoder::load(kHvTextData + "llama", at::kFloat, testing::device_under_test());
  EXPECT_EQ(enc.loaded_skip(), 2);
  EXPECT_EQ(enc.weights().layers.size(), 2u);
  EXPECT_FALSE(enc.weights().final_norm.defined());
  // embedding + 2 layers x 9 tensors; never the last two layers, the final norm or lm_head
  EXPECT_EQ(enc.read_tensors().size(), 19u);
  for (const auto& name : enc.read_tensors()) {
    EXPECT_TRUE(name.starts_with("model.embed_tokens.") || name.starts_with("model.layers.0.") ||
                name.starts_with("model.layers.1."))
        << name;
  }
  const double err = max_abs_diff(enc.forward(ids(), mask()), expected_hidden("llama_hidden_fp32", 2));
  EXPECT_LE(err, 1e-4);
  std::printf("llama fp32 hidden_states[-3] (skip-2 load) max abs error: %.3g\n", err);
  // A shallower state than it was loaded for needs layers it does not have.
  const auto msg = usage_error_of([&] { enc.forward(ids(), mask(), 1); });
  EXPECT_NE(msg.find("loaded for skip 2"), std::string::npos) << msg;
}

TEST(LlamaTextEncoder, Fp16StaysClose) {
  // fp16 weights and run: the fp32 file rounded while loading and the bare LlamaModel stored in
  // fp16 hold the same weights, so give the same output. Two transformers fp16 references (CPU):
  // HunyuanVideo's fp32 load + .to(fp16) (5.23 and the pinned 4.46.3 agree exactly), which also
  // rounds RoPE's inv_freq, and from_pretrained(dtype=fp16), which keeps it fp32. Bound: a few
  // fp16 ulp at |h| <= 8 (ulp 0.0039 there); a wiring mistake would be O(1).
  const auto device = testing::device_under_test();
  const auto hunyuan = LlamaTextEncoder::load(kHvTextData + "llama", at::kHalf, device);
  EXPECT_EQ(hunyuan.inv_freq(), InvFreq::kRoundedToRunDtype);
  EXPECT_EQ(hunyuan.weights().layers[0].input_norm.scalar_type(), at::kHalf);
  const auto out = hunyuan.forward(ids(), mask());
  EXPECT_EQ(out.scalar_type(), at::kHalf);
  const auto bare_rounded = LlamaTextEncoder::load(kHvTextData + "llama_bare", at::kHalf, device);
  EXPECT_TRUE(at::equal(out, bare_rounded.forward(ids(), mask())));
  const double err_to = max_abs_diff(out, expected_hidden("llama_hidden_fp16_to", 2));
  const double err446 = max_abs_diff(out, expected_hidden("llama_hidden_fp16_446", 2));
  const double vs_fp32 = max_abs_diff(out, expected_hidden("llama_hidden_fp32", 2));
  EXPECT_LE(err_to, 0.02);
  EXPECT_LE(err446, 0.02);
  EXPECT_LE(vs_fp32, 0.05);

  const auto fp32_freq = LlamaTextEncoder::load(kHvTextData + "llama_bare", at::kHalf, device,
                                                kHunyuanSkipLayers, InvFreq::kFloat32);
  const auto out_fp32_freq = fp32_freq.forward(ids(), mask());
  const double err_fp32_freq = max_abs_diff(out_fp32_freq, expected_hidden("llama_hidden_fp16", 2));
  EXPECT_LE(err_fp32_freq, 0.02);
  const double freq_effect = max_abs_diff(out_fp32_freq, out);
  std::printf(
      "llama fp16 hidden_states[-3] max abs error: .to(fp16) path vs transformers 5.23 %.3g, vs 4.46.3 %.3g, "
      "vs fp32 %.3g; fp32 inv_freq vs from_pretrained(dtype=fp16) %.3g; inv_freq rounding moves it by %.3g\n",
      err_to, err446, vs_fp32, err_fp32_freq, freq_effect);
}

TEST(LlamaTextEncoder, PaddingDoesNotChangeValidRows) {
  const auto enc = LlamaTextEncoder::load(kHvTextData + "llama", at::kFloat, testing::device_under_test());
  const auto batch_out = enc.forward(ids(), mask()).cpu();
  // Row 1 has 17 tokens: alone and unpadded, its states are the batch's first 17.
  const int64_t valid = 17;
  const auto alone =
      enc.forward(ids().slice(0, 1, 2).slice(1, 0, valid), at::ones({1, valid}, at::kLong)).cpu();
  EXPECT_LE(max_abs_diff(alone[0], batch_out[1].slice(0, 0, valid)), 1e-5);
  // Whatever the pad id, the valid positions are the same.
  auto other_pad = ids().clone();
  other_pad.slice(0, 1, 2).slice(1, valid).fill_(7);
  const auto repadded = enc.forward(other_pad, mask()).cpu();
  EXPECT_TRUE(at::equal(repadded[0], batch_out[0]));
  EXPECT_TRUE(at::equal(repadded[1].slice(0, 0, valid), batch_out[1].slice(0, 0, valid)));
}

TEST(LlamaTextEncoder, CheckpointWithoutTheSkippedLayersLoads) {
  // Only what skip 2 reads, as one LlamaForCausalLM-style file: loads and matches; skip 0 cannot.
  testing::ScratchCopy scratch("llama");
  const auto full = io::open_checkpoint(kHvTextData + "llama");
  std::vector<std::pair<std::string, at::Tensor>> kept;
  for (const auto& name : full->names()) {
    if (name.starts_with("model.layers.2.") || name.starts_with("model.layers.3.") ||
        name == "model.norm.weight" || name == "lm_head.weight")
      continue;
    kept.emplace_back(name, full->load(name));
  }
  for (const auto& entry : fs::directory_iterator(scratch.dir())) {
    if (entry.path().filename().string().starts_with("model")) fs::remove(entry.path());
  }
  io::write_safetensors((scratch.dir() / "model.safetensors").string(), kept);
  const auto enc = LlamaTextEncoder::load(scratch.path(), at::kFloat, testing::device_under_test());
  EXPECT_LE(max_abs_diff(enc.forward(ids(), mask()), expected_hidden("llama_hidden_fp32", 2)), 1e-4);
  const auto msg = usage_error_of([&] { LlamaTextEncoder::load(scratch.path(), at::kFloat, at::kCPU, 0); });
  EXPECT_NE(msg.find("missing tensors 'model.layers.2.input_layernorm.weight'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("model.safetensors"), std::string::npos) << msg;
}

TEST(LlamaTextEncoder, WrongWidthNamesTheFile) {
  testing::ScratchCopy scratch("llama");
  const auto config = scratch.dir() / "config.json";
  testing::write_text(
      config, testing::replaced(testing::read_text(config), R"("hidden_size": 32)", R"("hidden_size": 64)"));
  const auto msg = usage_error_of([&] { LlamaTextEncoder::load(scratch.path(), at::kFloat, at::kCPU); });
  EXPECT_NE(msg.find("'model.embed_tokens.weight' has shape [300, 32], expected [300, 64]"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("model.safetensors.index.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find(config.string()), std::string::npos) << msg;
}

TEST(LlamaTextEncoder, MissingFilesAndBadInputs) {
  {
    testing::ScratchCopy scratch("llama");
    fs::remove(scratch.dir() / "model-00003-of-00006.safetensors");
    const auto msg = usage_error_of([&] { LlamaTextEncoder::load(scratch.path(), at::kFloat, at::kCPU); });
    EXPECT_NE(msg.find("model-00003-of-00006.safetensors"), std::string::npos) << msg;
  }
  {
    testing::ScratchCopy scratch("llama");
    fs::remove(scratch.dir() / "config.json");
    const auto msg = usage_error_of([&] { LlamaTextEncoder::load(scratch.path(), at::kFloat, at::kCPU); });
    EXPECT_NE(msg.find((scratch.dir() / "config.json").string() + " does not exist"), std::string::npos)
        << msg;
  }
  {
    testing::ScratchCopy scratch("llama_bare");
    fs::remove(scratch.dir() / "model.safetensors");
    const auto msg = usage_error_of([&] { LlamaTextEncoder::load(scratch.path(), at::kFloat, at::kCPU); });
    EXPECT_NE(msg.find("has config.json but no weights"), std::string::npos) << msg;
  }
  {
    // A tensor no Llama of this config has (a fifth layer) is refused, naming it.
    testing::ScratchCopy scratch("llama_bare");
    const auto file = (scratch.dir() / "model.safetensors").string();
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    const auto src = io::open_checkpoint(file);
    for (const auto& name : src->names()) tensors.emplace_back(name, src->load(name));
    tensors.emplace_back("layers.4.mlp.up_proj.weight", at::zeros({48, 32}));
    io::write_safetensors(file, tensors);
    const auto msg = usage_error_of([&] { LlamaTextEncoder::load(scratch.path(), at::kFloat, at::kCPU); });
    EXPECT_NE(msg.find("unexpected tensor 'layers.4.mlp.up_proj.weight'"), std::string::npos) << msg;
  }
  const auto enc = LlamaTextEncoder::load(kHvTextData + "llama", at::kFloat, at::kCPU);
  auto bad = ids().clone();
  bad[0][3] = 300;
  auto msg = usage_error_of([&] { enc.forward(bad, mask()); });
  EXPECT_NE(msg.find("token id 300 outside the vocabulary of 300"), std::string::npos) << msg;
  msg = usage_error_of([&] { enc.forward(at::zeros({0, 4}, at::kLong), at::zeros({0, 4}, at::kLong)); });
  EXPECT_NE(msg.find("non-empty [batch, length]"), std::string::npos) << msg;
  msg = usage_error_of([&] { enc.forward(ids(), mask().slice(1, 0, 5)); });
  EXPECT_NE(msg.find("attention_mask"), std::string::npos) << msg;
  msg = usage_error_of([&] { LlamaTextEncoder::load(kHvTextData + "llama", at::kFloat, at::kCPU, 5); });
  EXPECT_NE(msg.find("hidden_state_skip_layer 5 outside [0, 4]"), std::string::npos) << msg;
}

}  // namespace
}  // namespace uspdit::models::llama
