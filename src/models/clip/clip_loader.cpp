// Loading the CLIP text tower from a CLIPTextModel or CLIPModel save_pretrained folder.
#include <ATen/ATen.h>

#include "core/device.h"
#include "core/error.h"
#include "io/checkpoint.h"
#include "models/clip/clip_encoder.h"
#include "models/common/hf_model_dir.h"

namespace uspdit::models::clip {

ClipTextEncoder ClipTextEncoder::load(const std::string& path, at::ScalarType dtype, c10::Device device) {
  const auto where = locate_hf_model_dir(path, "text_encoder_2", "clip text encoder");
  const ClipTextConfig config = read_clip_text_config_json(where.config_json);
  const auto source = io::open_checkpoint(where.weights);
  const auto idx = index_clip_names(source->names(), config);
  const std::string label = "checkpoint " + source->label() + " (CLIP text, " + describe(config) + ")";
  require(idx.unexpected.empty(), label + ": unexpected tensor" + (idx.unexpected.size() > 1 ? "s " : " ") +
                                      io::quote_first_few(idx.unexpected) +
                                      " (not part of a CLIP text model with this config)");
  const auto specs = clip_text_tensor_specs(config);
  std::vector<std::string> missing;
  for (const auto& spec : specs) {
    if (idx.file_name_of.count(spec.name) == 0) missing.push_back(idx.prefix + spec.name);
  }
  require(missing.empty(),
          label + ": missing tensor" + (missing.size() > 1 ? "s " : " ") + io::quote_first_few(missing));

  const std::string context = where.config_json + " says " + describe(config);
  for (const auto& spec : specs) {
    const auto& file_name = idx.file_name_of.at(spec.name);
    io::expect_shape(*source, file_name, spec.shape, context);
    const auto stored = source->info(file_name).dtype;
    require(at::isFloatingType(stored), "checkpoint " + source->label() + ": tensor '" + file_name + "' is " +
                                            io::dtype_name(stored) + ", expected a floating-point dtype");
  }
  std::map<std::string, at::Tensor> tensors;
  core::DeviceUploader upload(device);
  for (const auto& spec : specs) {
    tensors[spec.name] = source->load(idx.file_name_of.at(spec.name), holding_dtype(spec, dtype), upload);
  }
  upload.finish();
  return ClipTextEncoder(config, assemble_clip_text_weights(config, std::move(tensors)));
}

}  // namespace uspdit::models::clip
