#include "pipeline/forward_inputs.h"

#include "core/error.h"

namespace uspdit::pipeline {

at::Tensor forward_input(const io::TensorSource& source, const c10::Device& device, const std::string& name,
                         bool required) {
  if (!source.contains(name)) {
    require(!required,
            "inputs " + source.label() + ": no tensor '" + name +
                "' (inputs use diffusers' argument names: hidden_states, timestep, encoder_hidden_states"
                ", and for HunyuanVideo encoder_attention_mask, pooled_projections, guidance)");
    return {};
  }
  return source.load(name, at::kFloat).to(device);
}

}  // namespace uspdit::pipeline
