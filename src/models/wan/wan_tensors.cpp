#include "models/wan/wan_tensors.h"

#include <ATen/ATen.h>

#include <stdexcept>

namespace uspdit::models::wan {
namespace {

void add_attention(std::vector<TensorSpec>& out, const std::string& p, int64_t dim) {
  for (const char* proj : {"q", "k", "v", "o"}) add_linear_spec(out, p + proj, dim, dim);
  out.push_back({p + "norm_q.weight", {dim}, true});
  out.push_back({p + "norm_k.weight", {dim}, true});
}

WanAttentionWeights take_attention(TensorTaker& take, const std::string& p) {
  return {take.linear(p + "q"), take.linear(p + "k"), take.linear(p + "v"), take.linear(p + "o"),
          take(p + "norm_q.weight"), take(p + "norm_k.weight")};
}

}  // namespace

std::vector<TensorSpec> wan_tensor_specs(const WanConfig& c) {
  std::vector<TensorSpec> s;
  s.push_back({"patch_embedding.weight", {c.dim, c.in_dim, c.patch[0], c.patch[1], c.patch[2]}});
  s.push_back({"patch_embedding.bias", {c.dim}});
  add_linear_spec(s, "text_embedding.0", c.dim, c.text_dim);
  add_linear_spec(s, "text_embedding.2", c.dim, c.dim);
  add_linear_spec(s, "time_embedding.0", c.dim, c.freq_dim, true);
  add_linear_spec(s, "time_embedding.2", c.dim, c.dim, true);
  add_linear_spec(s, "time_projection.1", 6 * c.dim, c.dim, true);
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string b = "blocks." + std::to_string(i) + ".";
    s.push_back({b + "modulation", {1, 6, c.dim}, true});
    add_attention(s, b + "self_attn.", c.dim);
    s.push_back({b + "norm3.weight", {c.dim}, true});
    s.push_back({b + "norm3.bias", {c.dim}, true});
    add_attention(s, b + "cross_attn.", c.dim);
    add_linear_spec(s, b + "ffn.0", c.ffn_dim, c.dim);
    add_linear_spec(s, b + "ffn.2", c.dim, c.ffn_dim);
  }
  s.push_back({"head.modulation", {1, 2, c.dim}, true});
  add_linear_spec(s, "head.head", c.patch_volume() * c.out_dim, c.dim);
  return s;
}

WanWeights assemble_wan_weights(const WanConfig& c, std::map<std::string, at::Tensor> tensors) {
  TensorTaker take(std::move(tensors));
  WanWeights w;
  w.patch_weight = take("patch_embedding.weight");
  w.patch_bias = take("patch_embedding.bias");
  w.text_in = take.linear("text_embedding.0");
  w.text_out = take.linear("text_embedding.2");
  w.time_in = take.linear("time_embedding.0");
  w.time_out = take.linear("time_embedding.2");
  w.time_projection = take.linear("time_projection.1");
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string b = "blocks." + std::to_string(i) + ".";
    WanBlockWeights blk;
    blk.modulation = take(b + "modulation");
    blk.self_attn = take_attention(take, b + "self_attn.");
    blk.norm3_weight = take(b + "norm3.weight");
    blk.norm3_bias = take(b + "norm3.bias");
    blk.cross_attn = take_attention(take, b + "cross_attn.");
    blk.ffn_in = take.linear(b + "ffn.0");
    blk.ffn_out = take.linear(b + "ffn.2");
    w.blocks.push_back(std::move(blk));
  }
  w.head_modulation = take("head.modulation");
  w.head = take.linear("head.head");
  return w;
}

WanWeights random_wan_weights(const WanConfig& c, at::ScalarType dtype, uint64_t seed, c10::Device device) {
  return assemble_wan_weights(c, random_tensors(wan_tensor_specs(c), dtype, seed, device));
}

}  // namespace uspdit::models::wan
