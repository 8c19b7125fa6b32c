// Command-line flags for the subcommands.
//
// Flags are `--name value`, `--name=value` or bare `--name` (booleans). Underscores and dashes
// are the same character, so xDiT's `--ulysses_degree` and our `--ulysses-degree` both work.
// Every lookup registers the flag as known; finish() refuses whatever was given but never
// looked up, listing the known flags, so a typo is an error and not a silently ignored option.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/device.h"
#include "parallel/runtime.h"

namespace uspdit::cli {

class Args {
 public:
  Args(std::string command, const std::vector<std::string>& tokens);

  bool has(const std::string& name);
  bool flag(const std::string& name);  // bare --name, or --name=true/false/1/0
  std::optional<std::string> get(const std::string& name);
  std::string get_string(const std::string& name, const std::string& fallback);
  int64_t get_int(const std::string& name, int64_t fallback);
  double get_double(const std::string& name, double fallback);
  // First of several spellings that is present (e.g. {"ulysses-degree", "ulysses-size"}).
  std::optional<std::string> get_any(const std::vector<std::string>& names);
  int64_t get_int_any(const std::vector<std::string>& names, int64_t fallback);
  double get_double_any(const std::vector<std::string>& names, double fallback);

  // Throws UsageError if a flag was given that no lookup asked for.
  void finish() const;
  const std::string& command() const { return command_; }

 private:
  static std::string normalise(std::string name);
  std::string command_;
  std::map<std::string, std::optional<std::string>> given_;  // nullopt = bare flag
  mutable std::set<std::string> known_;
};

// --device auto|cuda|cpu (default auto: the GPU when one is visible), read by every command
// that runs tensors.
core::DeviceRequest device_request(Args& args);
// --comm auto|nccl|host-staged (default: $USPDIT_COMM, else auto).
parallel::CommBackend comm_backend(Args& args);

}  // namespace uspdit::cli
