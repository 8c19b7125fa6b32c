// Typed fields of a config.json: a missing or null field takes the default, a present one of the
// wrong type (or an array with one wrong item) is a UsageError naming the file and the field.
#include <gtest/gtest.h>

#include <string>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "io/json.h"
#include "io/json_fields.h"

namespace uspdit::io {
namespace {

const std::string kSource = "vae/config.json";

Json config() {
  return Json::parse(R"({"mults": [1, 2, 4], "means": [0.5, -1, 2e-3], "flags": [true, false],
                         "nothing": null, "mixed": [1, "two"], "scalar": 3})",
                     "test");
}

// Both arguments are kept by reference: temporaries must not compile (a fuzz harness's string
// literal once became a dangling source name, fuzz/fuzz_config_json.cpp).
static_assert(std::is_constructible_v<JsonFields, const Json&, const std::string&>);
static_assert(!std::is_constructible_v<JsonFields, const Json&, std::string>);
static_assert(!std::is_constructible_v<JsonFields, const Json&, const char*>);
static_assert(!std::is_constructible_v<JsonFields, Json, const std::string&>);

TEST(JsonFields, ListsOfOneTypeOrTheDefault) {
  const Json json = config();
  const JsonFields f(json, kSource);
  EXPECT_EQ(f.integers("mults", {}), (std::vector<int64_t>{1, 2, 4}));
  EXPECT_EQ(f.numbers("means", {}), (std::vector<double>{0.5, -1.0, 2e-3}));
  EXPECT_EQ(f.booleans("flags", {}), (std::vector<bool>{true, false}));
  EXPECT_EQ(f.integers("absent", {7}), (std::vector<int64_t>{7}));
  EXPECT_EQ(f.numbers("nothing", {0.25}), (std::vector<double>{0.25}));
}

TEST(JsonFields, AWrongItemOrANonArrayNamesTheFileAndField) {
  const Json json = config();
  const JsonFields f(json, kSource);
  auto message = [&](auto read) -> std::string {
    try {
      read();
    } catch (const UsageError& e) {
      return e.what();
    }
    return "(no error)";
  };
  EXPECT_EQ(message([&] { f.integers("mixed", {}); }), kSource + ": \"mixed\" must be a list of integers");
  EXPECT_EQ(message([&] { f.integers("means", {}); }), kSource + ": \"means\" must be a list of integers");
  EXPECT_EQ(message([&] { f.booleans("scalar", {}); }),
            kSource + ": \"scalar\" must be a list of booleans, got " + json.find("scalar")->type_name());
}

}  // namespace
}  // namespace uspdit::io
