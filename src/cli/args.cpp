#include "cli/args.h"

#include <cstdlib>

#include <algorithm>
#include <cctype>
#include <sstream>

#include "core/error.h"

namespace uspdit::cli {

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
      given_[normalise(body.substr(0, eq))] = body.substr(eq + 1);
    } else if (i + 1 < tokens.size() && tokens[i + 1].rfind("--", 0) != 0) {
      given_[normalise(body)] = tokens[++i];
    } else {
      given_[normalise(body)] = std::nullopt;
    }
  }
}

bool Args::has(const std::string& name) {
  known_.insert(normalise(name));
  return given_.count(normalise(name)) > 0;
}

bool Args::flag(const std::string& name) {
  if (!has(name)) return false;
  const auto& value = given_.at(normalise(name));
  if (!value) return true;
  // Python scripts' spelling too: Wan's generate.py takes `--offload_model True`.
  std::string v = *value;
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no") return false;
  throw UsageError("--" + name + " takes no value (or true/false), got '" + *value + "'");
}

std::optional<std::string> Args::get(const std::string& name) {
  if (!has(name)) return std::nullopt;
  const auto& value = given_.at(normalise(name));
  require(value.has_value(), "--" + name + " needs a value");
  return value;
}

std::string Args::get_string(const std::string& name, const std::string& fallback) {
  return get(name).value_or(fallback);
}

int64_t Args::get_int(const std::string& name, int64_t fallback) {
  auto value = get(name);
  if (!value) return fallback;
  try {
    size_t used = 0;
    int64_t parsed = std::stoll(*value, &used);
    if (used == value->size()) return parsed;
  } catch (const std::exception&) {
  }
  throw UsageError("--" + name + " needs an integer, got '" + *value + "'");
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

parallel::CommBackend comm_backend(Args& args) {
  const char* from_env = std::getenv("USPDIT_COMM");
  return parallel::parse_comm_backend(args.get_string("comm", from_env && *from_env ? from_env : "auto"));
}

core::DeviceRequest device_request(Args& args) {
  return core::parse_device_request(args.get_string("device", "auto"));
}

}  // namespace uspdit::cli
