#include "models/hunyuan_video/hv_tensors.h"

namespace uspdit::models::hunyuan_video {
namespace {

void add_mlp(std::vector<TensorSpec>& s, const std::string& p, int64_t hidden, int64_t width) {
  add_linear_spec(s, p + "fc1", width, hidden);
  add_linear_spec(s, p + "fc2", hidden, width);
}

void add_stream(std::vector<TensorSpec>& s, const std::string& p, const HvConfig& c) {
  const int64_t h = c.hidden;
  add_linear_spec(s, p + "_mod.linear", 6 * h, h);
  add_linear_spec(s, p + "_attn_qkv", 3 * h, h);
  s.push_back({p + "_attn_q_norm.weight", {c.head_dim()}, true});
  s.push_back({p + "_attn_k_norm.weight", {c.head_dim()}, true});
  add_linear_spec(s, p + "_attn_proj", h, h);
  add_mlp(s, p + "_mlp.", h, c.mlp_hidden());
}

StreamWeights take_stream(TensorTaker& take, const std::string& p) {
  StreamWeights w;
  w.modulation = take.linear(p + "_mod.linear");
  w.qkv = take.linear(p + "_attn_qkv");
  w.q_norm = take(p + "_attn_q_norm.weight");
  w.k_norm = take(p + "_attn_k_norm.weight");
  w.proj = take.linear(p + "_attn_proj");
  w.mlp = {take.linear(p + "_mlp.fc1"), take.linear(p + "_mlp.fc2")};
  return w;
}

}  // namespace

std::vector<TensorSpec> hv_tensor_specs(const HvConfig& c) {
  const int64_t h = c.hidden;
  std::vector<TensorSpec> s;
  s.push_back({"img_in.proj.weight", {h, c.in_channels, c.patch[0], c.patch[1], c.patch[2]}});
  s.push_back({"img_in.proj.bias", {h}});
  add_linear_spec(s, "txt_in.input_embedder", h, c.text_dim);
  add_linear_spec(s, "txt_in.t_embedder.mlp.0", h, 256);
  add_linear_spec(s, "txt_in.t_embedder.mlp.2", h, h);
  add_linear_spec(s, "txt_in.c_embedder.linear_1", h, c.text_dim);
  add_linear_spec(s, "txt_in.c_embedder.linear_2", h, h);
  for (int64_t i = 0; i < c.refiner_blocks; ++i) {
    const std::string b = "txt_in.individual_token_refiner.blocks." + std::to_string(i) + ".";
    s.push_back({b + "norm1.weight", {h}, true});
    s.push_back({b + "norm1.bias", {h}, true});
    add_linear_spec(s, b + "self_attn_qkv", 3 * h, h);
    add_linear_spec(s, b + "self_attn_proj", h, h);
    s.push_back({b + "norm2.weight", {h}, true});
    s.push_back({b + "norm2.bias", {h}, true});
    add_mlp(s, b + "mlp.", h, 4 * h);  // the refiner's MLP is 4·hidden whatever mlp_ratio says
    add_linear_spec(s, b + "adaLN_modulation.1", 2 * h, h);
  }
  add_linear_spec(s, "time_in.mlp.0", h, 256);
  add_linear_spec(s, "time_in.mlp.2", h, h);
  add_linear_spec(s, "vector_in.in_layer", h, c.pooled_dim);
  add_linear_spec(s, "vector_in.out_layer", h, h);
  if (c.guidance_embed) {
    add_linear_spec(s, "guidance_in.mlp.0", h, 256);
    add_linear_spec(s, "guidance_in.mlp.2", h, h);
  }
  for (int64_t i = 0; i < c.double_blocks; ++i) {
    const std::string b = "double_blocks." + std::to_string(i) + ".";
    add_stream(s, b + "img", c);
    add_stream(s, b + "txt", c);
  }
  for (int64_t i = 0; i < c.single_blocks; ++i) {
    const std::string b = "single_blocks." + std::to_string(i) + ".";
    add_linear_spec(s, b + "linear1", 3 * h + c.mlp_hidden(), h);
    add_linear_spec(s, b + "linear2", h, h + c.mlp_hidden());
    s.push_back({b + "q_norm.weight", {c.head_dim()}, true});
    s.push_back({b + "k_norm.weight", {c.head_dim()}, true});
    add_linear_spec(s, b + "modulation.linear", 3 * h, h);
  }
  add_linear_spec(s, "final_layer.linear", c.patch_volume() * c.out_channels, h);
  add_linear_spec(s, "final_layer.adaLN_modulation.1", 2 * h, h);
  return s;
}

HvWeights assemble_hv_weights(const HvConfig& c, std::map<std::string, at::Tensor> tensors) {
  TensorTaker take(std::move(tensors));
  HvWeights w;
  w.img_in_weight = take("img_in.proj.weight");
  w.img_in_bias = take("img_in.proj.bias");
  w.txt_input = take.linear("txt_in.input_embedder");
  w.txt_t_in = take.linear("txt_in.t_embedder.mlp.0");
  w.txt_t_out = take.linear("txt_in.t_embedder.mlp.2");
  w.txt_c_in = take.linear("txt_in.c_embedder.linear_1");
  w.txt_c_out = take.linear("txt_in.c_embedder.linear_2");
  for (int64_t i = 0; i < c.refiner_blocks; ++i) {
    const std::string b = "txt_in.individual_token_refiner.blocks." + std::to_string(i) + ".";
    RefinerBlockWeights r;
    r.norm1_weight = take(b + "norm1.weight");
    r.norm1_bias = take(b + "norm1.bias");
    r.qkv = take.linear(b + "self_attn_qkv");
    r.proj = take.linear(b + "self_attn_proj");
    r.norm2_weight = take(b + "norm2.weight");
    r.norm2_bias = take(b + "norm2.bias");
    r.mlp = {take.linear(b + "mlp.fc1"), take.linear(b + "mlp.fc2")};
    r.modulation = take.linear(b + "adaLN_modulation.1");
    w.refiner.push_back(std::move(r));
  }
  w.time_in = take.linear("time_in.mlp.0");
  w.time_out = take.linear("time_in.mlp.2");
  w.vector_in = take.linear("vector_in.in_layer");
  w.vector_out = take.linear("vector_in.out_layer");
  if (c.guidance_embed) {
    w.guidance_in = take.linear("guidance_in.mlp.0");
    w.guidance_out = take.linear("guidance_in.mlp.2");
  }
  for (int64_t i = 0; i < c.double_blocks; ++i) {
    const std::string b = "double_blocks." + std::to_string(i) + ".";
    w.double_blocks.push_back({take_stream(take, b + "img"), take_stream(take, b + "txt")});
  }
  for (int64_t i = 0; i < c.single_blocks; ++i) {
    const std::string b = "single_blocks." + std::to_string(i) + ".";
    SingleBlockWeights s;
    s.linear1 = take.linear(b + "linear1");
    s.linear2 = take.linear(b + "linear2");
    s.q_norm = take(b + "q_norm.weight");
    s.k_norm = take(b + "k_norm.weight");
    s.modulation = take.linear(b + "modulation.linear");
    w.single_blocks.push_back(std::move(s));
  }
  w.final_linear = take.linear("final_layer.linear");
  w.final_modulation = take.linear("final_layer.adaLN_modulation.1");
  return w;
}

HvWeights random_hv_weights(const HvConfig& c, at::ScalarType dtype, uint64_t seed, c10::Device device) {
  return assemble_hv_weights(c, random_tensors(hv_tensor_specs(c), dtype, seed, device));
}

}  // namespace uspdit::models::hunyuan_video
