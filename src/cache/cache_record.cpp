#include "cache/cache_record.h"

#include <algorithm>
#include <iomanip>
#include <sstream>

namespace uspdit::cache {

int64_t CacheRecord::forwards() const {
  int64_t n = 0;
  for (const auto& p : pattern)
    n += static_cast<int64_t>(std::count(p.begin(), p.end(), 'C') + std::count(p.begin(), p.end(), 'R'));
  return n;
}

int64_t CacheRecord::reused() const {
  int64_t n = 0;
  for (const auto& p : pattern) n += static_cast<int64_t>(std::count(p.begin(), p.end(), 'R'));
  return n;
}

std::string CacheRecord::summary() const {
  std::ostringstream out;
  out << "cache " << method << ": ";
  for (size_t b = 0; b < pattern.size(); ++b)
    out << (b ? ", " : "") << (b == 0 ? "cond " : "uncond ") << pattern[b];
  out << " (C computed, R reused); " << reused() << "/" << forwards() << " forwards reused, "
      << block_passes_saved() << "/" << block_passes() << " block passes saved, residuals " << std::fixed
      << std::setprecision(2) << static_cast<double>(residual_bytes) / (1 << 20) << " MiB on this rank";
  return out.str();
}

}  // namespace uspdit::cache
