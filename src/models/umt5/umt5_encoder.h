// The umt5-xxl encoder as Wan 2.1 runs it (wan/modules/t5.py T5Encoder = transformers'
// UMT5EncoderModel): token embedding; per layer a T5 RMS norm, self-attention with no 1/sqrt(d)
// scaling plus that layer's own relative position bias (32 buckets, bidirectional,
// max_distance 128) and -inf-like bias on padded keys, a T5 RMS norm and the gated FFN
// fc2(fc1(x) * gelu_tanh(gate(x))); a final RMS norm. fp32 residual stream; matmuls in the
// weights' dtype, attention scores and softmax in fp32; norms fp32.
//
// Engine tensor names are the original release's (`blocks.N.attn.q.weight`, ...); HF names map
// onto them (umt5_name_map below).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "models/common/tensor_spec.h"
#include "models/umt5/umt5_config.h"
#include "models/umt5/umt5_text.h"
#include "models/umt5/umt5_tokenizer.h"

namespace uspdit::models::umt5 {

struct Umt5Layer {
  at::Tensor norm1, q, k, v, o;  // q/k/v [attn_dim, dim], o [dim, attn_dim]
  at::Tensor rel_bias;           // [num_buckets, num_heads], fp32
  at::Tensor norm2, gate, fc1, fc2;
};

struct Umt5Weights {
  at::Tensor embedding;  // [vocab, dim]
  std::vector<Umt5Layer> layers;
  at::Tensor final_norm;
};

// Every tensor of the original layout: name, shape, whether it stays fp32 (norms, bias tables).
std::vector<TensorSpec> umt5_tensor_specs(const Umt5Config& config);

// HF UMT5EncoderModel name -> engine (original) name, or "" when no rule applies.
// `encoder.embed_tokens.weight` (a tied copy of `shared.weight`) maps to the embedding too.
std::string hf_to_engine_name(const std::string& hf_name);
// The inverse (engine -> HF name, `shared.weight` for the embedding), "" when none.
std::string engine_to_hf_name(const std::string& engine_name);

Umt5Weights assemble_umt5_weights(const Umt5Config& config, std::map<std::string, at::Tensor> tensors);

// Seeded random weights (benchmarks; a test of the wiring at any shape).
Umt5Weights random_umt5_weights(const Umt5Config& config, at::ScalarType dtype, uint64_t seed, c10::Device device);

// Bucket index [len, len] of (key - query) for query row i, key column j (T5's bucketing).
at::Tensor relative_position_buckets(int64_t len, const Umt5Config& config);

class Umt5Encoder {
 public:
  Umt5Encoder(Umt5Config config, Umt5Weights weights);

  // `path`: the original models_t5_umt5-xxl-enc-bf16.pth (or a directory holding it, e.g. the
  // Wan 2.1 release), config from tensor shapes + umt5-xxl constants; or an HF UMT5EncoderModel
  // directory (config.json + model.safetensors[.index.json], e.g. diffusers' text_encoder/, or
  // a diffusers pipeline root). Weights converted to `dtype` while loading, norms fp32.
  // Missing/unexpected/shape/dtype problems: one-line UsageError naming the file and tensor.
  static Umt5Encoder load(const std::string& path, at::ScalarType dtype, c10::Device device);

  // [B, max_len, dim] fp32; padded rows are computed too (callers trim by the mask).
  at::Tensor encode(const TokenBatch& tokens) const;

  const Umt5Config& config() const { return config_; }
  const Umt5Weights& weights() const { return weights_; }

 private:
  Umt5Config config_;
  Umt5Weights weights_;
};

}  // namespace uspdit::models::umt5
