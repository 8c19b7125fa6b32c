// One .safetensors file: 8-byte little-endian header length, a JSON header naming every
// tensor's dtype, shape and byte range, then the raw little-endian data. The header is
// validated completely when the file is opened (dtype known, ranges inside the file and sized
// for shape × dtype, no two tensors overlapping), so later views never read out of bounds.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "io/tensor_source.h"

namespace uspdit::io {

class SafetensorsFile : public TensorSource {
 public:
  // Throws UsageError "safetensors file <path>: <problem>" for any malformed file.
  static std::shared_ptr<const SafetensorsFile> open(const std::string& path);

  const std::string& label() const override { return file_->path(); }
  // In the order of the data in the file (reading them in this order is sequential I/O).
  const std::vector<std::string>& names() const override { return names_; }
  bool contains(const std::string& name) const override { return entries_.count(name) != 0; }
  // The free-form "__metadata__" string map (empty when the header has none).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 protected:
  Location locate(const std::string& name) const override;

 private:
  friend class SafetensorsIndex;  // delegates locate() to its shards
  struct Entry {
    TensorInfo info;
    uint64_t begin = 0;  // absolute byte offsets in the file
    uint64_t end = 0;
  };
  explicit SafetensorsFile(std::shared_ptr<const MappedFile> file);
  void parse_header();

  std::shared_ptr<const MappedFile> file_;
  std::vector<std::string> names_;
  std::unordered_map<std::string, Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

// The safetensors dtype string ("BF16", "F8_E4M3", ...) of a dtype, and back; the parser
// accepts F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL F8_E4M3 F8_E5M2.
std::string safetensors_dtype_name(at::ScalarType dtype);
bool parse_safetensors_dtype(const std::string& name, at::ScalarType* dtype);

}  // namespace uspdit::io
