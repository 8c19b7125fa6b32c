// A std::filesystem error on a path the user gave (a symlink loop, a name too long, a folder
// without permission) is an input the user can fix, not a bug: one line naming the path and
// what the system said, e.g. "/data/ckpt: Too many levels of symbolic links".
#pragma once

#include <filesystem>
#include <string>

namespace uspdit::core {

inline std::string describe_path_error(const std::filesystem::filesystem_error& e) {
  std::string where = e.path1().string();
  if (!e.path2().empty()) where += " -> " + e.path2().string();
  return (where.empty() ? std::string("a path") : where) + ": " + e.code().message() +
         " (fix the path or what it points to)";
}

}  // namespace uspdit::core
