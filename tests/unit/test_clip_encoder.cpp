// The CLIP text encoder (HunyuanVideo's text_encoder_2) against transformers' CLIPTextModel on
// the committed fixtures (tools/make_hv_text_encoder_fixtures.py): pooler_output in fp32 and fp16,
// legacy (argmax) and first-eos pooling, the three layouts (CLIPTextModel of transformers 5,
// whole CLIPModel, pytorch_model.bin with text_model. names), padding, and broken folders.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdio>

#include "device_under_test.h"
#include "hv_text_encoder_fixture.h"
#include "models/clip/clip_encoder.h"

namespace uspdit::models::clip {
namespace {
namespace fs = std::filesystem;
using testing::hv_text_reference;
using testing::kHvTextData;
using testing::max_abs_diff;
using testing::usage_error_of;

at::Tensor ids() {
  return hv_text_reference("clip_ids");
}
at::Tensor mask() {
  return hv_text_reference("clip_mask");
}

TEST(ClipTextConfig, TextModelAndWholeClipModel) {
  for (const char* dir : {"clip", "clip_full"}) {
    const auto c = read_clip_text_config_json(kHvTextData + dir + "/config.json");
    EXPECT_EQ(c.hidden_size, 32) << dir;
    EXPECT_EQ(c.num_layers, 2) << dir;
    EXPECT_EQ(c.num_heads, 4) << dir;
    EXPECT_EQ(c.intermediate_size, 37) << dir;
    EXPECT_EQ(c.max_position_embeddings, 77) << dir;
    EXPECT_EQ(c.vocab_size, 300) << dir;
    EXPECT_EQ(c.act, nn::Activation::kQuickGelu) << dir;
    EXPECT_TRUE(c.legacy_pooling()) << dir;
  }
  EXPECT_EQ(read_clip_text_config_json(kHvTextData + "clip_eos/config.json").eos_token_id, 257);
  const auto large = clip_vit_large_text_config();
  EXPECT_EQ(large.hidden_size, 768);
  EXPECT_EQ(large.head_dim(), 64);
  EXPECT_TRUE(large.legacy_pooling());
}

TEST(ClipTextEncoder, MatchesTransformersFp32AllLayouts) {
  const auto device = testing::device_under_test();
  const auto enc = ClipTextEncoder::load(kHvTextData + "clip", at::kFloat, device);
  const auto out = enc.encode(testing::on_device(ids()), testing::on_device(mask()));
  const double err_last = max_abs_diff(out.last_hidden_state, hv_text_reference("clip_last_fp32"));
  const double err = max_abs_diff(out.pooler_output, hv_text_reference("clip_pooled_fp32"));
  EXPECT_LE(err_last, 1e-4);
  EXPECT_LE(err, 1e-4);
  std::printf("clip fp32 max abs error vs transformers: pooler_output %.3g, last_hidden_state %.3g\n", err,
              err_last);
  // The same text tower inside a whole CLIPModel (openai's layout): the vision side is never read.
  const auto full = ClipTextEncoder::load(kHvTextData + "clip_full", at::kFloat, device);
  EXPECT_LE(max_abs_diff(full.pooled(ids(), mask()), hv_text_reference("clip_pooled_fp32")), 1e-4);
  // diffusers passes no mask: causal attention gives the same pooled state.
  EXPECT_LE(max_abs_diff(full.pooled(ids()), hv_text_reference("clip_pooled_fp32")), 1e-4);
}

TEST(ClipTextEncoder, PoolsAtTheFirstEos) {
  // eos_token_id 257 with larger ids before it: argmax pooling would read position 0.
  const auto eos_ids = hv_text_reference("clip_eos_ids");
  const auto enc = ClipTextEncoder::load(kHvTextData + "clip_eos", at::kFloat, testing::device_under_test());
  EXPECT_TRUE(
      at::equal(clip_pool_positions(eos_ids, enc.config()).to(at::kLong), at::tensor({16, 8}, at::kLong)));
  const double err = max_abs_diff(enc.pooled(eos_ids, mask()), hv_text_reference("clip_eos_pooled_fp32"));
  EXPECT_LE(err, 1e-4);
  std::printf("clip (eos 257, pytorch_model.bin) fp32 pooler_output max abs error: %.3g\n", err);
  // The legacy config pools the legacy inputs at the first 299, the highest id.
  const auto legacy = read_clip_text_config_json(kHvTextData + "clip/config.json");
  EXPECT_TRUE(at::equal(clip_pool_positions(ids(), legacy).to(at::kLong), at::tensor({16, 8}, at::kLong)));
}

TEST(ClipTextEncoder, Fp16StaysClose) {
  // Weights rounded to fp16 while loading (HunyuanVideo's .to(fp16) of the fp32 checkpoint).
  // Against transformers' CPU fp16 runs (5.23 and the pinned 4.46.3, equal here): a few fp16 ulp
  // at |pooled| <= 4 (ulp 0.002 there).
  const auto device = testing::device_under_test();
  const auto enc = ClipTextEncoder::load(kHvTextData + "clip_full", at::kHalf, device);
  EXPECT_EQ(enc.weights().layers[0].q.weight.scalar_type(), at::kHalf);
  const auto pooled = enc.pooled(ids(), mask());
  EXPECT_EQ(pooled.scalar_type(), at::kHalf);
  const double err = max_abs_diff(pooled, hv_text_reference("clip_pooled_fp16"));
  const double err446 = max_abs_diff(pooled, hv_text_reference("clip_full_pooled_fp16_446"));
  const double vs_fp32 = max_abs_diff(pooled, hv_text_reference("clip_pooled_fp32"));
  EXPECT_LE(err, 0.01);
  EXPECT_LE(err446, 0.01);
  EXPECT_LE(vs_fp32, 0.02);
  const auto eos = ClipTextEncoder::load(kHvTextData + "clip_eos", at::kHalf, device);
  const double err_eos = max_abs_diff(eos.pooled(hv_text_reference("clip_eos_ids"), mask()),
                                      hv_text_reference("clip_eos_pooled_fp16"));
  EXPECT_LE(err_eos, 0.01);
  std::printf(
      "clip fp16 pooler_output max abs error: vs 5.23 fp16 %.3g, vs 4.46.3 fp16 %.3g, vs fp32 %.3g, "
      "eos-257 vs fp16 %.3g\n",
      err, err446, vs_fp32, err_eos);
}

TEST(ClipTextEncoder, PaddingDoesNotChangeValidRows) {
  const auto enc = ClipTextEncoder::load(kHvTextData + "clip", at::kFloat, testing::device_under_test());
  const auto batch_out = enc.encode(ids(), mask());
  const int64_t valid = 9;  // row 1
  const auto alone = enc.encode(ids().slice(0, 1, 2).slice(1, 0, valid), at::ones({1, valid}, at::kLong));
  EXPECT_LE(max_abs_diff(alone.last_hidden_state[0], batch_out.last_hidden_state[1].slice(0, 0, valid)),
            1e-5);
  EXPECT_LE(max_abs_diff(alone.pooler_output[0], batch_out.pooler_output[1]), 1e-5);
}

TEST(ClipTextEncoder, BrokenFoldersAndInputs) {
  {
    testing::ScratchCopy scratch("clip");
    fs::remove(scratch.dir() / "model.safetensors");
    const auto msg = usage_error_of([&] { ClipTextEncoder::load(scratch.path(), at::kFloat, at::kCPU); });
    EXPECT_NE(msg.find(scratch.path() + " has config.json but no weights"), std::string::npos) << msg;
  }
  {
    testing::ScratchCopy scratch("clip");
    fs::remove(scratch.dir() / "config.json");
    const auto msg = usage_error_of([&] { ClipTextEncoder::load(scratch.path(), at::kFloat, at::kCPU); });
    EXPECT_NE(msg.find((scratch.dir() / "config.json").string() + " does not exist"), std::string::npos)
        << msg;
  }
  {
    // A text encoder of another width than its config says.
    testing::ScratchCopy scratch("clip_full");
    const auto config = scratch.dir() / "config.json";
    const auto text = testing::read_text(config);
    const auto pos = text.find("\"text_config\"");
    ASSERT_NE(pos, std::string::npos);
    testing::write_text(
        config, text.substr(0, pos) +
                    testing::replaced(text.substr(pos), R"("hidden_size": 32)", R"("hidden_size": 64)"));
    const auto msg = usage_error_of([&] { ClipTextEncoder::load(scratch.path(), at::kFloat, at::kCPU); });
    EXPECT_NE(
        msg.find("'text_model.embeddings.token_embedding.weight' has shape [300, 32], expected [300, 64]"),
        std::string::npos)
        << msg;
    EXPECT_NE(msg.find((scratch.dir() / "model.safetensors").string()), std::string::npos) << msg;
  }
  {
    testing::ScratchCopy scratch("clip");
    const auto config = scratch.dir() / "config.json";
    testing::write_text(config,
                        testing::replaced(testing::read_text(config), R"("model_type": "clip_text_model")",
                                          R"("model_type": "t5")"));
    const auto msg = usage_error_of([&] { ClipTextEncoder::load(scratch.path(), at::kFloat, at::kCPU); });
    EXPECT_NE(msg.find("\"model_type\" is 't5'"), std::string::npos) << msg;
  }
  const auto enc = ClipTextEncoder::load(kHvTextData + "clip", at::kFloat, at::kCPU);
  auto msg = usage_error_of([&] { enc.pooled(at::zeros({1, 78}, at::kLong)); });
  EXPECT_NE(msg.find("78 tokens, more than max_position_embeddings 77"), std::string::npos) << msg;
  auto bad = ids().clone();
  bad[1][2] = -1;
  msg = usage_error_of([&] { enc.pooled(bad, mask()); });
  EXPECT_NE(msg.find("token id -1 outside the vocabulary"), std::string::npos) << msg;
}

}  // namespace
}  // namespace uspdit::models::clip
