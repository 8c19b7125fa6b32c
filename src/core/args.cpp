#include "core/args.h"

#include <algorithm>
#include <cctype>
#include <sstream>

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
    if (eq != std::string::npos) {
      given_[normalise(body.substr(0, eq))] = {body.substr(eq + 1)};
      continue;
    }
    // Every following token up to the next flag is a value of this one.
    std::vector<std::string> values;
    while (i + 1 < tokens.size() && tokens[i + 1].rfind("--", 0) != 0) values.push_back(tokens[++i]);
    given_[normalise(body)] = values;
  }
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
  std::optional<std::string> found;
  for (const auto& name : names) {
    auto value = get(name);
    if (value && !found) found = value;
  }
  return found;
}

int64_t Args::get_int_any(const std::vector<std::string>& names, int64_t fallback) {
  for (const auto& name : names) known_.insert(normalise(name));
  for (const auto& name : names) {
    if (given_.count(normalise(name))) return get_int(name, fallback);
  }
  return fallback;
}

double Args::get_double_any(const std::vector<std::string>& names, double fallback) {
  for (const auto& name : names) known_.insert(normalise(name));
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

void Args::finish() const {
  std::vector<std::string> unknown;
  for (const auto& [name, value] : given_) {
    if (!known_.count(name)) unknown.push_back("--" + name);
  }
  if (unknown.empty()) return;
  std::ostringstream msg;
  msg << "unknown flag" << (unknown.size() > 1 ? "s " : " ");
  for (size_t i = 0; i < unknown.size(); ++i) msg << (i ? ", " : "") << unknown[i];
  msg << " for `uspdit " << command_ << "`; known flags:";
  for (const auto& name : known_) msg << " --" << name;
  throw UsageError(msg.str());
}

}  // namespace uspdit::core
