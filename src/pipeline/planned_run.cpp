#include "pipeline/planned_run.h"

#include <algorithm>
#include <regex>

namespace uspdit::pipeline {

planner::RunShape run_shape(int64_t height, int64_t width, int64_t frames, int steps, bool guided,
                            const T2vSettings& settings) {
  planner::RunShape r;
  r.height = height, r.width = width, r.frames = frames, r.steps = steps;
  r.guided = guided;
  r.dit_bytes = static_cast<int>(c10::elementSize(settings.dit_dtype));
  r.text_bytes = static_cast<int>(c10::elementSize(settings.text_dtype));
  if (settings.vae_tiling) {
    r.vae_tiled = true;
    r.vae_tile = settings.vae_tiling->tile;
    r.vae_tile_stride = settings.vae_tiling->stride;
  }
  r.text_encoder_on_every_rank = settings.text_encoder_on_every_rank;
  r.offload_dit_for_decode = settings.offload_model;
  r.parallel_vae = settings.parallel_vae;
  return r;
}

int64_t count_parameters(const io::TensorSource& source,
                         const std::function<bool(const std::string&)>& keep) {
  int64_t total = 0;
  for (const auto& name : source.names()) {
    if (!keep || keep(name)) total += source.info(name).numel();
  }
  return total;
}

int64_t largest_tensor(const io::TensorSource& source, const std::function<bool(const std::string&)>& keep) {
  int64_t largest = 0;
  for (const auto& name : source.names()) {
    if (!keep || keep(name)) largest = std::max(largest, source.info(name).numel());
  }
  return largest;
}

planner::VaeShape vae_decoder_shape(const io::TensorSource& source, planner::VaeDecode decode,
                                    int64_t tile_frames) {
  planner::VaeShape vae;
  vae.decode = decode;
  vae.tile_frames = tile_frames;
  vae.live_tensors = decode == planner::VaeDecode::causal_frames ? planner::kWanVaeLiveTensors
                                                                 : planner::kHunyuanVaeLiveTensors;
  for (const auto& name : source.names()) {
    const bool decoder = name.find("decoder.") != std::string::npos;
    // Wan's post-quant conv is conv2, HunyuanVideo's post_quant_conv.
    const bool post_quant =
        name.rfind("conv2.", 0) == 0 || name.find("post_quant_conv.") != std::string::npos;
    if (!decoder && !post_quant) continue;
    const auto info = source.info(name);
    vae.params += info.numel();
    // The output convolution: 3 (RGB) output channels from the full-resolution features.
    if (decoder && info.shape.size() == 5 && info.shape[0] == 3) vae.full_res_channels = info.shape[1];
  }
  return vae;
}

int64_t llama_parameters_used(const io::TensorSource& source, int64_t skipped_last_layers) {
  static const std::regex layer_of(R"(layers\.(\d+)\.)");
  int64_t layers = 0;
  std::smatch m;
  for (const auto& name : source.names()) {
    if (std::regex_search(name, m, layer_of)) layers = std::max<int64_t>(layers, std::stoll(m[1].str()) + 1);
  }
  const int64_t used = std::max<int64_t>(0, layers - skipped_last_layers);
  return count_parameters(source, [&](const std::string& name) {
    if (name.find("lm_head") != std::string::npos) return false;
    std::smatch match;
    return !std::regex_search(name, match, layer_of) || std::stoll(match[1].str()) < used;
  });
}

}  // namespace uspdit::pipeline
