// Loading the Llama text encoder from a save_pretrained folder: only the tensors the requested
// hidden_state_skip_layer needs are checked and read.
#include <ATen/ATen.h>

#include "core/device.h"
#include "core/error.h"
#include "io/checkpoint.h"
#include "models/common/checked_load.h"
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
  std::vector<std::string> read;
  auto tensors = load_checked(*source, idx, llama_tensor_specs(config, skip),
                              {label, "(not part of a Llama language model with this config)",
                               where.config_json + " says " + describe(config)},
                              dtype, device, &read);
  return LlamaTextEncoder(config, assemble_llama_weights(config, skip, std::move(tensors)), skip, inv_freq,
                          std::move(read));
}

}  // namespace uspdit::models::llama
