// Wan 2.1 config.json of both layouts, and the diffusers -> engine name map.
#include <gtest/gtest.h>

#include "core/error.h"
#include "models/wan/wan_config_json.h"
#include "models/wan/wan_name_map.h"
#include "models/wan/wan_tensors.h"

namespace uspdit::models::wan {
namespace {

WanConfig parse(const std::string& text) { return wan_config_from_json(io::Json::parse(text, "config.json"), "config.json"); }

TEST(WanConfig, OriginalLayout) {
  auto c = parse(R"({"_class_name": "WanModel", "_diffusers_version": "0.30.0", "dim": 5120, "eps": 1e-06,
    "ffn_dim": 13824, "freq_dim": 256, "in_dim": 16, "model_type": "t2v", "num_heads": 40,
    "num_layers": 40, "out_dim": 16, "text_len": 512})");
  EXPECT_EQ(c.dim, 5120);
  EXPECT_EQ(c.num_heads, 40);
  EXPECT_EQ(c.head_dim(), 128);
  EXPECT_EQ(c.num_layers, 40);
  EXPECT_EQ(c.text_dim, 4096);
}

TEST(WanConfig, DiffusersLayout) {
  auto c = parse(R"({"_class_name": "WanTransformer3DModel", "added_kv_proj_dim": null, "attention_head_dim": 12,
    "cross_attn_norm": true, "eps": 1e-06, "ffn_dim": 32, "freq_dim": 256, "image_dim": null, "in_channels": 4,
    "num_attention_heads": 2, "num_layers": 2, "out_channels": 4, "patch_size": [1, 2, 2],
    "qk_norm": "rms_norm_across_heads", "rope_max_seq_len": 32, "text_dim": 16})");
  EXPECT_EQ(c.dim, 24);
  EXPECT_EQ(c.in_dim, 4);
  EXPECT_EQ(c.text_dim, 16);
  EXPECT_EQ(c.ffn_dim, 32);
}

TEST(WanConfig, BadConfigsNameTheField) {
  auto message = [](const std::string& text) -> std::string {
    try {
      parse(text);
    } catch (const UsageError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(message(R"({"_class_name": "WanModel", "dim": 100, "num_heads": 3})").find("not divisible by num_heads"),
            std::string::npos);
  EXPECT_NE(message(R"({"_class_name": "WanModel", "dim": "big"})").find("\"dim\" must be an integer"), std::string::npos);
  EXPECT_NE(message(R"({"_class_name": "UNet2DModel"})").find("not a Wan 2.1 DiT config"), std::string::npos);
  EXPECT_NE(message(R"({"_class_name": "WanModel", "model_type": "i2v"})").find("only t2v"), std::string::npos);
  EXPECT_NE(message(R"([1, 2])").find("expected a JSON object"), std::string::npos);
}

TEST(WanNameMap, EveryDiffusersKeyMapsToAnEngineKey) {
  EXPECT_EQ(diffusers_to_engine_name("condition_embedder.time_embedder.linear_1.weight"), "time_embedding.0.weight");
  EXPECT_EQ(diffusers_to_engine_name("condition_embedder.time_proj.bias"), "time_projection.1.bias");
  EXPECT_EQ(diffusers_to_engine_name("condition_embedder.text_embedder.linear_2.weight"), "text_embedding.2.weight");
  EXPECT_EQ(diffusers_to_engine_name("scale_shift_table"), "head.modulation");
  EXPECT_EQ(diffusers_to_engine_name("proj_out.weight"), "head.head.weight");
  EXPECT_EQ(diffusers_to_engine_name("blocks.11.scale_shift_table"), "blocks.11.modulation");
  EXPECT_EQ(diffusers_to_engine_name("blocks.0.attn1.to_out.0.weight"), "blocks.0.self_attn.o.weight");
  EXPECT_EQ(diffusers_to_engine_name("blocks.3.attn2.norm_k.weight"), "blocks.3.cross_attn.norm_k.weight");
  EXPECT_EQ(diffusers_to_engine_name("blocks.3.norm2.bias"), "blocks.3.norm3.bias");  // the swap
  EXPECT_EQ(diffusers_to_engine_name("blocks.3.ffn.net.2.bias"), "blocks.3.ffn.2.bias");
  EXPECT_EQ(diffusers_to_engine_name("patch_embedding.weight"), "patch_embedding.weight");
}

TEST(WanNameMap, LayoutDetection) {
  EXPECT_EQ(detect_layout({"patch_embedding.weight", "blocks.0.self_attn.q.weight"}), WanLayout::kOriginal);
  EXPECT_EQ(detect_layout({"patch_embedding.weight", "blocks.0.attn1.to_q.weight"}), WanLayout::kDiffusers);
}

TEST(WanTensors, SpecCountMatchesTheArchitecture) {
  WanConfig c;
  c.num_layers = 3;
  // Per block: modulation, 2 attentions × (4 linears × 2 + 2 norms), norm3 × 2, 2 ffn linears × 2.
  // Top level: patch 2, text 4, time 4, time projection 2, head modulation 1, head 2.
  const auto specs = wan_tensor_specs(c);
  const size_t per_block = 1 + 10 + 2 + 10 + 4;
  EXPECT_EQ(specs.size(), 2 + 4 + 4 + 2 + 1 + 2 + 3 * per_block);
}

}  // namespace
}  // namespace uspdit::models::wan
