// Typed, optional fields of a JSON object (model config.json files): a missing or null field
// takes the caller's default; a present field of the wrong type is a UsageError naming the
// source file and the field.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "io/json.h"

namespace uspdit::io {

class JsonFields {
 public:
  // Both are referenced, not copied: they must outlive this object.
  JsonFields(const Json& json, const std::string& source) : json_(json), source_(source) {}
  // A temporary would dangle at once (fuzzing found `JsonFields(json, "config.json")` reading a
  // destroyed string): refused at compile time.
  JsonFields(const Json&& json, const std::string& source) = delete;
  JsonFields(const Json& json, std::string&& source) = delete;

  // The field, or nullptr when absent or null.
  const Json* find(const char* key) const;
  bool has(const char* key) const { return find(key) != nullptr; }
  const std::string& source() const { return source_; }

  int64_t integer(const char* key, int64_t fallback) const;
  double number(const char* key, double fallback) const;
  std::string string(const char* key, const std::string& fallback) const;
  bool boolean(const char* key, bool fallback) const;
  std::array<int64_t, 3> triple(const char* key, std::array<int64_t, 3> fallback) const;
  // Arrays of any length whose every item has the one type.
  std::vector<int64_t> integers(const char* key, std::vector<int64_t> fallback) const;
  std::vector<double> numbers(const char* key, std::vector<double> fallback) const;
  std::vector<bool> booleans(const char* key, std::vector<bool> fallback) const;

  // A string field that, when present, must equal `wanted`; `why` completes the message.
  void expect(const char* key, const std::string& wanted, const std::string& why) const;
  // A boolean field that, when present, must be true.
  void expect_true(const char* key, const std::string& why) const;

 private:
  [[noreturn]] void wrong_type(const char* key, const char* expected) const;
  // The array at `key` with each item checked by `is` and read by `as`; `what` names the items.
  template <typename T, typename Is, typename As>
  std::vector<T> list(const char* key, std::vector<T> fallback, const char* what, Is is, As as) const;
  const Json& json_;
  const std::string& source_;
};

}  // namespace uspdit::io
