#include "models/common/checked_load.h"

#include <ATen/ATen.h>

#include "core/device.h"
#include "core/error.h"
#include "io/checkpoint.h"

namespace uspdit::models {

std::map<std::string, at::Tensor> load_checked(const io::TensorSource& source, const MappedNames& names,
                                               const std::vector<TensorSpec>& specs, const CheckedLoad& text,
                                               at::ScalarType dtype, c10::Device device,
                                               std::vector<std::string>* read) {
  require(names.unexpected.empty(), text.label + ": unexpected tensor" +
                                        (names.unexpected.size() > 1 ? "s " : " ") +
                                        io::quote_first_few(names.unexpected) + " " + text.foreign);
  std::vector<std::string> missing;
  for (const auto& spec : specs) {
    if (names.file_name_of.count(spec.name) == 0) missing.push_back(names.prefix + spec.name);
  }
  require(missing.empty(),
          text.label + ": missing tensor" + (missing.size() > 1 ? "s " : " ") + io::quote_first_few(missing));
  // Every shape is checked before the first byte of weights is read (an 8B model takes a while).
  for (const auto& spec : specs) {
    const auto& file_name = names.file_name_of.at(spec.name);
    io::expect_shape(source, file_name, spec.shape, text.shape_note);
    const auto stored = source.info(file_name).dtype;
    require(at::isFloatingType(stored), "checkpoint " + source.label() + ": tensor '" + file_name + "' is " +
                                            io::dtype_name(stored) + ", expected a floating-point dtype");
  }
  std::map<std::string, at::Tensor> tensors;
  core::DeviceUploader upload(device);
  for (const auto& spec : specs) {
    const auto& file_name = names.file_name_of.at(spec.name);
    tensors[spec.name] = source.load(file_name, holding_dtype(spec, dtype), upload);
    if (read) read->push_back(file_name);
  }
  upload.finish();
  return tensors;
}

}  // namespace uspdit::models
