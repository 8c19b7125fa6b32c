// The HunyuanVideo VAE decoder's tensors: their specs, seeded random weights, and loading them
// from the files users have. Both layouts use the same tensor names (diffusers' conversion script
// has empty VAE rename maps), so the engine names are the files' names: the release's
// vae/pytorch_model.pt (a torch pickle, keys prefixed `vae.` and possibly wrapped in
// {"state_dict": ...}; the prefix is stripped as hyvideo/vae/__init__.py does) or diffusers'
// diffusion_pytorch_model.safetensors. Only post_quant_conv.* and decoder.* are read; the encoder
// and quant_conv are ignored. Every problem is one UsageError line naming the file.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "models/common/tensor_spec.h"
#include "models/hv_vae/hv_vae_config.h"

namespace uspdit::models::hv_vae {

// post_quant_conv and every decoder tensor, in forward order.
std::vector<TensorSpec> hv_vae_decoder_specs(const HvVaeConfig& config);

// Seeded fp32 weights for every spec: conv/linear weights N(0, 1/fan_in), biases N(0, 0.1²),
// GroupNorm weights 1 + N(0, 0.1²). For benchmarks and parallel tests.
std::map<std::string, at::Tensor> random_hv_vae_weights(const HvVaeConfig& config, uint64_t seed,
                                                        c10::Device device);

// Whether a file's key (prefix already stripped) is read by the decoder.
bool is_decoder_key(const std::string& name);

struct LoadedHvVae {
  HvVaeConfig config;
  HvVaeFamily family = HvVaeFamily::kOriginal;
  std::string label;                          // the weight file, for messages
  std::map<std::string, at::Tensor> weights;  // engine names, in `dtype`
};

// `path`: a VAE folder (config.json + pytorch_model.pt for the release, + diffusion_pytorch_model
// .safetensors for diffusers), the weight file inside one, or a folder holding it as vae/ (the
// release's hunyuan-video-t2v-720p/, a diffusers pipeline root). The family comes from
// config.json. Weights are converted to `dtype` (fp32, or fp16 as the release runs the VAE).
LoadedHvVae load_hv_vae(const std::string& path, c10::Device device, at::ScalarType dtype = at::kFloat);

}  // namespace uspdit::models::hv_vae
