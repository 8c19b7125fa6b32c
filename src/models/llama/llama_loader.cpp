// Loading the Llama text encoder from a save_pretrained folder: only the tensors the requested
// hidden_state_skip_layer needs are checked and read.
#include <ATen/ATen.h>

#include "core/device.h"
#include "core/error.h"
#include "io/checkpoint.h"
#include "models/common/hf_model_dir.h"
#include "models/llama/llama_encoder.h"

namespace uspdit::models::llama {

LlamaTextEncoder LlamaTextEncoder::load(const std::string& path, at::ScalarType dtype, c10::Device device,
                                        int64_t skip, InvFreq inv_freq) {
  const auto where = locate_hf_model_dir(path, "text_encoder", "llama text encoder");
  // A config we cannot run is reported before the weights are opened.
  const LlamaConfig config = read_llama_config_json(where.config_json);
  layers_for_skip(config, skip);  // validates skip against the config
  const auto source = io::open_checkpoint(where.weights);
  const auto idx = index_llama_names(source->names(), config);
  const std::string label = "checkpoint " + source->label() + " (Llama, " + describe(config) + ")";
  require(idx.unexpected.empty(), label + ": unexpected tensor" + (idx.unexpected.size() > 1 ? "s " : " ") +
                                      io::quote_first_few(idx.unexpected) +
                                      " (not part of a Llama language model with this config)");

  const auto specs = llama_tensor_specs(config, skip);
  std::vector<std::string> missing;
  for (const auto& spec : specs) {
    if (idx.file_name_of.count(spec.name) == 0) missing.push_back(idx.prefix + spec.name);
  }
  require(missing.empty(),
          label + ": missing tensor" + (missing.size() > 1 ? "s " : " ") + io::quote_first_few(missing));

  // Every shape is checked before the first byte of weights is read (an 8B model takes a while).
  const std::string context = where.config_json + " says " + describe(config);
  for (const auto& spec : specs) {
    const auto& file_name = idx.file_name_of.at(spec.name);
    io::expect_shape(*source, file_name, spec.shape, context);
    const auto stored = source->info(file_name).dtype;
    require(at::isFloatingType(stored), "checkpoint " + source->label() + ": tensor '" + file_name + "' is " +
                                            io::dtype_name(stored) + ", expected a floating-point dtype");
  }
  std::map<std::string, at::Tensor> tensors;
  std::vector<std::string> read;
  core::DeviceUploader upload(device);
  for (const auto& spec : specs) {
    const auto& file_name = idx.file_name_of.at(spec.name);
    tensors[spec.name] = source->load(file_name, holding_dtype(spec, dtype), upload);
    read.push_back(file_name);
  }
  upload.finish();
  return LlamaTextEncoder(config, assemble_llama_weights(config, skip, std::move(tensors)), skip, inv_freq,
                          std::move(read));
}

}  // namespace uspdit::models::llama
