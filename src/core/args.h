// Command-line flags for the subcommands.
//
// Flags are `--name value`, `--name v1 v2 ...` (several values, for flags that take them, e.g.
// sample_video.py's `--video-size 720 1280`), `--name=value` or bare `--name` (booleans).
// Underscores and dashes are the same character, so xDiT's `--ulysses_degree` and our
// `--ulysses-degree` both work. Every lookup registers the flag as known; finish() refuses
// whatever was given but never looked up, suggesting the nearest listed flag ("did you mean"), so
// a typo is an error and not a silently ignored option. The command's --help table (cli/help.h)
// is handed in with list(); finish() also refuses a lookup of a flag that table does not list, so
// a new flag without a help line fails every test that runs its command. In core (not cli) so
// that a model family's request reader and its unit tests can use it.
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

  // Every spelling the command's --help lists (normalised or not). Without it (unit tests that
  // build Args by hand) finish() suggests among the flags looked up so far.
  void list(const std::set<std::string>& spellings);
  // Throws UsageError if a flag was given that no lookup asked for; std::logic_error if a lookup
  // asked for a flag the listed --help table lacks (a programming error, not the user's).
  void finish() const;
  const std::string& command() const { return command_; }
  // Every flag looked up so far, normalised (`-` for `_`).
  const std::set<std::string>& looked_up() const { return known_; }
  // The listed (else looked-up) flag nearest to `name` by edit distance, when near enough to be a
  // likely typo; empty otherwise.
  std::string nearest_flag(const std::string& name) const;

 private:
  static std::string normalise(std::string name);
  int64_t to_int(const std::string& name, const std::string& value) const;
  // Throws UsageError when more than one of these spellings of one setting is given.
  void refuse_two_spellings(const std::vector<std::string>& names) const;
  std::string command_;
  std::map<std::string, std::vector<std::string>> given_;  // empty = bare flag
  mutable std::set<std::string> known_;
  std::set<std::string> listed_;
};

}  // namespace uspdit::core
