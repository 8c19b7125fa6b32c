#include "io/safetensors_writer.h"

#include <ATen/ATen.h>
#include <unistd.h>

#include <cstdio>
#include <sstream>
#include <stdexcept>

#include "core/device.h"
#include "io/safetensors.h"

namespace uspdit::io {
namespace {

std::string json_escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out;
}

}  // namespace

void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors) {
  std::vector<at::Tensor> data;
  // ostringstream rather than string concatenation: GCC 12 flags the latter with a false
  // -Wrestrict under -O3.
  std::ostringstream json;
  json << '{';
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    auto t = core::to_host(tensor).contiguous();
    const uint64_t bytes = static_cast<uint64_t>(t.numel()) * t.element_size();
    if (!data.empty()) json << ',';
    json << '"' << json_escape(name) << "\":{\"dtype\":\"" << safetensors_dtype_name(t.scalar_type())
         << "\",\"shape\":[";
    for (int64_t d = 0; d < t.dim(); ++d) json << (d ? "," : "") << t.size(d);
    json << "],\"data_offsets\":[" << offset << ',' << offset + bytes << "]}";
    offset += bytes;
    data.push_back(std::move(t));
  }
  json << '}';
  std::string header = json.str();
  header.append((8 - header.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned

  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw std::runtime_error("cannot write " + tmp);
  const uint64_t header_len = header.size();
  uint8_t len_bytes[8];
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<uint8_t>(header_len >> (8 * i));  // little endian
  bool ok = std::fwrite(len_bytes, 1, 8, f) == 8 && std::fwrite(header.data(), 1, header.size(), f) == header.size();
  for (const auto& t : data) {
    const size_t bytes = static_cast<size_t>(t.numel()) * t.element_size();
    ok = ok && std::fwrite(t.data_ptr(), 1, bytes, f) == bytes;
  }
  ok = (std::fflush(f) == 0) && ok && fsync(fileno(f)) == 0;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error("failed writing " + path + " (disk full or no permission?)");
  }
}

}  // namespace uspdit::io
