#include "models/llama/llama_encoder.h"

#include <ATen/ATen.h>

#include "core/device.h"
#include "core/error.h"
#include "nn/additive_mask.h"
#include "nn/layers.h"

namespace uspdit::models::llama {

namespace {

at::Tensor project(const at::Tensor& x, const at::Tensor& weight) {
  return nn::linear(x, {weight, {}});
}

// transformers' LlamaRMSNorm: statistics in fp32, cast back, then times the weight in the run
// dtype (nn::rms_norm multiplies in fp32 first, which rounds differently in fp16).
at::Tensor llama_rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  const auto xf = x.to(at::kFloat);
  const auto normed = xf * at::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return weight * normed.to(x.scalar_type());
}

at::Tensor rotate_half(const at::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

// [B, kv_heads, L, D] -> [B, kv_heads * n_rep, L, D], each KV head repeated n_rep times in place.
at::Tensor repeat_kv(const at::Tensor& x, int64_t n_rep) {
  if (n_rep == 1) return x;
  const int64_t b = x.size(0), h = x.size(1), l = x.size(2), d = x.size(3);
  return x.unsqueeze(2).expand({b, h, n_rep, l, d}).reshape({b, h * n_rep, l, d});
}

void check_inputs(const LlamaConfig& c, const at::Tensor& ids, const at::Tensor& mask) {
  require(ids.dim() == 2 && ids.size(0) > 0 && ids.size(1) > 0,
          "llama text encoder: input_ids must be a non-empty [batch, length], got " +
              std::to_string(ids.dim()) + " dims");
  require(mask.sizes() == ids.sizes(),
          "llama text encoder: attention_mask must have input_ids' shape [batch, length]");
  const auto host_ids = core::to_host(ids).to(at::kLong);
  const int64_t lo = host_ids.min().item<int64_t>(), hi = host_ids.max().item<int64_t>();
  require(lo >= 0 && hi < c.vocab_size, "llama text encoder: token id " + std::to_string(lo < 0 ? lo : hi) +
                                            " outside the vocabulary of " + std::to_string(c.vocab_size) +
                                            " (tokenizer and encoder from different models?)");
}

}  // namespace

std::pair<at::Tensor, at::Tensor> rope_tables(const LlamaConfig& c, int64_t length, at::ScalarType dtype,
                                              c10::Device device, InvFreq precision) {
  // inv_freq is built on the host at model construction in transformers, then moved (and, after
  // a module-wide .to(dtype), rounded with the weights).
  const auto exponent = at::arange(0, c.head_dim, 2, at::kFloat) / static_cast<double>(c.head_dim);
  auto host_inv_freq = at::reciprocal(at::pow(c.rope_theta, exponent));
  if (precision == InvFreq::kRoundedToRunDtype) host_inv_freq = host_inv_freq.to(dtype).to(at::kFloat);
  const auto inv_freq = core::to_device(host_inv_freq, device);
  const auto positions = at::arange(length, at::TensorOptions().dtype(at::kFloat).device(device));
  const auto freqs = positions.unsqueeze(1) * inv_freq.unsqueeze(0);
  const auto emb = at::cat({freqs, freqs}, -1);
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

LlamaTextEncoder::LlamaTextEncoder(LlamaConfig config, LlamaWeights weights, int64_t skip, InvFreq inv_freq,
                                   std::vector<std::string> read_tensors)
    : config_(std::move(config)),
      weights_(std::move(weights)),
      skip_(skip),
      inv_freq_(inv_freq),
      read_tensors_(std::move(read_tensors)) {}

at::Tensor LlamaTextEncoder::forward(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                                     int64_t skip) const {
  const auto& c = config_;
  const int64_t run_layers = layers_for_skip(c, skip);
  require(run_layers <= static_cast<int64_t>(weights_.layers.size()) &&
              (skip != 0 || weights_.final_norm.defined()),
          "llama text encoder: hidden_state_skip_layer " + std::to_string(skip) + " needs " +
              (skip == 0 ? std::string("every layer and the final norm")
                         : std::to_string(run_layers) + " layers") +
              ", but it was loaded for skip " + std::to_string(skip_));
  check_inputs(c, input_ids, attention_mask);
  const auto device = weights_.embed.device();
  const auto run_dtype = dtype();
  const int64_t batch = input_ids.size(0), len = input_ids.size(1);
  const auto ids = input_ids.to(device, at::kLong);
  const auto key_mask = attention_mask.to(device);

  auto x = weights_.embed.index_select(0, ids.reshape({-1})).view({batch, len, c.hidden_size});
  const auto [cos, sin] = rope_tables(c, len, run_dtype, device, inv_freq_);
  // transformers 4.46 (HunyuanVideo's pin) passes no mask and is_causal to SDPA when nothing is
  // padded; otherwise the filled causal + padding mask.
  const bool unpadded = (key_mask != 0).all().item<bool>();
  const auto mask = unpadded ? at::Tensor() : nn::causal_padding_mask(key_mask, run_dtype);
  const int64_t n_rep = c.num_heads / c.num_kv_heads;

  auto heads = [&](const at::Tensor& t, int64_t n) {  // [B, L, n*D] -> [B, n, L, D]
    return t.view({batch, len, n, c.head_dim}).transpose(1, 2);
  };
  auto rope = [&](const at::Tensor& t) { return t * cos + rotate_half(t) * sin; };
  for (int64_t i = 0; i < run_layers; ++i) {
    const auto& l = weights_.layers[i];
    auto h = llama_rms_norm(x, l.input_norm, c.rms_norm_eps);
    const auto q = rope(heads(project(h, l.q), c.num_heads));
    const auto k = repeat_kv(rope(heads(project(h, l.k), c.num_kv_heads)), n_rep);
    const auto v = repeat_kv(heads(project(h, l.v), c.num_kv_heads), n_rep);
    const auto attn = at::scaled_dot_product_attention(
        q, k, v, mask.defined() ? std::optional<at::Tensor>(mask) : std::nullopt, 0.0,
        /*is_causal=*/unpadded);
    x = x + project(attn.transpose(1, 2).reshape({batch, len, c.q_dim()}), l.o);

    h = llama_rms_norm(x, l.post_norm, c.rms_norm_eps);
    x = x + project(nn::activate(project(h, l.gate), c.act) * project(h, l.up), l.down);
  }
  if (skip == 0) x = llama_rms_norm(x, weights_.final_norm, c.rms_norm_eps);
  return x;
}

}  // namespace uspdit::models::llama
