#include "io/json_fields.h"

#include "core/error.h"

namespace uspdit::io {

const Json* JsonFields::find(const char* key) const {
  const Json* v = json_.find(key);
  return v && !v->is_null() ? v : nullptr;
}

void JsonFields::wrong_type(const char* key, const char* expected) const {
  throw UsageError(source_ + ": \"" + key + "\" must be " + expected + ", got " + json_.find(key)->type_name());
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

void JsonFields::expect(const char* key, const std::string& wanted, const std::string& why) const {
  if (!has(key)) return;
  const std::string got = string(key, wanted);
  require(got == wanted, source_ + ": \"" + key + "\" is '" + got + "', " + why);
}

void JsonFields::expect_true(const char* key, const std::string& why) const {
  require(boolean(key, true), source_ + ": \"" + key + "\" is false, " + why);
}

}  // namespace uspdit::io
