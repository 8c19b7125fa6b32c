// Writes JSON documents (benchmark reports, `--json` outputs) with correct string escaping and
// commas, so callers describe structure instead of concatenating punctuation.
//
//   JsonWriter w;
//   w.begin_object().key("steps").value(50).key("times").begin_array().value(1.5).end_array().end_object();
//   w.str()  ->  {"steps": 50, "times": [1.5]}
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace uspdit::io {

class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view name);
  JsonWriter& value(std::string_view text);
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(const std::string& text) { return value(std::string_view(text)); }
  JsonWriter& value(double number);  // non-finite numbers become null (JSON has no NaN)
  JsonWriter& value(int64_t number);
  JsonWriter& value(int number) { return value(static_cast<int64_t>(number)); }
  JsonWriter& value(bool flag);
  JsonWriter& null();

  // The document; throws std::logic_error if an object or array is still open.
  const std::string& str() const;

 private:
  void before_value();
  std::string out_;
  // One entry per open container: whether it already holds an item (a comma comes next).
  std::vector<bool> has_items_;
  bool after_key_ = false;
};

std::string json_quote(std::string_view text);

}  // namespace uspdit::io
