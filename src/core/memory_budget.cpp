#include "core/memory_budget.h"

#include <unistd.h>

#include <cstdio>

#include "core/error.h"

namespace uspdit::core {
namespace {

std::string gib(double bytes) {
  char text[64];
  std::snprintf(text, sizeof text, "%.4g GiB", bytes / (1024.0 * 1024.0 * 1024.0));
  return text;
}

}  // namespace

int64_t physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page : 0;
}

void require_fits_in_memory(double bytes, const std::string& what, const std::string& how,
                            const std::string& fix) {
  const int64_t memory = physical_memory_bytes();
  if (memory <= 0 || bytes <= static_cast<double>(memory)) return;
  throw UsageError(what + " needs at least " + gib(bytes) + " (" + how + "), more than this machine's " +
                   gib(static_cast<double>(memory)) + " of memory; " + fix);
}

}  // namespace uspdit::core
