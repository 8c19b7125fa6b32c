// Command-line flags for the subcommands.
//
// Flags are `--name value`, `--name v1 v2 ...` (several values, for flags that take them, e.g.
// sample_video.py's `--video-size 720 1280`), `--name=value` or bare `--name` (booleans).
// Underscores and dashes are the same character, so xDiT's `--ulysses_degree` and our
// `--ulysses-degree` both work. Every lookup registers the flag as known; finish() refuses
// whatever was given but never looked up, listing the known flags, so a typo is an error and not
// a silently ignored option. In core (not cli) so that a model family's request reader and its
// unit tests can use it.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace uspdit::core {

class Args {
 public:
  Args(std::string command, const std::vector<std::string>& tokens);

  bool has(const std::string& name);
  bool flag(const std::string& name);  // bare --name, or --name=true/false/1/0
  // One value; a flag given several values is refused (naming the flag).
  std::optional<std::string> get(const std::string& name);
  std::string get_string(const std::string& name, const std::string& fallback);
  int64_t get_int(const std::string& name, int64_t fallback);
  double get_double(const std::string& name, double fallback);
  // First of several spellings that is present (e.g. {"ulysses-degree", "ulysses-size"}).
  std::optional<std::string> get_any(const std::vector<std::string>& names);
  int64_t get_int_any(const std::vector<std::string>& names, int64_t fallback);
  double get_double_any(const std::vector<std::string>& names, double fallback);
  // Every value given (empty when absent); a bare flag is refused (it needs a value).
  std::vector<std::string> get_list(const std::string& name);
  // Exactly `count` integers (e.g. `--video-size H W`); nullopt when absent. `what` names them
  // for the error (e.g. "HEIGHT WIDTH").
  std::optional<std::vector<int64_t>> get_ints(const std::string& name, size_t count,
                                               const std::string& what);

  // Throws UsageError if a flag was given that no lookup asked for.
  void finish() const;
  const std::string& command() const { return command_; }

 private:
  static std::string normalise(std::string name);
  int64_t to_int(const std::string& name, const std::string& value) const;
  std::string command_;
  std::map<std::string, std::vector<std::string>> given_;  // empty = bare flag
  mutable std::set<std::string> known_;
};

}  // namespace uspdit::core
