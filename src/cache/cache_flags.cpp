#include "cache/cache_flags.h"

#include "cache/reference_schedules.h"
#include "core/error.h"

namespace uspdit::cache {

const char* const kCacheUsage =
    "Step caching (same video on every mesh): --cache none|teacache|magcache|fbcache (default none), "
    "--cache-threshold X (default per model: TeaCache Wan 0.2, HunyuanVideo 0.15; MagCache Wan 1.3B 0.12, "
    "14B and HunyuanVideo 0.24; fbcache 0.05); TeaCache's --teacache_thresh X (turns TeaCache on) and "
    "--use_ret_steps; MagCache's --use_magcache, --magcache_thresh X, --magcache_K N (Wan 1.3B 4, else 6), "
    "--retention_ratio R (0.2).";

namespace {

void set_method(CacheFlags& flags, CacheMethod method, const std::string& why) {
  require(flags.method == CacheMethod::none || flags.method == method,
          why + " asks for " + std::string(cache_method_name(method)) + " but --cache " +
              std::string(cache_method_name(flags.method)) + " was given; drop one of them");
  flags.method = method;
}

void set_threshold(CacheFlags& flags, double value, const std::string& flag) {
  require(!flags.threshold || *flags.threshold == value,
          flag + " and --cache-threshold give different thresholds; give one");
  require(value >= 0, flag + " must be >= 0");
  flags.threshold = value;
}

}  // namespace

CacheFlags read_cache_flags(core::Args& args) {
  CacheFlags flags;
  if (const auto method = args.get("cache")) flags.method = parse_cache_method(*method);
  if (args.has("cache-threshold"))
    set_threshold(flags, args.get_double("cache-threshold", 0), "--cache-threshold");
  if (args.has("teacache-thresh")) {
    set_method(flags, CacheMethod::teacache, "--teacache_thresh");
    set_threshold(flags, args.get_double("teacache-thresh", 0), "--teacache_thresh");
  }
  if (args.flag("use-ret-steps")) {
    set_method(flags, CacheMethod::teacache, "--use_ret_steps");
    flags.use_ret_steps = true;
  }
  if (args.flag("use-magcache")) set_method(flags, CacheMethod::magcache, "--use_magcache");
  if (args.has("magcache-thresh")) {
    set_method(flags, CacheMethod::magcache, "--magcache_thresh");
    set_threshold(flags, args.get_double("magcache-thresh", 0), "--magcache_thresh");
  }
  if (args.has("magcache-K")) {
    set_method(flags, CacheMethod::magcache, "--magcache_K");
    const auto k = args.get_int("magcache-K", 0);
    require(k >= 1 && k <= 1000, "--magcache_K must be >= 1 (the most consecutive skipped steps)");
    flags.max_skips = static_cast<int>(k);
  }
  if (args.has("retention-ratio")) {
    set_method(flags, CacheMethod::magcache, "--retention_ratio");
    const double r = args.get_double("retention-ratio", 0.2);
    require(r >= 0 && r <= 1, "--retention_ratio must be in [0, 1]");
    flags.retention_ratio = r;
  }
  return flags;
}

namespace {

CacheConfig common(const CacheFlags& flags, double default_threshold) {
  CacheConfig c;
  c.method = flags.method;
  c.threshold = flags.threshold.value_or(default_threshold);
  return c;
}

void require_steps(int steps) {
  require(steps >= 1, "step caching needs at least one sampling step");
}

}  // namespace

CacheConfig wan_cache_config(const CacheFlags& flags, const std::string& task, int steps) {
  require_steps(steps);
  const bool is_14b = task.find("14B") != std::string::npos;
  switch (flags.method) {
    case CacheMethod::none:
      return {};
    case CacheMethod::teacache: {
      auto c = common(flags, 0.2);
      c.indicator =
          flags.use_ret_steps ? TeaIndicator::timestep_projection : TeaIndicator::timestep_embedding;
      c.coefficients = teacache_wan_coefficients(is_14b, flags.use_ret_steps);
      // The reference's ret_steps / cutoff_steps over its call counter (2 calls a step).
      c.first_steps = flags.use_ret_steps ? 5 : 1;
      c.last_steps = flags.use_ret_steps ? 0 : 1;
      return c;
    }
    case CacheMethod::magcache: {
      auto c = common(flags, is_14b ? 0.24 : 0.12);
      c.max_skips = flags.max_skips.value_or(is_14b ? 6 : 4);
      c.retention_ratio = flags.retention_ratio.value_or(0.2);
      c.calls_per_step = 2;
      const auto& ratios = magcache_wan_ratios(is_14b);
      if (static_cast<int>(ratios.size()) == 2 * steps) {
        c.mag_ratios = ratios;
      } else {
        // Each branch's ratios interpolated on their own, then interleaved again (the reference).
        std::vector<double> cond, uncond;
        for (size_t i = 0; i < ratios.size(); i += 2) {
          cond.push_back(ratios[i]);
          uncond.push_back(ratios[i + 1]);
        }
        const auto ci = nearest_interp(cond, steps), ui = nearest_interp(uncond, steps);
        for (int i = 0; i < steps; ++i) {
          c.mag_ratios.push_back(ci[static_cast<size_t>(i)]);
          c.mag_ratios.push_back(ui[static_cast<size_t>(i)]);
        }
      }
      return c;
    }
    case CacheMethod::fbcache:
      return common(flags, 0.05);
  }
  return {};
}

CacheConfig hunyuan_cache_config(const CacheFlags& flags, int64_t height, int steps) {
  require_steps(steps);
  require(!flags.use_ret_steps, "--use_ret_steps is Wan's TeaCache option; HunyuanVideo's TeaCache has none");
  switch (flags.method) {
    case CacheMethod::none:
      return {};
    case CacheMethod::teacache: {
      auto c = common(flags, 0.15);
      c.indicator = TeaIndicator::first_block_input;
      c.coefficients = teacache_hunyuan_coefficients();
      c.first_steps = 1;  // cnt == 0 and cnt == num_steps - 1
      c.last_steps = 1;
      return c;
    }
    case CacheMethod::magcache: {
      auto c = common(flags, 0.24);
      c.max_skips = flags.max_skips.value_or(6);
      c.retention_ratio = flags.retention_ratio.value_or(0.2);
      c.calls_per_step = 1;
      c.inclusive_threshold = true;
      const auto& ratios = magcache_hunyuan_ratios(height == 544);
      c.mag_ratios = static_cast<int>(ratios.size()) == steps ? ratios : nearest_interp(ratios, steps);
      return c;
    }
    case CacheMethod::fbcache:
      return common(flags, 0.05);
  }
  return {};
}

}  // namespace uspdit::cache
