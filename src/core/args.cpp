#include "core/args.h"

#include <algorithm>
#include <cctype>
#include <sstream>
#include <stdexcept>

#include "core/error.h"

namespace uspdit::core {

std::string Args::normalise(std::string name) {
  std::replace(name.begin(), name.end(), '_', '-');
  return name;
}

Args::Args(std::string command, const std::vector<std::string>& tokens) : command_(std::move(command)) {
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string& token = tokens[i];
    require(token.rfind("--", 0) == 0 && token.size() > 2,
            "unexpected argument '" + token + "' for `uspdit " + command_ + "`: flags start with --");
    std::string body = token.substr(2);
    auto eq = body.find('=');
    const std::string name = normalise(body.substr(0, eq));
    // The last of two would win silently, and which one the user meant is a guess.
    require(!given_.count(name), "--" + name + " is given twice for `uspdit " + command_ + "`; give it once");
    if (eq != std::string::npos) {
      given_[name] = {body.substr(eq + 1)};
      continue;
    }
    // Every following token up to the next flag is a value of this one.
    std::vector<std::string> values;
    while (i + 1 < tokens.size() && tokens[i + 1].rfind("--", 0) != 0) values.push_back(tokens[++i]);
    given_[name] = values;
  }
}

void Args::refuse_two_spellings(const std::vector<std::string>& names) const {
  std::vector<std::string> present;
  for (const auto& name : names) {
    if (given_.count(normalise(name))) present.push_back("--" + normalise(name));
  }
  require(present.size() <= 1, present.size() > 1 ? present[0] + " and " + present[1] +
                                                        " are two names of one setting; give one of them"
                                                  : std::string());
}

bool Args::has(const std::string& name) {
  known_.insert(normalise(name));
  return given_.count(normalise(name)) > 0;
}

