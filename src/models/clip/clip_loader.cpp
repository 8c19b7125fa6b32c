// Loading the CLIP text tower from a CLIPTextModel or CLIPModel save_pretrained folder.
#include <ATen/ATen.h>

#include "core/device.h"
#include "core/error.h"
#include "io/checkpoint.h"
#include "models/clip/clip_encoder.h"
#include "models/common/checked_load.h"
#include "models/common/hf_model_dir.h"

namespace uspdit::models::clip {

ClipTextEncoder ClipTextEncoder::load(const std::string& path, at::ScalarType dtype, c10::Device device) {
  const auto where = locate_hf_model_dir(path, "text_encoder_2", "clip text encoder");
  const ClipTextConfig config = read_clip_text_config_json(where.config_json);
  const auto source = io::open_checkpoint(where.weights);
  const auto idx = index_clip_names(source->names(), config);
  const std::string label = "checkpoint " + source->label() + " (CLIP text, " + describe(config) + ")";
  auto tensors = load_checked(*source, idx, clip_text_tensor_specs(config),
                              {label, "(not part of a CLIP text model with this config)",
                               where.config_json + " says " + describe(config)},
                              dtype, device);
  return ClipTextEncoder(config, assemble_clip_text_weights(config, std::move(tensors)));
}

}  // namespace uspdit::models::clip
