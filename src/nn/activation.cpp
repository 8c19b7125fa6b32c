#include "nn/activation.h"

#include <ATen/ATen.h>

#include "core/error.h"

namespace uspdit::nn {

Activation parse_activation(const std::string& name, const std::string& source) {
  if (name == "silu" || name == "swish") return Activation::kSilu;
  if (name == "gelu") return Activation::kGelu;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") return Activation::kGeluTanh;
  if (name == "quick_gelu") return Activation::kQuickGelu;
  throw UsageError(source + ": hidden_act '" + name +
                   "' is not supported (silu, swish, gelu, gelu_new, gelu_pytorch_tanh, quick_gelu)");
}

const char* activation_name(Activation act) {
  switch (act) {
    case Activation::kSilu:
      return "silu";
    case Activation::kGelu:
      return "gelu";
    case Activation::kGeluTanh:
      return "gelu_pytorch_tanh";
    case Activation::kQuickGelu:
      return "quick_gelu";
  }
  return "?";
}

at::Tensor activate(const at::Tensor& x, Activation act) {
  switch (act) {
    case Activation::kSilu:
      return at::silu(x);
    case Activation::kGelu:
      return at::gelu(x);
    case Activation::kGeluTanh:
      return at::gelu(x, "tanh");
    case Activation::kQuickGelu:
      return x * at::sigmoid(1.702 * x);
  }
  return x;
}

}  // namespace uspdit::nn
