#include "io/tensor_source.h"

#include <cstring>

#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <c10/core/ScalarType.h>

#include "core/device.h"
#include "core/error.h"

namespace uspdit::io {

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

TensorInfo TensorSource::info(const std::string& name) const {
  return locate(name).info;
}

at::Tensor TensorSource::view(const std::string& name) const {
  return view_at(locate(name));
}

at::Tensor TensorSource::view_at(const Location& loc) {
  const auto options = at::TensorOptions().dtype(loc.info.dtype);
  const uint8_t* ptr = loc.file->data() + loc.offset;
  const auto elem = static_cast<uintptr_t>(c10::elementSize(loc.info.dtype));
  if (reinterpret_cast<uintptr_t>(ptr) % elem != 0) {
    // Copy bytewise into aligned memory; strides are kept so the result equals the view.
    at::Tensor raw = at::empty({static_cast<int64_t>(loc.span)}, at::TensorOptions().dtype(at::kByte));
    if (loc.span > 0) std::memcpy(raw.data_ptr(), ptr, loc.span);
    return raw.view(loc.info.dtype).as_strided(loc.info.shape, loc.strides);
  }
  // The deleter owns a reference to the mapping: the file stays mapped while any view lives.
  std::shared_ptr<const MappedFile> keep = loc.file;
  return at::from_blob(
      const_cast<uint8_t*>(ptr), loc.info.shape, loc.strides, [keep](void*) {}, options);
}

at::Tensor TensorSource::load(const std::string& name, at::ScalarType dtype) const {
  const Location loc = locate(name);
  loc.file->will_need(loc.offset, loc.span);
  const at::Tensor source = view_at(loc);
  at::Tensor out = at::empty(loc.info.shape, at::TensorOptions().dtype(dtype));
  out.copy_(source);
  loc.file->release(loc.offset, loc.span);
  return out;
}

at::Tensor TensorSource::load(const std::string& name, at::ScalarType dtype, core::DeviceUploader& to) const {
  const Location loc = locate(name);
  loc.file->will_need(loc.offset, loc.span);
  at::Tensor staged = to.staging(loc.info.shape, dtype);
  staged.copy_(view_at(loc));
  loc.file->release(loc.offset, loc.span);
  return to.upload(staged);
}

void TensorSource::missing_tensor(const std::string& name) const {
  std::string msg = "checkpoint " + label() + ": no tensor '" + name + "'";
  const auto& all = names();
  // An example name shows at a glance when the checkpoint uses another naming scheme.
  if (all.empty())
    msg += " (the checkpoint holds no tensors)";
  else
    msg += " (it holds " + std::to_string(all.size()) + " tensors, e.g. '" + all.front() + "')";
  throw UsageError(msg);
}

std::string dtype_name(at::ScalarType dtype) {
  switch (dtype) {
    case at::kDouble:
      return "float64";
    case at::kFloat:
      return "float32";
    case at::kHalf:
      return "float16";
    case at::kBFloat16:
      return "bfloat16";
    case at::kLong:
      return "int64";
    case at::kInt:
      return "int32";
    case at::kShort:
      return "int16";
    case at::kChar:
      return "int8";
    case at::kByte:
      return "uint8";
    case at::kBool:
      return "bool";
    case at::kFloat8_e4m3fn:
      return "float8_e4m3fn";
    case at::kFloat8_e5m2:
      return "float8_e5m2";
    default:
      return c10::toString(dtype);
  }
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

}  // namespace uspdit::io
