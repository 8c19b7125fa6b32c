// Whether outputs can be written, asked before hours of work instead of after.
#pragma once

#include <filesystem>
#include <string>

namespace uspdit::core {

// Creates and removes one empty file in `dir` (the current directory when empty); throws
// UsageError "<what>: ..." naming the reason when that fails. Creating is the only test that
// sees everything: missing or non-directory paths, permissions, a read-only mount (which root's
// access(2) reports as writable), an inode table that is full. Leaves nothing behind.
void probe_writable_directory(const std::filesystem::path& dir, const std::string& what);

// `path` if it exists, else its nearest existing parent: where a folder that an output will
// create (--bench_output, --save_frames) would be created.
std::filesystem::path nearest_existing(const std::filesystem::path& path);

}  // namespace uspdit::core
