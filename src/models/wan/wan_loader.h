// Loading a Wan 2.1 DiT from the files users have: the original release directory
// (config.json + diffusion_pytorch_model*.safetensors) or a diffusers folder (a pipeline root
// with transformer/, or the transformer folder itself). The layout is detected from the keys.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

#include "io/tensor_source.h"
#include "models/wan/wan_config.h"
#include "models/wan/wan_name_map.h"
#include "models/wan/wan_weights.h"

namespace uspdit::models::wan {

struct WanCheckpoint {
  std::string weights_dir;  // folder with config.json and the DiT weights
  WanConfig config;
};

// Finds config.json and the weights under ckpt_dir. Throws UsageError naming what is missing.
WanCheckpoint locate_wan_checkpoint(const std::string& ckpt_dir);

// Every tensor the config needs, checked (missing, unexpected, shape, dtype) and converted to
// `dtype` one at a time while read (fp32 for norms, modulation and time embedding).
WanWeights load_wan_weights(const io::TensorSource& source, const WanConfig& config, at::ScalarType dtype,
                            c10::Device device);

}  // namespace uspdit::models::wan
