// The one interface model loaders read weights through, whatever the file format: names,
// shape and dtype per tensor, a zero-copy view over the mapped file, and a converting load.
//
// Formats (safetensors, sharded safetensors, PyTorch zip pickles) implement locate(); views and
// loads are built here once, so every format has the same memory behaviour: nothing is read
// until a tensor is asked for, and load() holds one converted tensor, never the file or a copy.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "io/mapped_file.h"

namespace uspdit::core {
class DeviceUploader;
}  // namespace uspdit::core

namespace uspdit::io {

struct TensorInfo {
  at::ScalarType dtype = at::kFloat;
  std::vector<int64_t> shape;
  int64_t numel() const;
};

class TensorSource {
 public:
  virtual ~TensorSource() = default;

  // How messages name this checkpoint: the path, and for a pickle the key inside it.
  virtual const std::string& label() const = 0;
  // Tensor names in checkpoint order.
  virtual const std::vector<std::string>& names() const = 0;
  virtual bool contains(const std::string& name) const = 0;

  // Throw UsageError "checkpoint <label>: no tensor '<name>' ..." when the name is absent.
  TensorInfo info(const std::string& name) const;
  // Read-only tensor aliasing the mapped file (it keeps the mapping alive); writing to it is a
  // bug (the pages are mapped read-only). Copies only when the file places the tensor at an
  // address not aligned for its dtype (possible in safetensors), which ATen kernels require.
  at::Tensor view(const std::string& name) const;
  // A contiguous tensor of `dtype` that owns its memory, converted while it is read from the
  // mapping (peak memory: this one tensor). Drops the source pages from memory afterwards.
  at::Tensor load(const std::string& name, at::ScalarType dtype) const;
  at::Tensor load(const std::string& name) const { return load(name, info(name).dtype); }
  // The same, on the uploader's device: converted straight into its pinned staging buffer and
  // copied from there, so host memory holds the staging buffers, never a model.
  at::Tensor load(const std::string& name, at::ScalarType dtype, core::DeviceUploader& to) const;

 protected:
  // Where a tensor's elements are: element [0, ..., 0] at `offset` in `file`, `span` bytes
  // reaching every element. Implementations validated the bounds when the file was opened.
  struct Location {
    std::shared_ptr<const MappedFile> file;
    uint64_t offset = 0;
    uint64_t span = 0;
    TensorInfo info;
    std::vector<int64_t> strides;  // in elements
  };
  // Throws through missing_tensor() when absent.
  virtual Location locate(const std::string& name) const = 0;
  [[noreturn]] void missing_tensor(const std::string& name) const;

 private:
  static at::Tensor view_at(const Location& loc);
};

// "float32", "bfloat16", "float8_e4m3fn", ... (the names PyTorch users know).
std::string dtype_name(at::ScalarType dtype);
// "[256, 128]".
std::string shape_string(const std::vector<int64_t>& shape);

}  // namespace uspdit::io
