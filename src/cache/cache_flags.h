// `uspdit generate`'s step-cache flags, read the same way for every family, and each family's
// reference defaults applied to them:
//   --cache none|teacache|magcache|fbcache   --cache-threshold X
//   TeaCache's names: --teacache_thresh X (alone, it turns TeaCache on, as the reference script
//     does), --use_ret_steps (Wan: indicator e0, first 5 steps kept, other coefficients)
//   MagCache's names: --use_magcache, --magcache_thresh X, --magcache_K N, --retention_ratio R
#pragma once

#include <optional>
#include <string>

#include "cache/cache_config.h"
#include "core/args.h"

namespace uspdit::cache {

// What the command line asked for; absent values take the model's reference default.
struct CacheFlags {
  CacheMethod method = CacheMethod::none;
  std::optional<double> threshold;
  bool use_ret_steps = false;
  std::optional<int> max_skips;  // --magcache_K
  std::optional<double> retention_ratio;
};

// UsageError for contradictions (e.g. --cache fbcache --teacache_thresh 0.1) and bad values.
CacheFlags read_cache_flags(core::Args& args);

// Wan 2.1 text-to-video, `task` t2v-1.3B or t2v-14B (selects coefficients and ratios as the
// references select them by checkpoint name), `steps` sampling steps. Defaults: TeaCache 0.2
// (--teacache_thresh's default); MagCache E0.12 K4 (1.3B) / E0.24 K6 (14B), R 0.2 (the README's
// commands); First-Block Cache 0.05 (diffusers' FirstBlockCacheConfig).
CacheConfig wan_cache_config(const CacheFlags& flags, const std::string& task, int steps);

// HunyuanVideo text-to-video at `height` pixels. Defaults: TeaCache 0.15 (the reference script),
// MagCache E0.24 K6 R0.2 (the reference script; 544p ratios at height 544, else 720p's),
// First-Block Cache 0.05.
CacheConfig hunyuan_cache_config(const CacheFlags& flags, int64_t height, int steps);

// The lines `uspdit generate --help` shows for these flags.
extern const char* const kCacheUsage;

}  // namespace uspdit::cache
