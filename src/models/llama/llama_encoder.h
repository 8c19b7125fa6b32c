// HunyuanVideo's first text encoder: the Llama-3-8B language model of LLaVA-LLaMA-3-8B, read at
// hidden_states[-(skip+1)] (HunyuanVideo: skip 2, the raw output of layer 30 of 32, no final
// norm), computed as transformers' LlamaModel does in the run dtype (fp16 for HunyuanVideo):
// token embedding; per layer RMSNorm (statistics in fp32, cast, then times the weight), q/k/v
// without bias, RoPE (angles, cos and sin in fp32 from an inv_freq rounded as HunyuanVideo's
// .to(fp16) leaves it, see InvFreq; cos/sin cast to the run dtype; rotate_half halves),
// K/V repeated for GQA, SDPA with scale 1/sqrt(head_dim) under a causal + key-padding mask of
// finfo.min, o-proj, residual; RMSNorm, down(act(gate(x)) * up(x)), residual. Position ids are
// 0..L-1; the residual stream stays in the run dtype.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <string>
#include <vector>

#include "models/llama/llama_config.h"
#include "models/llama/llama_weights.h"

namespace uspdit::models::llama {

// HunyuanVideo's hidden_state_skip_layer.
inline constexpr int64_t kHunyuanSkipLayers = 2;

// The precision of RoPE's inv_freq, which transformers keeps as a module buffer. HunyuanVideo
// loads the model in fp32 and calls .to(fp16), which rounds that buffer to fp16 too (forward then
// upcasts it: the angles carry fp16's relative error, ~0.07 rad at position 350 for head_dim 128
// and theta 500000). from_pretrained(torch_dtype=fp16) keeps it fp32. Checked under transformers
// 4.46.3 and 5.23 (tests/data/hv_text_encoders/meta.json).
enum class InvFreq {
  kRoundedToRunDtype,  // HunyuanVideo's `.to(fp16)`
  kFloat32,            // from_pretrained(torch_dtype=...)
};

class LlamaTextEncoder {
 public:
  // `skip` is what forward() can be asked for at least; tensors it needs less of are neither read
  // nor checked (the last `skip` layers and the final norm for skip >= 1; lm_head never).
  // `read_tensors`: the checkpoint names the weights came from (for read_tensors()).
  LlamaTextEncoder(LlamaConfig config, LlamaWeights weights, int64_t skip,
                   InvFreq inv_freq = InvFreq::kRoundedToRunDtype,
                   std::vector<std::string> read_tensors = {});

  // `path`: the folder LlamaForCausalLM/LlamaModel.save_pretrained wrote (config.json + sharded or
  // single safetensors, or pytorch_model.bin; HunyuanVideo's ckpts/text_encoder), or a diffusers
  // pipeline root holding it as text_encoder/. Weights are converted to `dtype` while read and
  // uploaded to `device`. Any problem is a one-line UsageError naming the file: a config that
  // cannot be run, a missing shard or tensor, a tensor whose shape disagrees with the config.
  static LlamaTextEncoder load(const std::string& path, at::ScalarType dtype, c10::Device device,
                               int64_t skip = kHunyuanSkipLayers,
                               InvFreq inv_freq = InvFreq::kRoundedToRunDtype);

  // input_ids and attention_mask [B, L] (int64, any device; mask 1 = token, 0 = padding) ->
  // hidden_states[-(skip+1)] [B, L, hidden] in the run dtype on the weights' device. Padded
  // positions are computed too (callers crop and mask). `skip` must be >= the loaded one.
  at::Tensor forward(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                     int64_t skip = kHunyuanSkipLayers) const;

  const LlamaConfig& config() const { return config_; }
  const LlamaWeights& weights() const { return weights_; }
  int64_t loaded_skip() const { return skip_; }
  InvFreq inv_freq() const { return inv_freq_; }
  at::ScalarType dtype() const { return weights_.embed.scalar_type(); }
  // The tensor names read from the checkpoint, in reading order (load() fills it).
  const std::vector<std::string>& read_tensors() const { return read_tensors_; }

 private:
  LlamaConfig config_;
  LlamaWeights weights_;
  int64_t skip_;
  InvFreq inv_freq_;
  std::vector<std::string> read_tensors_;
};

// RoPE tables for positions 0..length-1: (cos, sin) [length, head_dim] in `dtype` on `device`,
// computed in fp32 as transformers' LlamaRotaryEmbedding does (inv_freq first rounded to `dtype`
// for kRoundedToRunDtype), then cast.
std::pair<at::Tensor, at::Tensor> rope_tables(const LlamaConfig& config, int64_t length, at::ScalarType dtype,
                                              c10::Device device, InvFreq inv_freq);

}  // namespace uspdit::models::llama
