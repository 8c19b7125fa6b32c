// Loading a HunyuanVideo DiT from the files users have:
//   - the original release: `mp_rank_00_model_states.pt` (a torch.save zip, state dict under
//     "module", sometimes also "ema"), given as the file, its directory, or a directory holding
//     `transformers/` or `hunyuan-video-t2v-720p/transformers/`; the fp8 variant
//     `mp_rank_00_model_states_fp8.pt` with its per-layer scales in `..._fp8_map.pt`. The release
//     has no config.json: one beside the .pt is used if present, else the config is derived
//     from the tensor shapes;
//   - diffusers: a pipeline root with transformer/, or the transformer folder (config.json +
//     diffusion_pytorch_model*.safetensors), or a .safetensors file with config.json beside it.
// The key layout is detected from the tensor names, not from the file type.
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <memory>
#include <string>

#include "io/tensor_source.h"
#include "models/hunyuan_video/hv_config.h"
#include "models/hunyuan_video/hv_name_map.h"
#include "models/hunyuan_video/hv_weights.h"

namespace uspdit::models::hunyuan_video {

struct HvCheckpoint {
  std::string weights;      // the .pt file, or a .safetensors / index / diffusers transformer folder
  bool torch_file = false;  // weights is a torch.save archive: a key ("module", "ema") selects the dict
  std::string fp8_map;      // the scale file of an fp8 .pt ("..._fp8_map.pt"); empty otherwise
  std::string config_file;  // the config.json read; empty when derived from the tensor shapes
  HvLayout layout = HvLayout::kOriginal;
  HvConfig config;
};

// Finds the weights (and scale file, config.json) under a directory or at a file path and
// resolves the config. Throws UsageError naming what is missing.
HvCheckpoint locate_hv_checkpoint(const std::string& ckpt_dir_or_file);

// The checkpoint's tensors. For a torch file, `key` selects the state dict ("module" by default,
// "ema" on request); a file whose top level is itself a state dict (no "module"/"ema" key) is
// accepted for "module", as the release's loader does. Safetensors have no keys: only
// "module" (the default) is accepted for them.
std::shared_ptr<const io::TensorSource> open_hv_source(const HvCheckpoint& ckpt,
                                                       const std::string& key = "module");

// Every tensor of hv_tensor_specs(config) under its engine name, checked (missing, unexpected,
// shape, dtype: one-line UsageErrors naming the file and tensor) and converted to `dtype` one
// tensor at a time while read (fp32 for the specs marked fp32). Diffusers tensors are assembled
// by the recipes of hv_name_map; float8 weights are dequantised as w.to(fp32) · scale with the
// scale from the checkpoint's _fp8_map.pt, then converted (a float8 tensor without a scale is an
// error naming it). Tensors land on `device`, through pinned staging buffers for a GPU.
std::map<std::string, at::Tensor> load_hv_tensors(const HvCheckpoint& ckpt, const HvConfig& config,
                                                  at::ScalarType dtype, c10::Device device,
                                                  const std::string& key = "module");

// load_hv_tensors, assembled into HvWeights.
HvWeights load_hv_weights(const HvCheckpoint& ckpt, const HvConfig& config, at::ScalarType dtype,
                          c10::Device device, const std::string& key = "module");

}  // namespace uspdit::models::hunyuan_video
