#include "models/wan/wan_tensors.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <stdexcept>

namespace uspdit::models::wan {
namespace {

void add_linear(std::vector<TensorSpec>& out, const std::string& name, int64_t out_f, int64_t in_f,
                bool fp32 = false) {
  out.push_back({name + ".weight", {out_f, in_f}, fp32});
  out.push_back({name + ".bias", {out_f}, fp32});
}

void add_attention(std::vector<TensorSpec>& out, const std::string& p, int64_t dim) {
  for (const char* proj : {"q", "k", "v", "o"}) add_linear(out, p + proj, dim, dim);
  out.push_back({p + "norm_q.weight", {dim}, true});
  out.push_back({p + "norm_k.weight", {dim}, true});
}

class TensorTaker {
 public:
  explicit TensorTaker(std::map<std::string, at::Tensor> tensors) : tensors_(std::move(tensors)) {}
  at::Tensor operator()(const std::string& name) {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) throw std::logic_error("assemble_wan_weights: missing " + name);
    return it->second;
  }
  nn::Linear linear(const std::string& name) { return {(*this)(name + ".weight"), (*this)(name + ".bias")}; }
  WanAttentionWeights attention(const std::string& p) {
    return {linear(p + "q"), linear(p + "k"), linear(p + "v"), linear(p + "o"), (*this)(p + "norm_q.weight"),
            (*this)(p + "norm_k.weight")};
  }

 private:
  std::map<std::string, at::Tensor> tensors_;
};

}  // namespace

std::vector<TensorSpec> wan_tensor_specs(const WanConfig& c) {
  std::vector<TensorSpec> s;
  s.push_back({"patch_embedding.weight", {c.dim, c.in_dim, c.patch[0], c.patch[1], c.patch[2]}});
  s.push_back({"patch_embedding.bias", {c.dim}});
  add_linear(s, "text_embedding.0", c.dim, c.text_dim);
  add_linear(s, "text_embedding.2", c.dim, c.dim);
  add_linear(s, "time_embedding.0", c.dim, c.freq_dim, true);
  add_linear(s, "time_embedding.2", c.dim, c.dim, true);
  add_linear(s, "time_projection.1", 6 * c.dim, c.dim, true);
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string b = "blocks." + std::to_string(i) + ".";
    s.push_back({b + "modulation", {1, 6, c.dim}, true});
    add_attention(s, b + "self_attn.", c.dim);
    s.push_back({b + "norm3.weight", {c.dim}, true});
    s.push_back({b + "norm3.bias", {c.dim}, true});
    add_attention(s, b + "cross_attn.", c.dim);
    add_linear(s, b + "ffn.0", c.ffn_dim, c.dim);
    add_linear(s, b + "ffn.2", c.dim, c.ffn_dim);
  }
  s.push_back({"head.modulation", {1, 2, c.dim}, true});
  add_linear(s, "head.head", c.patch_volume() * c.out_dim, c.dim);
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
    blk.self_attn = take.attention(b + "self_attn.");
    blk.norm3_weight = take(b + "norm3.weight");
    blk.norm3_bias = take(b + "norm3.bias");
    blk.cross_attn = take.attention(b + "cross_attn.");
    blk.ffn_in = take.linear(b + "ffn.0");
    blk.ffn_out = take.linear(b + "ffn.2");
    w.blocks.push_back(std::move(blk));
  }
  w.head_modulation = take("head.modulation");
  w.head = take.linear("head.head");
  return w;
}

WanWeights random_wan_weights(const WanConfig& c, at::ScalarType dtype, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::map<std::string, at::Tensor> tensors;
  for (const auto& spec : wan_tensor_specs(c)) {
    auto t = at::randn(spec.shape, gen, at::TensorOptions().dtype(at::kFloat));
    const bool norm_weight = spec.name.find("norm") != std::string::npos && spec.name.ends_with(".weight");
    if (norm_weight) {
      t = 1.0 + 0.1 * t;  // near 1, but not 1: a mis-wired norm must show
    } else if (spec.shape.size() >= 2 && spec.name.find("modulation") == std::string::npos) {
      int64_t fan_in = 1;
      for (size_t i = 1; i < spec.shape.size(); ++i) fan_in *= spec.shape[i];
      t = t / std::sqrt(static_cast<double>(fan_in));  // keeps activations O(1) through the layers
    } else {
      t = 0.1 * t;  // biases and modulation tables
    }
    tensors[spec.name] = t.to(holding_dtype(spec, dtype));
  }
  return assemble_wan_weights(c, std::move(tensors));
}

}  // namespace uspdit::models::wan
