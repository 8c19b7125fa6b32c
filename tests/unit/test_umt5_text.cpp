// Wan's prompt cleaning and the umt5 tokenizer against the Python reference on the committed
// fixtures (tools/make_umt5_fixtures.py): ftfy.fix_text + html.unescape + whitespace collapse,
// and transformers' AutoTokenizer called as Wan calls it.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "io/json.h"
#include "models/umt5/umt5.h"

namespace uspdit::models::umt5 {
namespace {

const std::string kData = std::string(USPDIT_SOURCE_DIR) + "/tests/data/umt5/";

io::Json read_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return io::Json::parse(text.str(), path);
}

TEST(Umt5Text, CleanPromptMatchesFtfyReference) {
  const auto cases = read_json(kData + "clean_cases.json");
  ASSERT_GT(cases.size(), 30u);
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& raw = cases.item(i).find("raw")->as_string();
    EXPECT_EQ(clean_prompt(raw), cases.item(i).find("clean")->as_string()) << "case " << i << ": " << raw;
  }
}

TEST(Umt5Text, Steps) {
  // ftfy turns the fullwidth comma of Chinese prompts into ',' (fix_character_width).
  EXPECT_EQ(clean_prompt("色调艳丽，过曝"), "色调艳丽,过曝");
  EXPECT_EQ(text_detail::nfc("e\xCC\x81"), "\xC3\xA9");                        // e + U+0301 -> é
  EXPECT_EQ(text_detail::nfc("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8"), "각");  // conjoining jamo
  EXPECT_EQ(text_detail::html_unescape("&ampx &amp; &#x41 &notit; &bogus;"), "&x & A ¬it; &bogus;");
  // Not unescaped by ftfy in a line with '<' (nor after it), but html.unescape does it after.
  EXPECT_EQ(text_detail::ftfy_fix_text("a < b &amp; c"), "a < b &amp; c");
  EXPECT_EQ(clean_prompt("a < b &amp; c"), "a < b & c");
  EXPECT_EQ(clean_prompt("bad \xFF utf8"), "bad \xEF\xBF\xBD utf8");
}

TEST(Umt5Tokenizer, IdsMatchTransformers) {
  const auto ref = read_json(kData + "prompts.json");
  const int64_t max_len = ref.find("max_len")->as_int();
  const auto& prompts = *ref.find("prompts");
  const auto tok = Umt5Tokenizer::load(kData + "tokenizer");
  EXPECT_FALSE(tok.byte_fallback());  // transformers' tokenizer.json drops it
  EXPECT_EQ(tok.pad_id(), 0);
  EXPECT_EQ(tok.eos_id(), 1);
  EXPECT_EQ(tok.unk_id(), 2);
  std::vector<std::string> raw;
  for (size_t i = 0; i < prompts.size(); ++i) raw.push_back(prompts.item(i).find("raw")->as_string());
  const auto batch = tok.encode(raw, max_len);
  ASSERT_EQ(batch.ids.sizes(), (at::IntArrayRef{static_cast<int64_t>(raw.size()), max_len}));
  ASSERT_EQ(batch.ids.scalar_type(), at::kLong);
  ASSERT_EQ(batch.mask.scalar_type(), at::kLong);
  bool some_truncated = false, some_unk = false;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const auto& p = prompts.item(i);
    EXPECT_EQ(clean_prompt(raw[i]), p.find("clean")->as_string()) << raw[i];
    const auto& ids = *p.find("ids");
    const auto& mask = *p.find("mask");
    for (int64_t j = 0; j < max_len; ++j) {
      const auto jj = static_cast<size_t>(j);
      EXPECT_EQ(batch.ids[static_cast<int64_t>(i)][j].item<int64_t>(), ids.item(jj).as_int())
          << "prompt " << i << " token " << j << ": " << raw[i];
      EXPECT_EQ(batch.mask[static_cast<int64_t>(i)][j].item<int64_t>(), mask.item(jj).as_int()) << "prompt " << i;
      if (ids.item(jj).as_int() == tok.unk_id()) some_unk = true;
    }
    if (mask.item(static_cast<size_t>(max_len - 1)).as_int() == 1) some_truncated = true;
  }
  EXPECT_TRUE(some_truncated);  // the fixture covers truncation (</s> kept last)
  EXPECT_TRUE(some_unk);        // and characters outside the vocabulary (emoji)
}

TEST(Umt5Tokenizer, IdsMatchTransformersOnEveryCleanCase) {
  // The random strings too: combining marks, jamo, fullwidth forms, controls, emoji, entities.
  const auto cases = read_json(kData + "clean_cases.json");
  const auto tok = Umt5Tokenizer::load(kData + "tokenizer");
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases.item(i);
    auto got = tok.ids(clean_prompt(c.find("raw")->as_string()));
    got.push_back(tok.eos_id());
    const auto& expected = *c.find("ids");
    std::vector<int64_t> want;
    for (size_t j = 0; j < expected.size(); ++j) want.push_back(expected.item(j).as_int());
    EXPECT_EQ(got, want) << "case " << i << ": " << c.find("raw")->as_string();
  }
}

TEST(Umt5Tokenizer, LoadErrors) {
  try {
    Umt5Tokenizer::load("/nonexistent/umt5");
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("spiece.model"), std::string::npos) << e.what();
  }
  try {
    Umt5Tokenizer::load(kData + "prompts.json");
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("sentencepiece"), std::string::npos) << e.what();
  }
  const auto tok = Umt5Tokenizer::load(kData + "tokenizer/spiece.model");
  EXPECT_THROW(tok.encode({"x"}, 0), UsageError);
  const auto one = tok.encode({"a long prompt that does not fit"}, 1);
  EXPECT_EQ(one.ids.item<int64_t>(), 1);  // only </s>
}

}  // namespace
}  // namespace uspdit::models::umt5
