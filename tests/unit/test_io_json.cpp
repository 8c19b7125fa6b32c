// The strict JSON reader behind safetensors headers, checkpoint indexes and config.json.
#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "io/json.h"

namespace uspdit::io {
namespace {

std::string error_of(const std::string& text) {
  try {
    Json::parse(text, "test.json");
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(IoJson, ParsesEveryKindKeepingKeyOrder) {
  const Json j = Json::parse(
      R"( {"z": 1, "a": [true, false, null], "n": -12.5e1, "big": 4611686018427387904, "s": "x\"\\\/\n\u00e9\ud83d\ude00", "o": {}} )",
      "t");
  ASSERT_TRUE(j.is_object());
  ASSERT_EQ(j.size(), 6u);
  EXPECT_EQ(j.key(0), "z");
  EXPECT_EQ(j.key(1), "a");
  EXPECT_EQ(j.find("z")->as_int(), 1);
  const Json& a = *j.find("a");
  ASSERT_TRUE(a.is_array());
  EXPECT_TRUE(a.item(0).as_bool());
  EXPECT_FALSE(a.item(1).as_bool());
  EXPECT_TRUE(a.item(2).is_null());
  EXPECT_DOUBLE_EQ(j.find("n")->as_number(), -125.0);
  EXPECT_FALSE(j.find("n")->is_int());
  EXPECT_EQ(j.find("big")->as_int(), int64_t{1} << 62);  // exact, not through a double
  EXPECT_EQ(j.find("s")->as_string(), "x\"\\/\n\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_TRUE(j.find("o")->is_object());
  EXPECT_EQ(j.find("missing"), nullptr);
  EXPECT_EQ(Json::parse("[]", "t").size(), 0u);
  EXPECT_EQ(Json::parse("\"\xc3\xa9\"", "t").as_string(), "\xc3\xa9");
}

TEST(IoJson, TypeMismatchIsAUsageError) {
  const Json j = Json::parse(R"({"a": "x"})", "t");
  EXPECT_THROW(j.find("a")->as_int(), UsageError);
  EXPECT_EQ(j.find("a")->type_name(), "a string");
}

TEST(IoJson, RejectsMalformedInputWithItsPosition) {
  EXPECT_EQ(error_of("{\"a\": 1,}"), "test.json: invalid JSON at byte 8: expected a string key");
  EXPECT_NE(error_of("[1, 2").find("expected ',' or ']'"), std::string::npos);
  EXPECT_NE(error_of("01").find("leading zero"), std::string::npos);
  EXPECT_NE(error_of("\"abc").find("unterminated string"), std::string::npos);
  EXPECT_NE(error_of("\"a\tb\"").find("control character"), std::string::npos);
  EXPECT_NE(error_of("\"\\q\"").find("invalid escape"), std::string::npos);
  EXPECT_NE(error_of("\"\\ud800\"").find("unpaired high surrogate"), std::string::npos);
  EXPECT_NE(error_of("\"\\udc00\"").find("unpaired low surrogate"), std::string::npos);
  EXPECT_NE(error_of("\"\xff\"").find("invalid UTF-8"), std::string::npos);
  EXPECT_NE(error_of("\"\xc0\x80\"").find("invalid UTF-8"), std::string::npos);  // overlong
  EXPECT_NE(error_of("{\"a\": 1, \"a\": 2}").find("duplicate key \"a\""), std::string::npos);
  EXPECT_NE(error_of("{} x").find("unexpected data"), std::string::npos);
  EXPECT_NE(error_of("").find("unexpected end"), std::string::npos);
  EXPECT_NE(error_of("tru").find("invalid literal"), std::string::npos);
  EXPECT_NE(error_of("1.").find("digits after"), std::string::npos);
  EXPECT_NE(error_of("1e400").find("out of range"), std::string::npos);
  EXPECT_NE(error_of("-").find("expected a value"), std::string::npos);
}

TEST(IoJson, DeepNestingIsAnErrorNotAStackOverflow) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_NE(error_of(deep).find("nesting deeper than"), std::string::npos);
  const std::string ok = std::string(100, '[') + std::string(100, ']');
  EXPECT_EQ(error_of(ok), "");
}

}  // namespace
}  // namespace uspdit::io
