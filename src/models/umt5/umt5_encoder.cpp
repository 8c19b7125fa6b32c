#include "models/umt5/umt5_encoder.h"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>

#include "core/error.h"
#include "nn/layers.h"

namespace uspdit::models::umt5 {

namespace {

at::Tensor project(const at::Tensor& x, const at::Tensor& weight) { return nn::linear(x, {weight, {}}); }

}  // namespace

at::Tensor relative_position_buckets(int64_t len, const Umt5Config& c) {
  // Same ATen ops (and so the same float32 rounding at bucket edges) as the reference.
  const auto pos = at::arange(len, at::kLong);
  auto rel = pos.unsqueeze(0) - pos.unsqueeze(1);  // [query, key] = key - query
  const int64_t half = c.num_buckets / 2;
  auto buckets = (rel > 0).to(at::kLong) * half;
  rel = rel.abs();
  const int64_t exact = half / 2;
  auto large = (at::log(rel.to(at::kFloat) / exact) /
                std::log(static_cast<double>(c.max_distance) / static_cast<double>(exact)) * (half - exact))
                   .to(at::kLong) +
               exact;
  large = at::clamp_max(large, half - 1);
  return buckets + at::where(rel < exact, rel, large);
}

Umt5Encoder::Umt5Encoder(Umt5Config config, Umt5Weights weights)
    : config_(std::move(config)), weights_(std::move(weights)) {}

at::Tensor Umt5Encoder::encode(const TokenBatch& tokens) const {
  const auto& c = config_;
  require(tokens.ids.dim() == 2 && tokens.mask.sizes() == tokens.ids.sizes(),
          "umt5 encoder: ids and mask must both be [batch, length]");
  const int64_t batch = tokens.ids.size(0), len = tokens.ids.size(1);
  // The tokenizer's ids are checked where they were made (the host), then follow the weights.
  const auto device = weights_.embedding.device();
  const auto host_ids = tokens.ids.to(at::kLong).contiguous();
  if (host_ids.numel() > 0) {
    const int64_t lo = host_ids.min().item<int64_t>(), hi = host_ids.max().item<int64_t>();
    require(lo >= 0 && hi < c.vocab, "umt5 encoder: token id " + std::to_string(lo < 0 ? lo : hi) +
                                         " outside the vocabulary of " + std::to_string(c.vocab) +
                                         " (tokenizer and encoder from different models?)");
  }
  const auto ids = host_ids.to(device);
  const auto mask = tokens.mask.to(device);
  auto x = weights_.embedding.index_select(0, ids.view({-1})).view({batch, len, c.dim}).to(at::kFloat);

  // Padded keys get the lowest float added (as transformers does): finite, so a row never
  // becomes NaN, and exp() of it is exactly 0.
  const auto key_bias = at::where(mask.view({batch, 1, 1, len}) == 0,
                                  at::scalar_tensor(std::numeric_limits<float>::lowest(), at::kFloat),
                                  at::scalar_tensor(0.0f, at::kFloat));
  // Computed on the host (the reference's float32 log decides the bucket edges), then moved.
  const auto buckets = relative_position_buckets(len, c).view({-1}).to(device);

  auto heads = [&](const at::Tensor& t) {  // [B, L, H*D] -> [B, H, L, D] fp32
    return t.view({batch, len, c.num_heads, c.head_dim}).permute({0, 2, 1, 3}).to(at::kFloat);
  };
  for (const auto& layer : weights_.layers) {
    auto h = nn::rms_norm(x, layer.norm1, c.eps);
    const auto q = heads(project(h, layer.q));
    const auto k = heads(project(h, layer.k));
    const auto v = heads(project(h, layer.v));
    const auto pos_bias = layer.rel_bias.index_select(0, buckets).view({len, len, c.num_heads}).permute({2, 0, 1});
    // T5 folds the scale into its weights: no 1/sqrt(head_dim) here.
    auto scores = at::matmul(q, k.transpose(-1, -2)) + pos_bias.unsqueeze(0) + key_bias;
    const auto attn = at::matmul(at::softmax(scores, -1), v).permute({0, 2, 1, 3}).reshape({batch, len, c.attn_dim()});
    x = x + project(attn, layer.o).to(at::kFloat);

    h = nn::rms_norm(x, layer.norm2, c.eps);
    const auto gated = nn::gelu_tanh(project(h, layer.gate)) * project(h, layer.fc1);
    x = x + project(gated, layer.fc2).to(at::kFloat);
  }
  return nn::rms_norm(x, weights_.final_norm, c.eps);
}

}  // namespace uspdit::models::umt5