bool Args::flag(const std::string& name) {
  if (!has(name)) return false;
  const auto& values = given_.at(normalise(name));
  if (values.empty()) return true;
  // Python scripts' spelling too: Wan's generate.py takes `--offload_model True`.
  require(values.size() == 1,
          "--" + name + " takes no value (or true/false), got " + std::to_string(values.size()));
  std::string v = values.front();
  std::transform(v.begin(), v.end(), v.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no") return false;
  throw UsageError("--" + name + " takes no value (or true/false), got '" + values.front() + "'");
}

std::optional<std::string> Args::get(const std::string& name) {
  if (!has(name)) return std::nullopt;
  const auto& values = given_.at(normalise(name));
  require(!values.empty(), "--" + name + " needs a value");
  if (values.size() > 1) {
    std::string extra;
    for (size_t i = 1; i < values.size(); ++i) extra += (i > 1 ? "' '" : "") + values[i];
    throw UsageError("--" + name + " takes one value, got " + std::to_string(values.size()) + " ('" +
                     values[0] + "' then unexpected '" + extra + "')");
  }
  return values.front();
}

std::string Args::get_string(const std::string& name, const std::string& fallback) {
  return get(name).value_or(fallback);
}

int64_t Args::to_int(const std::string& name, const std::string& value) const {
  try {
    size_t used = 0;
    int64_t parsed = std::stoll(value, &used);
    if (used == value.size()) return parsed;
  } catch (const std::exception&) {
  }
  throw UsageError("--" + name + " needs an integer, got '" + value + "'");
}

int64_t Args::get_int(const std::string& name, int64_t fallback) {
  auto value = get(name);
  return value ? to_int(name, *value) : fallback;
}

double Args::get_double(const std::string& name, double fallback) {
  auto value = get(name);
  if (!value) return fallback;
  try {
    size_t used = 0;
    double parsed = std::stod(*value, &used);
    if (used == value->size()) return parsed;
  } catch (const std::exception&) {
  }
  throw UsageError("--" + name + " needs a number, got '" + *value + "'");
}

std::optional<std::string> Args::get_any(const std::vector<std::string>& names) {
  refuse_two_spellings(names);
  std::optional<std::string> found;
  for (const auto& name : names) {
    auto value = get(name);
    if (value && !found) found = value;
  }
  return found;
}

int64_t Args::get_int_any(const std::vector<std::string>& names, int64_t fallback) {
  for (const auto& name : names) known_.insert(normalise(name));
  refuse_two_spellings(names);
  for (const auto& name : names) {
    if (given_.count(normalise(name))) return get_int(name, fallback);
  }
  return fallback;
}

double Args::get_double_any(const std::vector<std::string>& names, double fallback) {
  for (const auto& name : names) known_.insert(normalise(name));
  refuse_two_spellings(names);
  for (const auto& name : names) {
    if (given_.count(normalise(name))) return get_double(name, fallback);
  }
  return fallback;
}

std::vector<std::string> Args::get_list(const std::string& name) {
  if (!has(name)) return {};
  const auto& values = given_.at(normalise(name));
  require(!values.empty(), "--" + name + " needs a value");
  return values;
}

std::optional<std::vector<int64_t>> Args::get_ints(const std::string& name, size_t count,
                                                   const std::string& what) {
  if (!has(name)) return std::nullopt;
  const auto& values = given_.at(normalise(name));
  std::string given;
  for (const auto& v : values) given += (given.empty() ? "" : " ") + v;
  // `what` shows the form and an example, which is the fix.
  require(values.size() == count, "--" + name + " takes " + std::to_string(count) + " values, " + what +
                                      ", got " + std::to_string(values.size()) +
                                      (given.empty() ? "" : " ('" + given + "')"));
  std::vector<int64_t> out;
  for (const auto& v : values) out.push_back(to_int(name, v));
  return out;
}

void Args::list(const std::set<std::string>& spellings) {
  for (const auto& name : spellings) listed_.insert(normalise(name));
}

namespace {

// Edits (insert, delete, substitute, swap two neighbours) turning a into b: a typo's distance.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

std::string Args::nearest_flag(const std::string& name) const {
  const std::string given = normalise(name);
  const auto& candidates = listed_.empty() ? known_ : listed_;
  // A flag longer than any real one is no typo of it (and would make the table quadratic).
  if (given.empty() || given.size() > 64) return "";
  std::string best;
  size_t best_distance = std::string::npos;
  for (const auto& candidate : candidates) {
    const size_t distance = edit_distance(given, candidate);
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  // Up to one edit in three characters (at least one, at most three) still reads as a typo.
  const size_t allowed = std::clamp<size_t>(given.size() / 3, 1, 3);
  if (best_distance <= allowed) return best;
  // An abbreviation of exactly one flag (`--ulysses` for `--ulysses-degree`).
  std::string prefix_of;
  for (const auto& candidate : candidates) {
    if (given.size() >= 3 && candidate.rfind(given, 0) == 0) {
      if (!prefix_of.empty()) return "";
      prefix_of = candidate;
    }
  }
  return prefix_of;
}

void Args::finish() const {
  std::vector<std::string> unlisted;
  if (!listed_.empty()) {
    for (const auto& name : known_) {
      if (!listed_.count(name)) unlisted.push_back("--" + name);
    }
  }
  if (!unlisted.empty()) {
    std::string names;
    for (const auto& name : unlisted) names += (names.empty() ? "" : ", ") + name;
    throw std::logic_error(
        "`uspdit " + command_ + "` reads " + names +
        " but its --help does not list it: add it to the command's table in src/cli/help.cpp");
  }
  std::vector<std::string> unknown;
  for (const auto& [name, value] : given_) {
    if (!known_.count(name)) unknown.push_back(name);
  }
  if (unknown.empty()) return;
  std::ostringstream msg;
  msg << "unknown flag" << (unknown.size() > 1 ? "s " : " ");
  for (size_t i = 0; i < unknown.size(); ++i) msg << (i ? ", " : "") << "--" << unknown[i];
  msg << " for `uspdit " << command_ << "`";
  const std::string& first = unknown.front();
  if (listed_.count(first)) {
    // Listed, never read: another model's (or mode's) flag, e.g. HunyuanVideo's on a Wan folder.
    msg << " with these inputs (--" << first << " belongs to another model or mode)";
  } else if (const auto nearest = nearest_flag(first); !nearest.empty()) {
    msg << "; did you mean --" << nearest << "?";
  }
  msg << " `uspdit " << command_ << " --help` lists the flags";
  throw UsageError(msg.str());
}

}  // namespace uspdit::core
