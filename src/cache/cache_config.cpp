#include "cache/cache_config.h"

#include <cmath>
#include <sstream>

#include "core/error.h"

namespace uspdit::cache {

std::string_view cache_method_name(CacheMethod method) {
  switch (method) {
    case CacheMethod::none:
      return "none";
    case CacheMethod::teacache:
      return "teacache";
    case CacheMethod::magcache:
      return "magcache";
    case CacheMethod::fbcache:
      return "fbcache";
  }
  return "none";
}

CacheMethod parse_cache_method(const std::string& text) {
  for (auto m : {CacheMethod::none, CacheMethod::teacache, CacheMethod::magcache, CacheMethod::fbcache}) {
    if (text == cache_method_name(m)) return m;
  }
  throw UsageError("--cache " + text + ": expected none, teacache, magcache or fbcache");
}

std::string CacheConfig::describe() const {
  std::ostringstream out;
  out << "cache " << cache_method_name(method);
  if (!enabled()) return out.str();
  out << ", threshold " << threshold;
  if (method == CacheMethod::teacache) {
    out << ", indicator "
        << (indicator == TeaIndicator::timestep_embedding    ? "timestep embedding"
            : indicator == TeaIndicator::timestep_projection ? "timestep projection (ret steps)"
                                                             : "first-block input")
        << ", first " << first_steps << " and last " << last_steps << " step(s) always computed";
  } else if (method == CacheMethod::magcache) {
    out << ", K " << max_skips << ", retention ratio " << retention_ratio;
  }
  return out.str();
}

std::vector<double> nearest_interp(const std::vector<double>& values, int length) {
  if (length == 1) return {values.back()};
  const double scale = static_cast<double>(values.size() - 1) / (length - 1);
  std::vector<double> out;
  out.reserve(static_cast<size_t>(length));
  for (int i = 0; i < length; ++i) {
    // np.round rounds half to even; nearbyint does too in the default rounding mode.
    out.push_back(values.at(static_cast<size_t>(std::nearbyint(i * scale))));
  }
  return out;
}

}  // namespace uspdit::cache
