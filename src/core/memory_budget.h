// Refusing a request that cannot fit before any of it is attempted: a size that needs absurd
// memory fails at once with the estimate, not after minutes of work (or in the OOM killer).
#pragma once

#include <cstdint>
#include <string>

namespace uspdit::core {

// Physical memory of this machine in bytes (sysconf), 0 where unknown.
int64_t physical_memory_bytes();

// Throws UsageError "<what> needs at least <bytes> (<how>), more than this machine's <memory> of
// memory; <fix>" when `bytes` (a lower bound, as a double so that absurd products cannot
// overflow) exceeds the physical memory. Does nothing where the memory is unknown.
void require_fits_in_memory(double bytes, const std::string& what, const std::string& how,
                            const std::string& fix);

}  // namespace uspdit::core
