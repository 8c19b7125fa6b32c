// Every tensor of a HunyuanVideo DiT under its engine (original) name, with its shape for a
// config and whether it stays fp32; the loader checks against this list, the random
// initialiser fills it, and both assemble HvWeights from the same map.
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <vector>

#include "models/hunyuan_video/hv_config.h"
#include "models/hunyuan_video/hv_weights.h"
#include "models/common/tensor_spec.h"

namespace uspdit::models::hunyuan_video {

std::vector<TensorSpec> hv_tensor_specs(const HvConfig& config);
HvWeights assemble_hv_weights(const HvConfig& config, std::map<std::string, at::Tensor> tensors);
HvWeights random_hv_weights(const HvConfig& config, at::ScalarType dtype, uint64_t seed, c10::Device device);

}  // namespace uspdit::models::hunyuan_video
