#include "io/safetensors.h"

#include <algorithm>
#include <string_view>

#include <c10/core/ScalarType.h>

#include "core/error.h"
#include "io/json.h"

namespace uspdit::io {
namespace {

struct DtypeName {
  const char* name;
  at::ScalarType dtype;
};
constexpr DtypeName kDtypes[] = {
    {"F64", at::kDouble},
    {"F32", at::kFloat},
    {"F16", at::kHalf},
    {"BF16", at::kBFloat16},
    {"I64", at::kLong},
    {"I32", at::kInt},
    {"I16", at::kShort},
    {"I8", at::kChar},
    {"U8", at::kByte},
    {"BOOL", at::kBool},
    {"F8_E4M3", at::kFloat8_e4m3fn},
    {"F8_E5M2", at::kFloat8_e5m2},
};

// The reference implementation refuses headers above 100 MB; a larger length means the file
// is something else (its first 8 bytes read as a huge number).
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

uint64_t read_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

[[noreturn]] void fail_file(const std::string& where, const std::string& problem) {
  throw UsageError(where + ": " + problem);
}

}  // namespace

std::string safetensors_dtype_name(at::ScalarType dtype) {
  for (const auto& d : kDtypes)
    if (d.dtype == dtype) return d.name;
  return dtype_name(dtype);
}

bool parse_safetensors_dtype(const std::string& name, at::ScalarType* dtype) {
  for (const auto& d : kDtypes) {
    if (name == d.name) {
      *dtype = d.dtype;
      return true;
    }
  }
  return false;
}

std::shared_ptr<const SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  return std::shared_ptr<const SafetensorsFile>(new SafetensorsFile(MappedFile::open(path)));
}

SafetensorsFile::SafetensorsFile(std::shared_ptr<const MappedFile> file) : file_(std::move(file)) {
  parse_header();
}

void SafetensorsFile::parse_header() {
  const std::string where = "safetensors file " + file_->path();
  auto fail = [&where](const std::string& problem) { fail_file(where, problem); };
  const uint64_t size = file_->size();
  if (size < 8) fail("truncated: " + std::to_string(size) + " bytes, less than the 8-byte header length");
  const uint64_t header_len = read_le64(file_->data());
  if (header_len > size - 8) {
    fail("header length " + std::to_string(header_len) + " exceeds the file (" + std::to_string(size) +
         " bytes): truncated, or not a safetensors file");
  }
  if (header_len > kMaxHeaderBytes) fail("header length " + std::to_string(header_len) + " is implausible");
  const std::string_view text(reinterpret_cast<const char*>(file_->data()) + 8, header_len);
  if (text.empty() || text.front() != '{') fail("header is not a JSON object");
  const Json header = Json::parse(text, where + " header");

  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = size - data_start;
  struct Span {
    uint64_t begin, end;
    const std::string* name;
  };
  std::vector<Span> spans;
  for (size_t i = 0; i < header.size(); ++i) {
    const std::string& name = header.key(i);
    const Json& e = header.item(i);
    if (name == "__metadata__") {
      if (!e.is_object()) fail("__metadata__ is " + e.type_name() + ", expected an object of strings");
      for (size_t j = 0; j < e.size(); ++j) {
        if (!e.item(j).is_string()) fail("__metadata__ entry '" + e.key(j) + "' is not a string");
        metadata_[e.key(j)] = e.item(j).as_string();
      }
      continue;
    }
    const std::string tensor = "tensor '" + name + "'";
    if (!e.is_object()) fail(tensor + " is described by " + e.type_name() + ", expected an object");
    const Json* dtype = e.find("dtype");
    const Json* shape = e.find("shape");
    const Json* offsets = e.find("data_offsets");
    if (dtype == nullptr || shape == nullptr || offsets == nullptr)
      fail(tensor + " lacks one of dtype, shape, data_offsets");

    Entry entry;
    if (!dtype->is_string() || !parse_safetensors_dtype(dtype->as_string(), &entry.info.dtype)) {
      std::string known;
      for (const auto& d : kDtypes) known += std::string(known.empty() ? "" : " ") + d.name;
      fail(tensor + " has unknown dtype " +
           (dtype->is_string() ? "'" + dtype->as_string() + "'" : dtype->type_name()) + " (known: " + known +
           ")");
    }
    if (!shape->is_array()) fail(tensor + ": shape is " + shape->type_name() + ", expected an array");
    // numel × element size, refusing overflow: a corrupt shape must not wrap to a small size.
    uint64_t bytes = c10::elementSize(entry.info.dtype);
    for (size_t d = 0; d < shape->size(); ++d) {
      const Json& dim = shape->item(d);
      if (!dim.is_int() || dim.as_int() < 0) fail(tensor + ": shape has an entry that is not a size");
      const auto n = static_cast<uint64_t>(dim.as_int());
      if (n != 0 && bytes > UINT64_MAX / n) fail(tensor + ": shape is too large");
      bytes *= n;
      entry.info.shape.push_back(dim.as_int());
    }
    if (!offsets->is_array() || offsets->size() != 2 || !offsets->item(0).is_int() ||
        !offsets->item(1).is_int() || offsets->item(0).as_int() < 0 ||
        offsets->item(1).as_int() < offsets->item(0).as_int())
      fail(tensor + ": data_offsets must be [begin, end] with 0 <= begin <= end");
    const auto begin = static_cast<uint64_t>(offsets->item(0).as_int());
    const auto end = static_cast<uint64_t>(offsets->item(1).as_int());
    if (end > data_size) {
      fail(tensor + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
           "] reach beyond the end of the file (" + std::to_string(data_size) +
           " data bytes): truncated file?");
    }
    if (end - begin != bytes) {
      fail(tensor + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + "] hold " +
           std::to_string(end - begin) + " bytes, but shape " + shape_string(entry.info.shape) + " of " +
           dtype->as_string() + " needs " + std::to_string(bytes));
    }
    entry.begin = data_start + begin;
    entry.end = data_start + end;
    auto [it, inserted] = entries_.emplace(name, std::move(entry));
    (void)inserted;  // the JSON parser already refused duplicate keys
    spans.push_back({begin, end, &it->first});
  }

  std::stable_sort(spans.begin(), spans.end(),
                   [](const Span& a, const Span& b) { return a.begin < b.begin; });
  const Span* previous = nullptr;  // the last non-empty span: empty tensors overlap nothing
  for (const Span& s : spans) {
    names_.push_back(*s.name);
    if (s.begin == s.end) continue;
    if (previous != nullptr && s.begin < previous->end) {
      fail("tensors '" + *previous->name + "' and '" + *s.name + "' overlap (data_offsets " +
           std::to_string(previous->begin) + ".." + std::to_string(previous->end) + " and " +
           std::to_string(s.begin) + ".." + std::to_string(s.end) + ")");
    }
    previous = &s;
  }
}

TensorSource::Location SafetensorsFile::locate(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) missing_tensor(name);
  const Entry& e = it->second;
  Location loc;
  loc.file = file_;
  loc.offset = e.begin;
  loc.span = e.end - e.begin;
  loc.info = e.info;
  loc.strides.assign(e.info.shape.size(), 1);
  for (size_t d = e.info.shape.size(); d-- > 1;) loc.strides[d - 1] = loc.strides[d] * e.info.shape[d];
  return loc;
}

}  // namespace uspdit::io
