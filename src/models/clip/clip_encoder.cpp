#include "models/clip/clip_encoder.h"

#include <ATen/ATen.h>

#include <cmath>

#include "core/device.h"
#include "core/error.h"
#include "nn/additive_mask.h"
#include "nn/layers.h"

namespace uspdit::models::clip {

namespace {

// nn.LayerNorm in the run dtype, as transformers runs it after .to(fp16).
at::Tensor layer_norm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, double eps) {
  return at::layer_norm(x, {x.size(-1)}, weight, bias, eps);
}

void check_inputs(const ClipTextConfig& c, const at::Tensor& ids, const at::Tensor& mask) {
  require(ids.dim() == 2 && ids.size(0) > 0 && ids.size(1) > 0,
          "clip text encoder: input_ids must be a non-empty [batch, length], got " +
              std::to_string(ids.dim()) + " dims");
  require(ids.size(1) <= c.max_position_embeddings, "clip text encoder: " + std::to_string(ids.size(1)) +
                                                        " tokens, more than max_position_embeddings " +
                                                        std::to_string(c.max_position_embeddings) +
                                                        " (the tokenizer truncates at 77)");
  require(!mask.defined() || mask.sizes() == ids.sizes(),
          "clip text encoder: attention_mask must have input_ids' shape [batch, length]");
  const auto host_ids = core::to_host(ids).to(at::kLong);
  const int64_t lo = host_ids.min().item<int64_t>(), hi = host_ids.max().item<int64_t>();
  require(lo >= 0 && hi < c.vocab_size, "clip text encoder: token id " + std::to_string(lo < 0 ? lo : hi) +
                                            " outside the vocabulary of " + std::to_string(c.vocab_size) +
                                            " (tokenizer and encoder from different models?)");
}

}  // namespace

at::Tensor clip_pool_positions(const at::Tensor& input_ids, const ClipTextConfig& c) {
  // transformers casts to int32 before argmax (ONNX); the positions are the same.
  const auto ids = input_ids.to(at::kInt);
  if (c.legacy_pooling()) return ids.argmax(-1);
  return (ids == c.eos_token_id).to(at::kInt).argmax(-1);
}

ClipTextEncoder::ClipTextEncoder(ClipTextConfig config, ClipTextWeights weights)
    : config_(std::move(config)), weights_(std::move(weights)) {}

ClipTextOutput ClipTextEncoder::encode(const at::Tensor& input_ids, const at::Tensor& attention_mask) const {
  const auto& c = config_;
  check_inputs(c, input_ids, attention_mask);
  const auto device = weights_.token_embedding.device();
  const auto run_dtype = dtype();
  const int64_t batch = input_ids.size(0), len = input_ids.size(1);
  const auto ids = input_ids.to(device, at::kLong);

  auto x = weights_.token_embedding.index_select(0, ids.reshape({-1})).view({batch, len, c.hidden_size}) +
           weights_.position_embedding.narrow(0, 0, len).unsqueeze(0);
  // transformers 4.46 (CLIPSdpaAttention) adds the two masks: -inf where both apply, which
  // softmax treats like finfo.min.
  auto mask = nn::causal_mask(len, run_dtype, device);
  if (attention_mask.defined()) mask = mask + nn::padding_mask(attention_mask.to(device), run_dtype);

  const double scale = 1.0 / std::sqrt(static_cast<double>(c.head_dim()));
  auto heads = [&](const at::Tensor& t) {  // [B, L, hidden] -> [B, H, L, D]
    return t.view({batch, len, c.num_heads, c.head_dim()}).transpose(1, 2);
  };
  for (const auto& l : weights_.layers) {
    auto h = layer_norm(x, l.norm1_weight, l.norm1_bias, c.layer_norm_eps);
    const auto attn = at::scaled_dot_product_attention(heads(nn::linear(h, l.q)), heads(nn::linear(h, l.k)),
                                                       heads(nn::linear(h, l.v)), mask, 0.0, false, scale);
    x = x + nn::linear(attn.transpose(1, 2).reshape({batch, len, c.hidden_size}), l.out);

    h = layer_norm(x, l.norm2_weight, l.norm2_bias, c.layer_norm_eps);
    x = x + nn::linear(nn::activate(nn::linear(h, l.fc1), c.act), l.fc2);
  }
  ClipTextOutput out;
  out.last_hidden_state =
      layer_norm(x, weights_.final_norm_weight, weights_.final_norm_bias, c.layer_norm_eps);
  const auto rows = at::arange(batch, at::TensorOptions().dtype(at::kLong).device(device));
  out.pooler_output = out.last_hidden_state.index({rows, clip_pool_positions(ids, c).to(at::kLong)});
  return out;
}

at::Tensor ClipTextEncoder::pooled(const at::Tensor& input_ids, const at::Tensor& attention_mask) const {
  return encode(input_ids, attention_mask).pooler_output;
}

}  // namespace uspdit::models::clip
