#include "io/json_fields.h"

#include "core/error.h"

#include <utility>

namespace uspdit::io {

const Json* JsonFields::find(const char* key) const {
  const Json* v = json_.find(key);
  return v && !v->is_null() ? v : nullptr;
}

void JsonFields::wrong_type(const char* key, const char* expected) const {
  throw UsageError(source_ + ": \"" + key + "\" must be " + expected + ", got " +
                   json_.find(key)->type_name());
}

int64_t JsonFields::integer(const char* key, int64_t fallback) const {
  const Json* v = find(key);
  if (!v) return fallback;
  if (!v->is_int()) wrong_type(key, "an integer");
  return v->as_int();
}

double JsonFields::number(const char* key, double fallback) const {
  const Json* v = find(key);
  if (!v) return fallback;
  if (!v->is_number()) wrong_type(key, "a number");
  return v->as_number();
}

std::string JsonFields::string(const char* key, const std::string& fallback) const {
  const Json* v = find(key);
  if (!v) return fallback;
  if (!v->is_string()) wrong_type(key, "a string");
  return v->as_string();
}

bool JsonFields::boolean(const char* key, bool fallback) const {
  const Json* v = find(key);
  if (!v) return fallback;
  if (!v->is_bool()) wrong_type(key, "a boolean");
  return v->as_bool();
}

std::array<int64_t, 3> JsonFields::triple(const char* key, std::array<int64_t, 3> fallback) const {
  const Json* v = find(key);
  if (!v) return fallback;
  require(v->is_array() && v->size() == 3, source_ + ": \"" + key + "\" must be a list of 3 integers");
  for (size_t i = 0; i < 3; ++i) {
    require(v->item(i).is_int(), source_ + ": \"" + key + "\" must be a list of 3 integers");
    fallback[i] = v->item(i).as_int();
  }
  return fallback;
}

template <typename T, typename Is, typename As>
std::vector<T> JsonFields::list(const char* key, std::vector<T> fallback, const char* what, Is is,
                                As as) const {
  const Json* v = find(key);
  if (!v) return fallback;
  const std::string message = source_ + ": \"" + key + "\" must be a list of " + what;
  require(v->is_array(), message + ", got " + v->type_name());
  std::vector<T> out;
  for (size_t i = 0; i < v->size(); ++i) {
    require(is(v->item(i)), message);
    out.push_back(as(v->item(i)));
  }
  return out;
}

std::vector<int64_t> JsonFields::integers(const char* key, std::vector<int64_t> fallback) const {
  return list<int64_t>(
      key, std::move(fallback), "integers", [](const Json& j) { return j.is_int(); },
      [](const Json& j) { return j.as_int(); });
}

std::vector<double> JsonFields::numbers(const char* key, std::vector<double> fallback) const {
  return list<double>(
      key, std::move(fallback), "numbers", [](const Json& j) { return j.is_number(); },
      [](const Json& j) { return j.as_number(); });
}

std::vector<bool> JsonFields::booleans(const char* key, std::vector<bool> fallback) const {
  return list<bool>(
      key, std::move(fallback), "booleans", [](const Json& j) { return j.is_bool(); },
      [](const Json& j) { return j.as_bool(); });
}

void JsonFields::expect(const char* key, const std::string& wanted, const std::string& why) const {
  if (!has(key)) return;
  const std::string got = string(key, wanted);
  require(got == wanted, source_ + ": \"" + key + "\" is '" + got + "', " + why);
}

void JsonFields::expect_true(const char* key, const std::string& why) const {
  require(boolean(key, true), source_ + ": \"" + key + "\" is false, " + why);
}

}  // namespace uspdit::io
