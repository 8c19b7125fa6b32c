// Process memory figures for logs and benchmark reports.
#pragma once

#include <cstdint>

namespace uspdit {

// Peak resident set size of this process so far, in bytes (getrusage ru_maxrss).
int64_t peak_rss_bytes();

}  // namespace uspdit
