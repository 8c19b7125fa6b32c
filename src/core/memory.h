// Process memory figures for logs and benchmark reports.
#pragma once

#include <cstdint>

namespace uspdit {

// Peak resident set size of this process so far (or since reset_peak_rss), in bytes.
int64_t peak_rss_bytes();

// Resident set size now, in bytes.
int64_t current_rss_bytes();

// Memory the kernel could give this machine's processes now without swapping (MemAvailable of
// /proc/meminfo), in bytes; -1 where unknown.
int64_t available_memory_bytes();

// Starts a new peak window, so a pipeline stage can report its own peak rather than the peak of
// everything before it (Linux: writing 5 to /proc/self/clear_refs resets VmHWM). Returns false
// where the kernel does not allow it; peak_rss_bytes() then keeps reporting the process peak.
bool reset_peak_rss();

// glibc returns every block above its mmap threshold to the kernel on free, so each DiT layer's
// activations arrive as fresh pages and are page-faulted in again (4-8% of a CPU step). Keeping
// blocks up to 32 MiB in the heap and trimming it lazily lets a step reuse the previous step's
// memory. Called once at start-up by the binary.
void tune_allocator_for_tensors();

}  // namespace uspdit
