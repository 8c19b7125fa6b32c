// The feed-forward activations transformers configs name (`hidden_act`), parsed once from the
// config and applied in the input's dtype as transformers' ACT2FN does.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

namespace uspdit::nn {

enum class Activation {
  kSilu,       // "silu", "swish": x * sigmoid(x) (Llama's SwiGLU gate)
  kGelu,       // "gelu": the exact erf GELU
  kGeluTanh,   // "gelu_new", "gelu_pytorch_tanh": GELU with the tanh approximation
  kQuickGelu,  // "quick_gelu": x * sigmoid(1.702 x) (OpenAI CLIP)
};

// Throws UsageError "<source>: hidden_act '<name>' is not supported (...)" for other names.
Activation parse_activation(const std::string& name, const std::string& source);
const char* activation_name(Activation act);
at::Tensor activate(const at::Tensor& x, Activation act);

}  // namespace uspdit::nn
