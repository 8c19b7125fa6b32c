#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "core/memory.h"
#include "io/json.h"
#include "io/json_writer.h"

namespace uspdit::io {
namespace {

TEST(JsonWriter, NestedDocumentParsesBackWithTheSameValues) {
  JsonWriter w;
  w.begin_object().key("name").value("wan \"t2v\"\n\u4e2d").key("steps").value(50).key("ratio").value(0.25);
  w.key("ok").value(true).key("none").null().key("times").begin_array().value(1.5).value(int64_t{1} << 40);
  w.begin_object().end_object().end_array().key("nan").value(std::nan("")).end_object();
  const auto doc = Json::parse(w.str(), "writer output");
  EXPECT_EQ(doc.find("name")->as_string(), "wan \"t2v\"\n\u4e2d");
  EXPECT_EQ(doc.find("steps")->as_int(), 50);
  EXPECT_DOUBLE_EQ(doc.find("ratio")->as_number(), 0.25);
  EXPECT_TRUE(doc.find("ok")->as_bool());
  EXPECT_TRUE(doc.find("none")->is_null());
  EXPECT_TRUE(doc.find("nan")->is_null());  // JSON has no NaN
  const auto* times = doc.find("times");
  ASSERT_EQ(times->size(), 3u);
  EXPECT_EQ(times->item(1).as_int(), int64_t{1} << 40);
  EXPECT_TRUE(times->item(2).is_object());
}

TEST(JsonWriter, ControlCharactersAreEscaped) {
  EXPECT_EQ(json_quote(std::string("a\x01" "b\tc\\", 6)), "\"a\\u0001b\\tc\\\\\"");
}

TEST(JsonWriter, UnbalancedDocumentsAreProgrammingErrors) {
  JsonWriter open;
  open.begin_object();
  EXPECT_THROW((void)open.str(), std::logic_error);
  JsonWriter key_outside;
  EXPECT_THROW(key_outside.key("x"), std::logic_error);
  JsonWriter two;
  two.value(1);
  EXPECT_THROW(two.value(2), std::logic_error);
}

TEST(Memory, PeakWindowResetsToCurrentUse) {
  // Touch 256 MiB, free it, start a new window: the new peak is far below the old one.
  {
    std::vector<char> big(256u << 20, 1);
    volatile char sink = big[big.size() / 2];
    (void)sink;
  }
  const int64_t old_peak = peak_rss_bytes();
  ASSERT_GT(old_peak, int64_t{256} << 20);
  ASSERT_TRUE(reset_peak_rss()) << "/proc/self/clear_refs not writable";
  EXPECT_LT(peak_rss_bytes(), old_peak - (int64_t{128} << 20));
  EXPECT_GT(current_rss_bytes(), 0);
}

}  // namespace
}  // namespace uspdit::io
