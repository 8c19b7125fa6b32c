// Reading a model's tensors from a checkpoint once its names are mapped (engine name -> name in
// the file), for the loaders whose layouts are a name prefix away from each other (the Hugging
// Face text encoders): every problem is refused before the first byte of weights is read.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <map>
#include <string>
#include <vector>

#include "io/tensor_source.h"
#include "models/common/tensor_spec.h"

namespace uspdit::models {

struct MappedNames {
  std::string prefix;                               // the layout's prefix, for naming missing tensors
  std::map<std::string, std::string> file_name_of;  // engine name -> name in the file
  std::vector<std::string> unexpected;              // names in the file no spec accounts for
};

struct CheckedLoad {
  std::string label;       // "checkpoint X (CLIP text, ...)": starts every message
  std::string foreign;     // completes the unexpected-tensor message, e.g. "(not part of ...)"
  std::string shape_note;  // what the shapes are checked against, e.g. "config.json says ..."
};

// Refuses unexpected names, missing tensors, wrong shapes and non-floating dtypes (one UsageError
// each), then reads every spec's tensor in its holding dtype onto `device`. `read`, when given,
// receives the file names in reading order.
std::map<std::string, at::Tensor> load_checked(const io::TensorSource& source, const MappedNames& names,
                                               const std::vector<TensorSpec>& specs, const CheckedLoad& text,
                                               at::ScalarType dtype, c10::Device device,
                                               std::vector<std::string>* read = nullptr);

}  // namespace uspdit::models
