#include "core/memory.h"

#include <malloc.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

namespace uspdit {
namespace {

// A "Name:   1234 kB" line of /proc/self/status, in bytes; -1 when absent.
int64_t status_kib_field(const char* name, const char* file = "/proc/self/status") {
  std::ifstream status(file);
  std::string line;
  const size_t len = std::strlen(name);
  while (std::getline(status, line)) {
    if (line.compare(0, len, name) == 0 && line.size() > len && line[len] == ':') {
      return std::stoll(line.substr(len + 1)) * 1024;
    }
  }
  return -1;
}

}  // namespace

int64_t peak_rss_bytes() {
  // VmHWM honours reset_peak_rss(); getrusage's ru_maxrss is the fallback without /proc.
  const int64_t hwm = status_kib_field("VmHWM");
  if (hwm >= 0) return hwm;
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

int64_t current_rss_bytes() {
  const int64_t rss = status_kib_field("VmRSS");
  return rss >= 0 ? rss : peak_rss_bytes();
}

int64_t available_memory_bytes() {
  const int64_t available = status_kib_field("MemAvailable", "/proc/meminfo");
  return available >= 0 ? available : status_kib_field("MemTotal", "/proc/meminfo");
}

bool reset_peak_rss() {
  FILE* f = std::fopen("/proc/self/clear_refs", "w");
  if (f == nullptr) return false;
  const bool ok = std::fputs("5", f) >= 0;
  return std::fclose(f) == 0 && ok;
}

void tune_allocator_for_tensors() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's maximum on 64-bit
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  mallopt(M_TOP_PAD, 64 << 20);
}

}  // namespace uspdit
