// The Wan-VAE decoder's tensors: their specs (engine = original names), seeded random weights,
// and loading them from the files users have: the release's Wan2.1_VAE.pth (whole VAE, encoder
// keys ignored, config from shapes) or a diffusers AutoencoderKLWan folder (config.json +
// safetensors; also a pipeline root with vae/). Every problem is one UsageError line.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "models/common/tensor_spec.h"
#include "models/wan_vae/wan_vae_config.h"
#include "models/wan_vae/wan_vae_name_map.h"

namespace uspdit::models::wan_vae {

// conv2 (post_quant_conv) and every decoder tensor, in forward order.
std::vector<TensorSpec> wan_vae_decoder_specs(const WanVaeConfig& config);

// Seeded fp32 weights for every spec: conv weights N(0, 1/fan_in), biases N(0, 0.1²), RMS_norm
// gammas 1 + N(0, 0.1²). For benchmarks and parallel tests.
std::map<std::string, at::Tensor> random_wan_vae_weights(const WanVaeConfig& config, uint64_t seed, c10::Device device);

struct LoadedWanVae {
  WanVaeConfig config;
  WanVaeLayout layout = WanVaeLayout::kOriginal;
  std::string label;                          // what was opened, for messages
  std::map<std::string, at::Tensor> weights;  // engine names, fp32
};

// `path`: Wan2.1_VAE.pth (or any torch/safetensors file of either layout), a directory holding
// Wan2.1_VAE.pth (the release), a diffusers vae/ folder, or a diffusers pipeline root.
LoadedWanVae load_wan_vae(const std::string& path, c10::Device device);

}  // namespace uspdit::models::wan_vae
