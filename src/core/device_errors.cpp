#include "core/device_errors.h"

#include <cstdio>
#include <regex>

namespace uspdit::core {

int64_t requested_bytes(const std::string& message) {
  static const std::regex units(R"(allocate ([0-9]+(?:\.[0-9]+)?) ?(bytes|B|KiB|MiB|GiB|TiB))");
  std::smatch m;
  if (!std::regex_search(message, m, units)) return -1;
  const double value = std::stod(m[1].str());
  const std::string unit = m[2].str();
  double scale = 1;
  if (unit == "KiB") scale = 1024.0;
  if (unit == "MiB") scale = 1024.0 * 1024;
  if (unit == "GiB") scale = 1024.0 * 1024 * 1024;
  if (unit == "TiB") scale = 1024.0 * 1024 * 1024 * 1024;
  return static_cast<int64_t>(value * scale);
}

std::string human_bytes(int64_t bytes) {
  char buf[32];
  const double b = static_cast<double>(bytes);
  if (bytes >= (int64_t{1} << 30)) {
    std::snprintf(buf, sizeof buf, "%.1f GiB", b / (1 << 30));
  } else if (bytes >= (int64_t{1} << 20)) {
    std::snprintf(buf, sizeof buf, "%.0f MiB", b / (1 << 20));
  } else {
    std::snprintf(buf, sizeof buf, "%lld bytes", static_cast<long long>(bytes));
  }
  return buf;
}

std::string out_of_memory_line(const std::string& stage, const std::string& allocator_message,
                               const c10::Device& device, const DeviceMemory& memory,
                               const std::string& ways_out) {
  std::string line = "out of memory on " + device_label(device) + " in stage '" + stage + "'";
  const int64_t asked = requested_bytes(allocator_message);
  line += asked >= 0 ? ": asked for " + human_bytes(asked) : ": an allocation failed";
  if (memory.total > 0) {
    line += " with " + human_bytes(memory.free) + " free of " + human_bytes(memory.total) + " (" +
            human_bytes(memory.reserved) + " reserved by this process's caching allocator)";
  }
  if (!ways_out.empty()) line += "; to fit: " + ways_out;
  return line;
}

std::string version_string(const std::string& library, int64_t v) {
  if (library == "NCCL") {
    // NCCL_VERSION(X,Y,Z): X*10000 + Y*100 + Z since 2.9 (X*1000 + Y*100 + Z before).
    const int64_t major = v >= 10000 ? v / 10000 : v / 1000;
    const int64_t rest = v >= 10000 ? v % 10000 : v % 1000;
    return library + " " + std::to_string(major) + "." + std::to_string(rest / 100) + "." +
           std::to_string(rest % 100);
  }
  if (library == "cuDNN") {
    // 9.x: major*10000 + minor*100 + patch (8.x: major*1000 + minor*100 + patch).
    const int64_t major = v >= 10000 ? v / 10000 : v / 1000;
    const int64_t rest = v >= 10000 ? v % 10000 : v % 1000;
    return library + " " + std::to_string(major) + "." + std::to_string(rest / 100) + "." +
           std::to_string(rest % 100);
  }
  // CUDA driver/runtime: major*1000 + minor*10.
  return library + " " + std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

std::vector<std::string> version_problems(const std::vector<LibraryVersion>& versions) {
  std::vector<std::string> out;
  for (const auto& v : versions) {
    if (v.needed <= 0 || v.found >= v.needed) continue;
    out.push_back(version_string(v.library, v.found) + " is loaded, but this build needs " +
                  version_string(v.library, v.needed) + " or newer" + (v.fix.empty() ? "" : "; " + v.fix));
  }
  return out;
}

}  // namespace uspdit::core
