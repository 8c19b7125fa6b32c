// Finding a Hugging Face `save_pretrained` folder (config.json beside its weights) from the path
// a user gives: the folder itself, or a pipeline root that holds it under a known subfolder
// (diffusers' text_encoder/, text_encoder_2/).
#pragma once

#include <string>

namespace uspdit::models {

struct HfModelDir {
  std::string dir;          // the model folder
  std::string config_json;  // <dir>/config.json
  std::string
      weights;  // for io::open_checkpoint: the folder (safetensors, sharded or not) or pytorch_model.bin
};

// `what` names the model in messages ("llama text encoder"). Throws UsageError naming the path
// when it does not exist, has no config.json, or has no weights (model.safetensors,
// *.safetensors.index.json or pytorch_model.bin).
HfModelDir locate_hf_model_dir(const std::string& path, const std::string& subfolder,
                               const std::string& what);

}  // namespace uspdit::models
